"""SSRF guard for outgoing webhooks: resolve, check every address, connect to a checked address.

The check happens where the connection is made (an httpcore network backend), so neither DNS
rebinding nor a redirect (never followed anyway) can reach an address the name did not resolve to
at check time. What is refused is the shared policy of ``sentinel_infrastructure.net.ssrf``
(loopback, private, link-local, CGNAT, multicast, reserved, cloud metadata …); an operator who
needs an internal receiver lists its networks in ``allow_networks``.
"""

import asyncio
import socket
import ssl
import typing

import httpcore
import httpx

from sentinel_domain.common import IpAddress
from sentinel_infrastructure.net.ssrf import (
    AddressPolicy,
    ForbiddenDestinationError,
    parse_networks,
    resolved_addresses,
)

__all__ = [
    "MAX_RESPONSE_BYTES",
    "AddressPolicy",
    "ForbiddenDestinationError",
    "GuardedNetworkBackend",
    "GuardedTransport",
    "parse_networks",
]

MAX_RESPONSE_BYTES = 64 * 1024


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host itself, refuses if *any* address is forbidden, connects to the checked one."""

    def __init__(self, policy: AddressPolicy, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.policy = policy
        self._inner = inner or httpcore.AnyIOBackend()

    async def resolve(self, host: str, port: int) -> list[IpAddress]:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return resolved_addresses(infos)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await asyncio.wait_for(self.resolve(host, port), timeout)
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        for address in addresses:
            self.policy.check(host, address)
        error: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                error = exc
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise ForbiddenDestinationError("unix sockets are not webhook destinations")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport over a guarded httpcore pool; reads at most ``MAX_RESPONSE_BYTES``."""

    def __init__(self, policy: AddressPolicy, ssl_context: ssl.SSLContext | None = None) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or ssl.create_default_context(),
            max_connections=4,
            keepalive_expiry=30.0,
            retries=0,
            # Headers and body leave in separate writes: without NODELAY, Nagle holds the body.
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            network_backend=GuardedNetworkBackend(policy),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = await self._pool.handle_async_request(core_request)
            body = b""
            try:
                async for chunk in typing.cast(typing.AsyncIterable[bytes], response.stream):
                    body += chunk[: MAX_RESPONSE_BYTES - len(body)]
                    if len(body) >= MAX_RESPONSE_BYTES:
                        break  # a hostile receiver cannot make us buffer without bound
            finally:
                await response.aclose()
        except httpcore.TimeoutException as exc:
            raise httpx.TimeoutException(str(exc) or "timed out", request=request) from exc
        except httpcore.ConnectError as exc:
            raise httpx.ConnectError(str(exc) or "connection failed", request=request) from exc
        except httpcore.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc), request=request) from exc
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
            raise httpx.TransportError(str(exc) or type(exc).__name__, request=request) from exc
        return httpx.Response(response.status, headers=response.headers, content=body, request=request)

    async def aclose(self) -> None:
        await self._pool.aclose()
