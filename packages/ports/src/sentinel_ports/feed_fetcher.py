"""FeedFetcher: gets one threat-intel feed document from where it is published (HTTP, or a fake).

A fetch either returns the document (or "not modified", when the request carried validators the
source honours) or raises :class:`FeedFetchError` with a reason that never contains the
request's credentials. Whatever the source sends, a fetch never returns more than
``request.max_bytes`` bytes: a larger document is an error, not a truncated feed.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

DEFAULT_MAX_FEED_BYTES = 100 * 1024 * 1024  # contract §7.6: body ≤ 100 MiB


class FeedFetchError(Exception):
    """The document could not be fetched (unreachable, refused destination, HTTP error, too big)."""


@dataclass(frozen=True, slots=True)
class FeedRequest:
    """What to fetch. ``auth_header`` is one ``Name: value`` line sent with the request;
    ``etag`` / ``last_modified`` are the validators of the copy already held (conditional GET)."""

    url: str
    auth_header: str | None = field(default=None, repr=False)
    etag: str | None = None
    last_modified: str | None = None
    max_bytes: int = DEFAULT_MAX_FEED_BYTES


@dataclass(frozen=True, slots=True)
class FeedDocument:
    """A fetched document. ``body`` None means not modified since the request's validators;
    ``etag`` / ``last_modified`` are the validators to send next time (None: the source gave none)."""

    body: bytes | None
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.body is None


class FeedFetcher(ABC):
    @abstractmethod
    def fetch(self, request: FeedRequest) -> FeedDocument:
        """Fetch ``request.url``; raises FeedFetchError on any failure. Safe to call from several
        threads at once."""

    @abstractmethod
    def close(self) -> None:
        """Release connections; the fetcher is not used afterwards."""
