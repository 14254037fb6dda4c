"""A FeedFetcher serving scripted documents from memory (for service tests; never for production)."""

import threading
from dataclasses import dataclass

from sentinel_ports.feed_fetcher import FeedDocument, FeedFetcher, FeedFetchError, FeedRequest


@dataclass(slots=True)
class ScriptedFeed:
    """What one URL answers: ``body`` with ``status`` (non-2xx: an error); ``etag`` enables
    conditional requests (a request carrying the same ETag gets "not modified")."""

    body: bytes = b""
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None


class ScriptedFeedFetcher(FeedFetcher):
    """URL → :class:`ScriptedFeed`; an unknown URL fails like an unreachable host.

    ``requests`` records every request in order (thread-safe)."""

    def __init__(self) -> None:
        self.feeds: dict[str, ScriptedFeed] = {}
        self.requests: list[FeedRequest] = []
        self.closed = False
        self._lock = threading.Lock()

    def serve(self, url: str, body: bytes, status: int = 200, etag: str | None = None) -> None:
        with self._lock:
            self.feeds[url] = ScriptedFeed(body, status, etag)

    def fetch(self, request: FeedRequest) -> FeedDocument:
        with self._lock:
            self.requests.append(request)
            feed = self.feeds.get(request.url)
        if feed is None:
            raise FeedFetchError(f"cannot connect to {request.url}")
        if not 200 <= feed.status < 300:
            raise FeedFetchError(f"{request.url} answered HTTP {feed.status}")
        if feed.etag is not None and request.etag == feed.etag:
            return FeedDocument(None, feed.etag, feed.last_modified)
        if len(feed.body) > request.max_bytes:
            raise FeedFetchError(f"{request.url}: document larger than {request.max_bytes} bytes")
        return FeedDocument(feed.body, feed.etag, feed.last_modified)

    def close(self) -> None:
        self.closed = True
