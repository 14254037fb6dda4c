"""The gRPC listener (contract §3): ``ebpfsentinel.v1.AlertStreamService`` plus the standard
``grpc.health.v1.Health`` (never authenticated) and, when ``agent.grpc_reflection`` is on, server
reflection.

A ``grpc.aio`` server on the agent's event loop, beside hypercorn. Each ``StreamAlerts`` call owns
a bounded subscription to the live AlertBroadcast (subscribed when the call starts: no replay);
detection threads wake the call through ``loop.call_soon_threadsafe`` and never wait for it, and a
client that reads too slowly loses its oldest waiting alerts. Initial metadata is sent as soon as
the subscription exists, so a client knows from then on it sees every later alert.

On shutdown every stream is ended (status OK) and the server stops within ``grace`` seconds.
"""

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from sentinel_agent.grpc_api._generated import alerts_pb2, alerts_pb2_grpc
from sentinel_agent.grpc_api.auth import CredentialsError, credentials_from_metadata
from sentinel_agent.grpc_api.convert import to_alert_event
from sentinel_agent.grpc_api.filters import AlertFilter
from sentinel_application.alert_broadcast import DEFAULT_QUEUE, AlertBroadcast
from sentinel_infrastructure.config.agent_checks import tls_path
from sentinel_infrastructure.config.model import AgentSection, TlsSection
from sentinel_ports.authenticator import AuthenticationError, Authenticator

log = structlog.get_logger("ebpfsentinel.grpc")

SERVICE_NAME: str = alerts_pb2.DESCRIPTOR.services_by_name["AlertStreamService"].full_name
HEALTH_NAME: str = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
BATCH = 256
MAX_STREAMS = 128  # concurrent StreamAlerts calls; more are refused with RESOURCE_EXHAUSTED

# Contract §3 keepalive: HTTP/2 ping every 30 s, dead after 10 s without an answer, also on
# streams that carry no data (an idle alert stream is the normal case). Client pings every 10 s
# or more are accepted. SO_REUSEPORT off: a taken port is an error, not a silently shared one.
SERVER_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
    ("grpc.so_reuseport", 0),
)


class _Waker:
    """The subscription's wake callback: sets ``event`` on ``loop``, from any thread, coalescing
    wakes that arrive before the loop ran the previous one."""

    def __init__(self, loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
        self._loop = loop
        self._event = event
        self._pending = False
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            if self._pending:
                return
            self._pending = True
        self._loop.call_soon_threadsafe(self._fire)

    def _fire(self) -> None:
        with self._lock:
            self._pending = False
        self._event.set()


class AlertStreamServicer(alerts_pb2_grpc.AlertStreamServiceServicer):
    def __init__(
        self,
        broadcast: AlertBroadcast,
        authenticator: Authenticator | None,
        capacity: int = DEFAULT_QUEUE,
        max_streams: int = MAX_STREAMS,
    ) -> None:
        self._broadcast = broadcast
        self._authenticator = authenticator
        self._capacity = capacity
        self._max_streams = max_streams
        self._closing = False
        self._wakeups: set[asyncio.Event] = set()

    def close_streams(self) -> None:
        """End every open stream (and refuse new ones): called on the event loop at shutdown."""
        self._closing = True
        for event in self._wakeups:
            event.set()

    async def _authenticate(self, context: grpc.aio.ServicerContext) -> str:
        """The caller's subject ("" when auth is disabled); aborts UNAUTHENTICATED otherwise."""
        if self._authenticator is None:
            return ""
        try:
            credentials = credentials_from_metadata(context.invocation_metadata())
            principal = await asyncio.to_thread(self._authenticator.authenticate, credentials)
        except (CredentialsError, AuthenticationError) as exc:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))  # raises
            raise  # unreachable: abort always raises
        return principal.subject  # any role may stream (contract §9)

    async def StreamAlerts(  # noqa: N802 (the generated servicer's method name)
        self, request: alerts_pb2.StreamAlertsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[alerts_pb2.AlertEvent]:
        subject = await self._authenticate(context)
        if self._closing:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the agent is shutting down")
        if len(self._wakeups) >= self._max_streams:
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED, f"too many alert streams (limit {self._max_streams})"
            )
        wanted = AlertFilter.from_request(
            request.min_severity, request.component, request.mitre_tactic, request.mitre_technique_id
        )
        ready = asyncio.Event()
        waker = _Waker(asyncio.get_running_loop(), ready)
        subscription = self._broadcast.subscribe(wake=waker, capacity=self._capacity)
        self._wakeups.add(ready)
        log.info("grpc alert stream opened", peer=context.peer(), subject=subject, filter=str(wanted))
        sent = 0
        try:
            await context.send_initial_metadata(())
            while not self._closing:
                await ready.wait()
                ready.clear()
                while not self._closing and (batch := subscription.drain(BATCH)):
                    for alert in batch:
                        if wanted.matches(alert):
                            sent += 1
                            yield to_alert_event(alert)
        finally:
            self._wakeups.discard(ready)
            subscription.close()
            log.info("grpc alert stream closed", peer=context.peer(), sent=sent, skipped=subscription.skipped)


