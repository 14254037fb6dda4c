"""DlpProbe: where TLS plaintext is observed for DLP (uprobes on OpenSSL), and what it yields."""

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass


class DlpDirection(enum.IntEnum):
    """Which way the plaintext went: written to a TLS connection, or read from one."""

    WRITE = 0
    READ = 1


@dataclass(frozen=True, slots=True)
class DlpCapture:
    """One ``SSL_write``/``SSL_read`` buffer of one thread, ready for ``DlpEngine.scan``.

    ``data`` holds the first bytes of the buffer; ``original_length`` is what the call wrote or
    read (more than ``len(data)`` when the capture was cut: scan with ``gap_after=truncated``).
    ``timestamp_ns`` is Unix epoch nanoseconds.
    """

    pid: int  # thread id
    tgid: int  # process id
    comm: str
    direction: DlpDirection
    data: bytes
    original_length: int
    timestamp_ns: int
    uid: int = 0
    cgroup_id: int = 0

    @property
    def truncated(self) -> bool:
        return len(self.data) < self.original_length

    @property
    def stream_key(self) -> tuple[int, DlpDirection]:
        """Successive chunks of one process and direction: the key for a ``DlpScanState``."""
        return (self.tgid, self.direction)


class DlpProbe(ABC):
    """The capture side of DLP: probes attached to the TLS library, and their settings."""

    @property
    @abstractmethod
    def max_capture_bytes(self) -> int:
        """The most plaintext bytes one capture can carry."""

    @property
    @abstractmethod
    def capture_bytes(self) -> int:
        """Bytes captured per call now."""

    @abstractmethod
    def configure(self, capture_bytes: int) -> None:
        """Capture at most ``capture_bytes`` (1..max_capture_bytes) per call; ValueError otherwise."""

    @property
    @abstractmethod
    def attached(self) -> bool:
        """Whether the probes observe TLS traffic now."""

    @abstractmethod
    def attach(self) -> None:
        """Start observing every process using the TLS library (idempotent)."""

    @abstractmethod
    def detach(self) -> None:
        """Stop observing (idempotent)."""

    @abstractmethod
    def counters(self) -> dict[str, int]:
        """Totals since load: at least ``seen``, ``events_emitted`` and ``events_dropped``."""
