"""FeedFetcher contract, run against the HTTP fetcher with a real HTTP server on loopback (allowed
through the SSRF guard by ``allow_networks``) and against the scripted fake."""

import ipaddress
from collections.abc import Iterator

import pytest

from integration.fixtures.feed_server import FeedServer
from sentinel_adapters.feeds import HttpFeedFetcher
from sentinel_testkit.contracts.feed_fetcher import FeedFetcherContract
from sentinel_testkit.fakes.feed_fetcher import ScriptedFeedFetcher

LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]


class ScriptedHarness:
    def __init__(self) -> None:
        self.fetcher = ScriptedFeedFetcher()

    def serve(self, path: str, body: bytes, status: int = 200, etag: str | None = None) -> str:
        url = f"http://feeds.test{path}"
        self.fetcher.serve(url, body, status, etag)
        return url

    def missing_url(self) -> str:
        return "http://nowhere.test/feed.txt"

    def last_header(self, name: str) -> str | None:
        header = self.fetcher.requests[-1].auth_header
        if header is None:
            return None
        key, _, value = header.partition(":")
        return value.strip() if key.strip().lower() == name.lower() else None


class HttpHarness:
    def __init__(self, server: FeedServer) -> None:
        self.server = server
        self.fetcher = HttpFeedFetcher(LOOPBACK)

    def serve(self, path: str, body: bytes, status: int = 200, etag: str | None = None) -> str:
        return self.server.serve(path, body, status, etag)

    def missing_url(self) -> str:
        closed = FeedServer()
        url = closed.url("/feed.txt")
        closed.close()  # the port is free again: nothing answers there
        return url

    def last_header(self, name: str) -> str | None:
        return self.server.last_headers().get(name.lower())


class TestScriptedFeedFetcher(FeedFetcherContract):
    @pytest.fixture
    def harness(self) -> Iterator[ScriptedHarness]:
        yield ScriptedHarness()


class TestHttpFeedFetcher(FeedFetcherContract):
    @pytest.fixture
    def harness(self) -> Iterator[HttpHarness]:
        server = FeedServer()
        harness = HttpHarness(server)
        try:
            yield harness
        finally:
            harness.fetcher.close()
            server.close()
