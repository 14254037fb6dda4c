"""HttpFeedFetcher beyond the port contract: the SSRF guard, redirects, content decoding and the cap,
against real HTTP servers on loopback addresses."""

import gzip
import ipaddress
from collections.abc import Iterator

import pytest

from integration.fixtures.feed_server import FeedServer
from sentinel_adapters.feeds import HttpFeedFetcher
from sentinel_adapters.feeds.http_fetcher import MAX_REDIRECTS
from sentinel_ports.feed_fetcher import FeedFetchError, FeedRequest

N = ipaddress.ip_network


@pytest.fixture
def server() -> Iterator[FeedServer]:
    s = FeedServer("127.0.0.1")
    yield s
    s.close()


@pytest.fixture
def other() -> Iterator[FeedServer]:
    s = FeedServer("127.0.0.2")  # another loopback address: another origin, another guard decision
    yield s
    s.close()


def fetch(allow: list[str], request: FeedRequest) -> bytes | None:
    fetcher = HttpFeedFetcher([N(a) for a in allow])
    try:
        return fetcher.fetch(request).body
    finally:
        fetcher.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/f.txt",
        "http://localhost:{port}/f.txt",
        "http://[::ffff:127.0.0.1]:{port}/f.txt",
    ],
    ids=["literal", "name", "v4-mapped"],
)
def test_loopback_is_refused_unless_allowed(server: FeedServer, url: str) -> None:
    server.serve("/f.txt", b"203.0.113.7\n")
    with pytest.raises(FeedFetchError, match="loopback"):
        fetch([], FeedRequest(url.format(port=server.port)))
    assert server.requests == []  # refused before any connection


@pytest.mark.parametrize(
    "host", ["169.254.169.254", "10.1.2.3", "192.168.0.1", "100.64.0.1", "0.0.0.0"], ids=str
)
def test_internal_and_metadata_addresses_are_refused(host: str) -> None:
    with pytest.raises(FeedFetchError, match="feed host"):
        fetch([], FeedRequest(f"http://{host}:9/f.txt"))


def test_only_http_and_https(server: FeedServer) -> None:
    with pytest.raises(FeedFetchError, match="http and https only"):
        fetch(["127.0.0.0/8"], FeedRequest("ftp://127.0.0.1/f.txt"))
    with pytest.raises(FeedFetchError):
        fetch(["127.0.0.0/8"], FeedRequest("file:///etc/passwd"))


def test_a_redirect_is_followed_and_its_target_checked_again(server: FeedServer, other: FeedServer) -> None:
    target = other.serve("/real.txt", b"203.0.113.7\n")
    server.redirect("/moved.txt", target)
    assert fetch(["127.0.0.0/8"], FeedRequest(server.url("/moved.txt"))) == b"203.0.113.7\n"
    with pytest.raises(FeedFetchError, match=r"127\.0\.0\.2"):  # the first hop is allowed, the second not
        fetch(["127.0.0.1/32"], FeedRequest(server.url("/moved.txt")))


def test_the_auth_header_never_follows_a_redirect_to_another_origin(
    server: FeedServer, other: FeedServer
) -> None:
    target = other.serve("/real.txt", b"203.0.113.7\n")
    server.redirect("/moved.txt", target)
    server.redirect("/local.txt", "/same-origin.txt")
    server.serve("/same-origin.txt", b"198.51.100.1\n")
    request = FeedRequest(server.url("/moved.txt"), auth_header="X-Api-Key: k3y")
    assert fetch(["127.0.0.0/8"], request) == b"203.0.113.7\n"
    assert server.requests[-1][1].get("x-api-key") == "k3y"
    assert "x-api-key" not in other.last_headers()
    fetch(["127.0.0.0/8"], FeedRequest(server.url("/local.txt"), auth_header="X-Api-Key: k3y"))
    assert server.last_headers().get("x-api-key") == "k3y"  # same origin: still sent


def test_redirects_are_bounded_and_must_stay_on_http(server: FeedServer) -> None:
    for i in range(MAX_REDIRECTS + 1):
        server.redirect(f"/hop{i}", f"/hop{i + 1}")
    server.serve(f"/hop{MAX_REDIRECTS}", b"203.0.113.7\n")
    assert fetch(["127.0.0.0/8"], FeedRequest(server.url("/hop0"))) == b"203.0.113.7\n"
    server.redirect(f"/hop{MAX_REDIRECTS}", f"/hop{MAX_REDIRECTS + 1}")
    with pytest.raises(FeedFetchError, match="redirects"):
        fetch(["127.0.0.0/8"], FeedRequest(server.url("/hop0")))
    server.redirect("/to-file", "file:///etc/passwd")
    with pytest.raises(FeedFetchError, match="http and https only"):
        fetch(["127.0.0.0/8"], FeedRequest(server.url("/to-file")))


def test_the_cap_counts_decoded_bytes(server: FeedServer) -> None:
    plain = b"203.0.113.7\n" * 100_000  # 1.2 MB that gzip shrinks to a few KB
    packed = gzip.compress(plain)
    assert len(packed) < 20_000
    server.serve("/bomb.txt", packed, **{"Content-Encoding": "gzip"})
    with pytest.raises(FeedFetchError, match="larger than"):
        fetch(["127.0.0.0/8"], FeedRequest(server.url("/bomb.txt"), max_bytes=100_000))
    assert fetch(["127.0.0.0/8"], FeedRequest(server.url("/bomb.txt"))) == plain


def test_errors_name_the_url_without_its_query(server: FeedServer) -> None:
    server.serve("/gone.txt", b"", status=410)
    url = server.url("/gone.txt") + "?api_key=sekrit"
    with pytest.raises(FeedFetchError) as failure:
        fetch(["127.0.0.0/8"], FeedRequest(url))
    assert "410" in str(failure.value) and "sekrit" not in str(failure.value)
