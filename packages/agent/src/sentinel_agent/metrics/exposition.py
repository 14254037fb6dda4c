"""``/metrics`` in the Prometheus text format (or OpenMetrics when asked), on both listeners.

``metrics_route`` goes into the REST app (``http_port``); ``serve_metrics`` runs a second, tiny
app with only ``/metrics`` on ``metrics_port`` (contract §2.0). Both read one registry.
"""

from collections.abc import Awaitable, Callable, Sequence

import structlog
from hypercorn.asyncio import serve
from hypercorn.config import Config as HypercornConfig
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sentinel_agent.metrics.collector import SentinelCollector
from sentinel_agent.metrics.process import ProcessSampler
from sentinel_agent.metrics.provider import MetricsProvider

log = structlog.get_logger("ebpfsentinel.metrics")
METRICS_PATH = "/metrics"


def build_registry(provider: MetricsProvider, process: ProcessSampler | None = None) -> CollectorRegistry:
    """A private registry (never the library's global one) holding the agent's collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SentinelCollector(provider, process))
    return registry


def metrics_route(registry: CollectorRegistry, path: str = METRICS_PATH) -> Route:
    """``GET path``: the registry's families, encoded as the ``Accept`` header asks."""

    async def metrics(request: Request) -> Response:
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        # Map reads and /proc are blocking calls: keep them off the event loop.
        body = await run_in_threadpool(encode, registry)
        return Response(body, headers={"Content-Type": content_type})

    return Route(path, metrics, methods=["GET"])


def build_metrics_app(registry: CollectorRegistry, middleware: Sequence[Middleware] = ()) -> Starlette:
    """An app serving only ``/metrics`` (404 elsewhere), for ``metrics_port``; ``middleware``
    carries the same metrics authentication as the REST listener."""
    return Starlette(routes=[metrics_route(registry)], middleware=list(middleware))


def listener_config(bind_address: str, port: int) -> HypercornConfig:
    """Hypercorn settings for one quiet listener on ``bind_address:port`` (IPv6 in brackets)."""
    config = HypercornConfig()
    host = f"[{bind_address}]" if ":" in bind_address else bind_address
    config.bind = [f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 2
    return config


async def serve_metrics(
    registry: CollectorRegistry,
    bind_address: str,
    port: int,
    shutdown_trigger: Callable[[], Awaitable[object]],
    middleware: Sequence[Middleware] = (),
) -> None:
    """Serve ``/metrics`` on ``port`` until ``shutdown_trigger`` completes.

    A port that cannot be bound is logged and given up: the agent keeps running, and the REST
    listener still serves ``/metrics``.
    """
    try:
        await serve(
            build_metrics_app(registry, middleware),  # type: ignore[arg-type]
            listener_config(bind_address, port),
            shutdown_trigger=shutdown_trigger,
        )
    except OSError as exc:
        log.error("metrics listener failed", bind_address=bind_address, port=port, error=str(exc))
