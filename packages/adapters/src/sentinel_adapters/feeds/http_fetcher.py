"""HttpFeedFetcher: the FeedFetcher port over HTTP(S) with httpx, behind the SSRF guard.

- http and https only; the host is resolved here and *every* address it resolves to must pass
  the guard (``sentinel_infrastructure.net.ssrf``: no loopback, private, link-local, metadata …
  unless inside ``allow_networks``), then the connection goes to a checked address. The check
  sits in the connection layer, so a redirect target is checked the same way.
- Redirects: at most ``MAX_REDIRECTS`` (3), each to http/https; the auth header goes only to the
  feed's own origin (scheme, host and port), never to a host it redirects to.
- Timeouts: ``CONNECT_TIMEOUT`` 10 s to connect, ``READ_TIMEOUT`` 30 s between two reads, and
  ``TOTAL_TIMEOUT`` 300 s for a whole fetch (a source dripping bytes cannot hold a refresh).
- Size: the body is counted while it streams, *after* content decoding (a gzip bomb is cut off
  like a plain one); past ``request.max_bytes`` the fetch fails.
- Conditional GET: ``If-None-Match`` / ``If-Modified-Since`` from the request's validators; a
  304 is "not modified".
"""

import socket
import ssl
import time
import typing
from collections.abc import Iterator, Sequence

import httpcore
import httpx

from sentinel_domain.common import IpAddress, IpNetwork
from sentinel_infrastructure.net.ssrf import AddressPolicy, ForbiddenDestinationError, resolved_addresses
from sentinel_ports.feed_fetcher import FeedDocument, FeedFetcher, FeedFetchError, FeedRequest

MAX_REDIRECTS = 3
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
TOTAL_TIMEOUT = 300.0
USER_AGENT = "ebpfsentinel-feed-fetcher"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

__all__ = ["MAX_REDIRECTS", "GuardedSyncBackend", "HttpFeedFetcher"]


class GuardedSyncBackend(httpcore.NetworkBackend):
    """Resolves the host itself, refuses if *any* address is forbidden, connects to a checked one."""

    def __init__(self, policy: AddressPolicy, inner: httpcore.NetworkBackend | None = None) -> None:
        self.policy = policy
        self._inner = inner or httpcore.SyncBackend()

    @staticmethod
    def resolve(host: str, port: int) -> list[IpAddress]:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return resolved_addresses(infos)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self.resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        for address in addresses:
            self.policy.check(host, address)
        error: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            try:
                return self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                error = exc
        raise error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise ForbiddenDestinationError("unix sockets are not feed sources")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _CoreStream(httpx.SyncByteStream):
    """An httpcore response body as an httpx stream, with httpcore errors mapped to httpx's."""

    def __init__(self, response: httpcore.Response) -> None:
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        with _mapped():
            yield from typing.cast(typing.Iterable[bytes], self._response.stream)

    def close(self) -> None:
        self._response.close()


class _mapped:  # noqa: N801 - used as a context manager, like a function
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc is None or isinstance(exc, ForbiddenDestinationError):
            return
        if isinstance(exc, httpcore.TimeoutException):
            raise httpx.TimeoutException(str(exc) or "timed out") from exc
        if isinstance(exc, httpcore.ConnectError):
            raise httpx.ConnectError(str(exc) or "connection failed") from exc
        if isinstance(exc, httpcore.LocalProtocolError):
            raise httpx.LocalProtocolError(str(exc)) from exc
        if isinstance(exc, httpcore.NetworkError | httpcore.ProtocolError | httpcore.UnsupportedProtocol):
            raise httpx.TransportError(str(exc) or type(exc).__name__) from exc


class _GuardedTransport(httpx.BaseTransport):
    """An httpx transport over an httpcore pool whose connections go through the guard."""

    def __init__(self, policy: AddressPolicy, ssl_context: ssl.SSLContext | None = None) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context or ssl.create_default_context(),
            max_connections=8,
            keepalive_expiry=30.0,
            retries=0,
            network_backend=GuardedSyncBackend(policy),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=typing.cast(typing.Iterable[bytes], request.stream),
            extensions=request.extensions,
        )
        with _mapped():
            response = self._pool.handle_request(core_request)
        return httpx.Response(
            response.status,
            headers=response.headers,
            stream=_CoreStream(response),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _auth(header: str | None) -> dict[str, str]:
    if not header:
        return {}
    name, _, value = header.partition(":")
    return {name.strip(): value.strip()}


class HttpFeedFetcher(FeedFetcher):
    """Fetches feeds over HTTP(S); ``allow_networks`` lets the guard reach internal sources."""

    def __init__(
        self,
        allow_networks: Sequence[IpNetwork] = (),
        ssl_context: ssl.SSLContext | None = None,
        total_timeout: float = TOTAL_TIMEOUT,
    ) -> None:
        self.policy = AddressPolicy(allow_networks, what="feed")
        self.total_timeout = total_timeout
        self._client = httpx.Client(
            transport=_GuardedTransport(self.policy, ssl_context),
            timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
        )

    def set_allow_networks(self, allow_networks: Sequence[IpNetwork]) -> None:
        """Replace the guard's allow-list (a config reload); the next connection uses it."""
        self.policy.allow_networks = tuple(allow_networks)

    def fetch(self, request: FeedRequest) -> FeedDocument:
        deadline = time.monotonic() + self.total_timeout
        try:
            url = httpx.URL(request.url)
        except httpx.InvalidURL as exc:
            raise FeedFetchError(f"invalid feed URL: {exc}") from None
        origin = _origin(url)
        for _hop in range(MAX_REDIRECTS + 1):
            if url.scheme not in ("http", "https"):
                raise FeedFetchError(f"{url.scheme}: URLs are not feed sources (http and https only)")
            headers = _auth(request.auth_header) if _origin(url) == origin else {}
            if request.etag:
                headers["If-None-Match"] = request.etag
            if request.last_modified:
                headers["If-Modified-Since"] = request.last_modified
            try:
                result = self._get(url, headers, request, deadline)
            except ForbiddenDestinationError as exc:
                raise FeedFetchError(str(exc)) from None
            except (TimeoutError, httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
                raise FeedFetchError(f"{_safe(url)}: {type(exc).__name__}: {exc}") from None
            if isinstance(result, FeedDocument):
                return result
            url = result
        raise FeedFetchError(f"{_safe(httpx.URL(request.url))}: more than {MAX_REDIRECTS} redirects")

    def _get(
        self, url: httpx.URL, headers: dict[str, str], request: FeedRequest, deadline: float
    ) -> FeedDocument | httpx.URL:
        """The document, or the URL a redirect points to."""
        with self._client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status in _REDIRECTS and "location" in response.headers:
                return url.join(response.headers["location"])
            etag = response.headers.get("etag") or None
            modified = response.headers.get("last-modified") or None
            if status == 304:
                return FeedDocument(None, etag or request.etag, modified or request.last_modified)
            if not 200 <= status < 300:
                raise FeedFetchError(f"{_safe(url)} answered HTTP {status}")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > request.max_bytes:
                    raise FeedFetchError(f"{_safe(url)}: document larger than {request.max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise FeedFetchError(f"{_safe(url)}: not received within {self.total_timeout:.0f} s")
                chunks.append(chunk)
            return FeedDocument(b"".join(chunks), etag, modified)

    def close(self) -> None:
        self._client.close()


def _safe(url: httpx.URL) -> str:
    """The URL without credentials or query (a query may carry an API key)."""
    return str(url.copy_with(userinfo=b"", query=None, fragment=None))
