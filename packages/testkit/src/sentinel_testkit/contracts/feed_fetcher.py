"""What every FeedFetcher must do, checked through the port against a real source.

Each implementation provides a ``harness`` fixture: an object with ``fetcher`` (the subject),
``serve(path, body, status=200, etag=None) -> url`` (publish a document, or an error status, at
``path``), ``missing_url()`` (a URL where nothing answers) and ``last_header(name)`` (that header
of the last request the source received, None if absent).
"""

from collections.abc import Iterator
from typing import Protocol

import pytest

from sentinel_ports.feed_fetcher import FeedFetcher, FeedFetchError, FeedRequest

SECRET = "s3cr3t-token-value"


class FetchHarness(Protocol):
    fetcher: FeedFetcher

    def serve(self, path: str, body: bytes, status: int = 200, etag: str | None = None) -> str: ...
    def missing_url(self) -> str: ...
    def last_header(self, name: str) -> str | None: ...


class FeedFetcherContract:
    @pytest.fixture
    def harness(self) -> Iterator[FetchHarness]:
        raise NotImplementedError

    def test_returns_the_document_byte_for_byte(self, harness: FetchHarness) -> None:
        body = bytes(range(256)) * 4096 + b"203.0.113.7\n"  # 1 MiB of every byte value, then a line
        url = harness.serve("/feed.bin", body)
        document = harness.fetcher.fetch(FeedRequest(url))
        assert document.body == body
        assert not document.not_modified

    def test_an_empty_document_is_a_document(self, harness: FetchHarness) -> None:
        url = harness.serve("/empty.txt", b"")
        assert harness.fetcher.fetch(FeedRequest(url)).body == b""

    @pytest.mark.parametrize("status", [404, 500, 503])
    def test_an_error_status_is_an_error(self, harness: FetchHarness, status: int) -> None:
        url = harness.serve("/broken.txt", b"203.0.113.7\n", status=status)
        with pytest.raises(FeedFetchError, match=str(status)):
            harness.fetcher.fetch(FeedRequest(url))

    def test_an_unreachable_source_is_an_error(self, harness: FetchHarness) -> None:
        with pytest.raises(FeedFetchError):
            harness.fetcher.fetch(FeedRequest(harness.missing_url()))

    def test_the_auth_header_reaches_the_source_and_no_error_repeats_it(self, harness: FetchHarness) -> None:
        url = harness.serve("/private.txt", b"203.0.113.7\n")
        harness.fetcher.fetch(FeedRequest(url, auth_header=f"X-Api-Key: {SECRET}"))
        assert harness.last_header("X-Api-Key") == SECRET
        broken = harness.serve("/private-broken.txt", b"", status=500)
        with pytest.raises(FeedFetchError) as failure:
            harness.fetcher.fetch(FeedRequest(broken, auth_header=f"Authorization: Bearer {SECRET}"))
        assert SECRET not in str(failure.value)
        assert SECRET not in repr(FeedRequest(broken, auth_header=f"Authorization: Bearer {SECRET}"))

    def test_no_auth_header_is_sent_unless_configured(self, harness: FetchHarness) -> None:
        url = harness.serve("/public.txt", b"203.0.113.7\n")
        harness.fetcher.fetch(FeedRequest(url))
        assert harness.last_header("Authorization") is None

    def test_a_document_above_the_cap_is_refused_not_truncated(self, harness: FetchHarness) -> None:
        url = harness.serve("/big.txt", b"203.0.113.7\n" * 10_000)
        with pytest.raises(FeedFetchError, match="larger than"):
            harness.fetcher.fetch(FeedRequest(url, max_bytes=50_000))
        assert harness.fetcher.fetch(FeedRequest(url, max_bytes=120_000)).body == b"203.0.113.7\n" * 10_000

    def test_conditional_requests_skip_an_unchanged_document(self, harness: FetchHarness) -> None:
        url = harness.serve("/etag.txt", b"203.0.113.7\n", etag='"v1"')
        first = harness.fetcher.fetch(FeedRequest(url))
        assert first.body == b"203.0.113.7\n" and first.etag == '"v1"'
        again = harness.fetcher.fetch(FeedRequest(url, etag=first.etag))
        assert again.not_modified
        harness.serve("/etag.txt", b"198.51.100.9\n", etag='"v2"')
        changed = harness.fetcher.fetch(FeedRequest(url, etag=first.etag))
        assert changed.body == b"198.51.100.9\n" and changed.etag == '"v2"'
