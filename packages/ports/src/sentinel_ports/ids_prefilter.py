"""IdsPrefilter: which packets the datapath hands the IDS engine, and how much of each payload."""

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sentinel_domain.common import PacketHeader
from sentinel_domain.ids import PrefilterKey


@dataclass(frozen=True, slots=True)
class PrefilterOverride:
    """Per-key settings; None keeps the global value set by :meth:`IdsPrefilter.configure`."""

    sample_every: int | None = None
    capture_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class CapturedPayload:
    """What the datapath hands the engine for one packet: the first bytes of its payload."""

    payload: bytes
    original_length: int

    @property
    def truncated(self) -> bool:
        return len(self.payload) < self.original_length


class IdsPrefilter(ABC):
    """Holds the engine's prefilter keys (``IdsEngine.prefilter_keys()``) and capture settings.

    A packet is inspected when its protocol has a key whose port is its source port, its
    destination port, or ``None`` (every port; ICMP keys use port 0, which also means every
    packet of the protocol). ``Protocol.ANY`` stands for TCP, UDP, ICMP and ICMPv6.
    """

    @property
    @abstractmethod
    def max_capture_bytes(self) -> int:
        """The most payload bytes one event can carry."""

    @abstractmethod
    def install(
        self, keys: Iterable[PrefilterKey], overrides: Mapping[PrefilterKey, PrefilterOverride] | None = None
    ) -> None:
        """Replace the whole key set; raise ValueError (keeping the old set) for an invalid one."""

    @abstractmethod
    def keys(self) -> frozenset[PrefilterKey]:
        """The installed keys, as given to :meth:`install`."""

    @abstractmethod
    def configure(self, capture_bytes: int, sample_every: int = 1, include_empty: bool = False) -> None:
        """Capture ``capture_bytes`` (1..max_capture_bytes) per packet, keep the flows whose hash is
        a multiple of ``sample_every`` (1: all), and hand over payload-less packets only when
        ``include_empty``; raise ValueError for values out of range."""

    @abstractmethod
    def inspect(self, packet: PacketHeader, payload: bytes = b"") -> CapturedPayload | None:
        """What the engine would receive for ``packet`` arriving with ``payload``; None when no
        key names it, its flow is sampled out, or it is empty and empty packets are not wanted.
        Sampling is deterministic per flow and the same in both directions."""

    @abstractmethod
    def counters(self) -> dict[str, int]:
        """Totals since load: at least ``seen``, ``matched``, ``not_matched``, ``sampled_out``,
        ``empty`` and ``inspected`` (matched = sampled_out + empty + inspected)."""
