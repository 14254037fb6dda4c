"""The REST application: every route from the endpoint registry, and the cross-cutting layers.

Layers, outermost first: security headers, CORS (localhost origins only), per-IP rate limits,
then the caller's ``middleware`` (authentication goes there, innermost), then the routes. Health
endpoints are public (contract §2.1). Unknown routes answer 404 and handler failures 500
``INTERNAL_ERROR``, both with the contract's error body and without details.
"""

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import structlog
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sentinel_agent.metrics import metrics_route
from sentinel_agent.rest import models as m
from sentinel_agent.rest._common import error
from sentinel_agent.rest.alerts import alert_routes
from sentinel_agent.rest.firewall import audit_routes, firewall_routes
from sentinel_agent.rest.limits import (
    CORS_HEADERS,
    CORS_METHODS,
    LOCAL_ORIGINS,
    RateLimitMiddleware,
    RateLimits,
    SecurityHeadersMiddleware,
)
from sentinel_agent.rest.more import more_routes
from sentinel_agent.rest.openapi import docs_endpoints, openapi_document
from sentinel_agent.rest.registry import Endpoint, expand
from sentinel_agent.rest.sse import stream_endpoint
from sentinel_agent.runtime import AgentRuntime
from sentinel_application.reload_service import ReloadService
from sentinel_infrastructure.config import ConfigError, LoadedConfig

log = structlog.get_logger("ebpfsentinel.rest")
RELOAD_WAIT_SECONDS = 8.0
HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}

__all__ = ["RELOAD_WAIT_SECONDS", "build_app", "core_endpoints", "error"]


def core_endpoints(
    runtime: AgentRuntime,
    reloads: ReloadService[LoadedConfig] | None = None,
    validate: Callable[[], LoadedConfig] | None = None,
) -> list[Endpoint]:
    async def healthz(_: Request) -> Any:
        return {"status": "ok"}

    async def readyz(_: Request) -> Any:
        body = runtime.readiness()
        if body["status"] == "ready":
            return body
        return Response(_encode(m.ReadinessResponse, body), status_code=503, media_type="application/json")

    async def reload_config(_: Request) -> Any:
        if reloads is None or validate is None:
            return error(503, "SERVICE_UNAVAILABLE", "reloading is not available")
        loop = asyncio.get_running_loop()
        try:  # validate first, so the caller gets the errors (contract §1.0)
            await loop.run_in_executor(None, validate)
        except ConfigError as exc:
            return error(400, "INVALID_CONFIG", str(exc))
        generation = reloads.request("api")
        result = await loop.run_in_executor(None, reloads.wait, generation, RELOAD_WAIT_SECONDS)
        if result is None:
            return {"status": "pending", "message": "reload still running"}
        if not result.ok:
            return error(400, "INVALID_CONFIG", result.error)
        return {"status": "ok", "message": "configuration reloaded"}

    async def agent_status(_: Request) -> Any:
        fw = runtime.loaded.config.firewall
        return {
            "version": runtime.version,
            "uptime_seconds": int(time.monotonic() - runtime.started_at),
            "ebpf_loaded": bool(runtime.readiness()["ebpf_loaded"]),
            "firewall_enabled": fw.enabled,
            "firewall_mode": fw.mode,
            "rule_count": len(runtime.rules.rules()) if runtime.rules else 0,
            "status": "running" if runtime.ready() else "degraded",
        }

    return [
        Endpoint("GET", "/healthz", healthz, "Liveness", "health", m.HealthResponse),
        Endpoint(
            "GET",
            "/readyz",
            readyz,
            "Readiness: eBPF loaded and nothing blocked",
            "health",
            m.ReadinessResponse,
            extra_responses=((503, m.ReadinessResponse),),
        ),
        Endpoint("GET", "/api/v1/agent/status", agent_status, "Agent status", "agent", m.AgentStatusResponse),
        Endpoint(
            "POST",
            "/api/v1/config/reload",
            reload_config,
            "Validate and reload the configuration file",
            "agent",
            m.ReloadResponse,
            errors=(400, 503),
        ),
    ]


def _encode(model: Any, data: Any) -> bytes:
    return msgspec.json.encode(msgspec.convert(data, model))


def _auth_enabled(config: Any) -> bool:
    auth = getattr(config, "auth", None)
    if isinstance(auth, dict):
        return bool(auth.get("enabled", False))
    return bool(getattr(auth, "enabled", False))


def build_app(
    runtime: AgentRuntime,
    reloads: ReloadService[LoadedConfig] | None = None,
    validate: Callable[[], LoadedConfig] | None = None,
    metrics: CollectorRegistry | None = None,
    *,
    middleware: Sequence[Middleware] = (),
    stop: asyncio.Event | None = None,
    extra_routes: Sequence[Any] = (),
) -> Starlette:
    """The agent's REST app.

    ``middleware``: extra layers inside the built-in ones (authentication: innermost of the
    cross-cutting layers). ``stop``: the agent's shutdown event; open SSE streams end when it is
    set. ``extra_routes``: more Endpoints or ``(path, handler, methods)`` RouteSpecs.
    """
    agent = runtime.loaded.config.agent
    endpoints: list[Endpoint] = [
        *core_endpoints(runtime, reloads, validate),
        *alert_routes(runtime.alert_store),
        stream_endpoint(getattr(runtime, "broadcast", None), stop),
        *firewall_routes(lambda: runtime.rules),
        *audit_routes(runtime.audit),
        *expand(list(more_routes(runtime))),
        *expand(list(extra_routes)),
    ]
    if metrics is not None:
        route = metrics_route(metrics)
        endpoints.append(
            Endpoint(
                "GET",
                route.path,
                route.endpoint,
                "Prometheus metrics (text format, or OpenMetrics when asked)",
                "metrics",
                media_type="text/plain",
            )
        )
    if agent.swagger_ui:
        endpoints.extend(docs_endpoints(lambda: openapi_document(endpoints, runtime.version)))
    routes = [Route(ep.path, ep.endpoint(), methods=[ep.method]) for ep in endpoints]
    limits = RateLimits(
        write_per_second=agent.api_rate_limit.write_per_second,
        write_burst=agent.api_rate_limit.write_burst,
        exempt_loopback=agent.api_rate_limit.exempt_loopback,
        auth_enabled=_auth_enabled(runtime.loaded.config),
    )
    layers = [
        Middleware(SecurityHeadersMiddleware, tls=agent.tls.enabled),
        Middleware(
            CORSMiddleware,
            allow_origin_regex=LOCAL_ORIGINS,
            allow_methods=CORS_METHODS,
            allow_headers=CORS_HEADERS,
            max_age=3600,
        ),
        Middleware(RateLimitMiddleware, limits=limits),
        *middleware,
    ]
    app = Starlette(
        routes=routes,
        middleware=layers,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    app.state.endpoints = endpoints
    app.state.runtime = runtime
    return app


async def _http_error(_: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code = HTTP_CODES.get(status, "HTTP_ERROR")
    text = {404: "no such route", 405: "method not allowed on this route"}.get(status, "request failed")
    response = error(status, code, text)
    if isinstance(exc, HTTPException) and exc.headers:
        response.headers.update(exc.headers)
    return response


async def _server_error(request: Request, _: Exception) -> Response:
    log.error("REST request failed", path=request.url.path, method=request.method)
    return error(500, "INTERNAL_ERROR", "internal error")
