"""AlertSpool: alerts accepted for a destination, kept until delivered, expired or evicted."""

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sentinel_domain.alert import Alert


@dataclass(frozen=True, slots=True)
class SpooledAlert:
    seq: int  # increases with every accepted alert, across destinations and restarts
    enqueued_ns: int  # Unix epoch ns when the spool accepted it
    alert: Alert


class AlertSpool(ABC):
    @abstractmethod
    def put(self, destination: str, alerts: Sequence[Alert], enqueued_ns: int) -> int:
        """Keep ``alerts`` for ``destination`` (all or none); returns how many of that destination's
        oldest entries were dropped to stay within the bound (the new ones count as oldest last)."""

    @abstractmethod
    def peek(self, destination: str, limit: int) -> list[SpooledAlert]:
        """Up to ``limit`` entries of ``destination``, oldest first, without removing them."""

    @abstractmethod
    def remove(self, destination: str, seqs: Collection[int]) -> int:
        """Forget the given entries of ``destination``; returns how many existed."""

    @abstractmethod
    def expire(self, destination: str, older_than_ns: int) -> int:
        """Drop ``destination``'s oldest entries, in order, while they were accepted before
        ``older_than_ns`` (stopping at the first younger one); returns how many were dropped."""

    @abstractmethod
    def depth(self, destination: str) -> int:
        """How many entries ``destination`` has waiting."""

    @abstractmethod
    def destinations(self) -> list[str]:
        """Every destination with at least one entry waiting, sorted."""

    @abstractmethod
    def close(self) -> None:
        """Flush and release the storage; idempotent."""