def _credentials(tls: TlsSection, base_dir: Path) -> grpc.ServerCredentials:
    """PEM key and certificate chain; relative paths are relative to the configuration's folder."""
    key = tls_path(base_dir, tls.key_path).read_bytes()
    cert = tls_path(base_dir, tls.cert_path).read_bytes()
    return grpc.ssl_server_credentials([(key, cert)])


class GrpcAlertServer:
    """Owns the ``grpc.aio`` server; ``start`` and ``stop`` run on the agent's event loop."""

    def __init__(
        self,
        broadcast: AlertBroadcast,
        authenticator: Authenticator | None,
        *,
        bind_address: str = "127.0.0.1",
        port: int = 50051,
        reflection: bool = False,
        tls: TlsSection | None = None,
        base_dir: Path | None = None,
        capacity: int = DEFAULT_QUEUE,
        max_streams: int = MAX_STREAMS,
    ) -> None:
        self.servicer = AlertStreamServicer(broadcast, authenticator, capacity, max_streams)
        self._bind_address = bind_address
        self._port = port
        self._reflection = reflection
        self._tls = tls if tls is not None and tls.enabled else None
        self._base_dir = base_dir if base_dir is not None else Path.cwd()
        self._server: grpc.aio.Server | None = None
        self._health: health.aio.HealthServicer | None = None
        self.bound_port = 0

    @classmethod
    def from_config(
        cls,
        agent: AgentSection,
        broadcast: AlertBroadcast,
        authenticator: Authenticator | None,
        base_dir: Path | None = None,
    ) -> "GrpcAlertServer":
        """``base_dir``: the configuration's folder, against which relative TLS paths resolve."""
        return cls(
            broadcast,
            authenticator,
            bind_address=agent.bind_address,
            port=agent.grpc_port,
            reflection=agent.grpc_reflection,
            tls=agent.tls,
            base_dir=base_dir,
        )

    @property
    def address(self) -> str:
        host = f"[{self._bind_address}]" if ":" in self._bind_address else self._bind_address
        return f"{host}:{self._port}"

    async def start(self) -> int:
        """Bind and serve; returns the bound port. Raises OSError/RuntimeError when it cannot."""
        server = grpc.aio.server(options=SERVER_OPTIONS)
        alerts_pb2_grpc.add_AlertStreamServiceServicer_to_server(self.servicer, server)  # type: ignore[no-untyped-call]
        self._health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        if self._reflection:
            reflection.enable_server_reflection((SERVICE_NAME, HEALTH_NAME, reflection.SERVICE_NAME), server)
        if self._tls is not None:
            port = server.add_secure_port(self.address, _credentials(self._tls, self._base_dir))
        else:
            port = server.add_insecure_port(self.address)
        await server.start()
        for name in ("", SERVICE_NAME):
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self._server = server
        self.bound_port = int(port)
        log.info(
            "grpc server listening",
            address=self.address,
            port=self.bound_port,
            tls=self._tls is not None,
            reflection=self._reflection,
        )
        return self.bound_port

    async def stop(self, grace: float = 2.0) -> None:
        """End the streams, then stop; calls still running after ``grace`` seconds are cancelled."""
        server, self._server = self._server, None
        if server is None:
            return
        self.servicer.close_streams()
        if self._health is not None:
            await self._health.enter_graceful_shutdown()
        await server.stop(grace)
        log.info("grpc server stopped")

    async def serve_until(self, shutdown_trigger: Callable[[], Awaitable[object]]) -> None:
        """Run until ``shutdown_trigger`` returns, then stop (for ``asyncio.gather`` beside hypercorn)."""
        try:
            await shutdown_trigger()
        finally:
            await self.stop()
