"""FirewallEventSource: the datapath's stream of firewall decisions (a kernel ring, or a script)."""

from abc import ABC, abstractmethod

from sentinel_domain.firewall import FirewallEvent


class FirewallEventSource(ABC):
    @abstractmethod
    def read(self, timeout: float) -> list[FirewallEvent]:
        """The next batch, possibly empty after ``timeout`` seconds.

        Malformed records are counted (see :meth:`stats`), never raised.
        """

    @abstractmethod
    def stats(self) -> dict[str, int]:
        """Records consumed and records skipped by reason (``wrong_size``, ``unknown_type`` …)."""

    @abstractmethod
    def close(self) -> None:
        """Release the source; further reads return nothing."""
