"""EventSource: a datapath stream of decisions (a kernel ring, or a script), one event type each."""

from abc import ABC, abstractmethod
from typing import Generic, TypeVar

EventT = TypeVar("EventT")


class EventSource(ABC, Generic[EventT]):
    @abstractmethod
    def read(self, timeout: float) -> list[EventT]:
        """The next batch, possibly empty after ``timeout`` seconds.

        Malformed records are counted (see :meth:`stats`), never raised.
        """

    @abstractmethod
    def stats(self) -> dict[str, int]:
        """Records consumed, and records skipped by reason (``wrong_size``, ``unknown_type`` …)."""

    @abstractmethod
    def close(self) -> None:
        """Release the source; further reads return nothing."""
