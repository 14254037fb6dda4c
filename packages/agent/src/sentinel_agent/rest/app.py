"""REST routes. Health endpoints are public (contract §2.1)."""

import asyncio
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sentinel_agent.metrics import metrics_route
from sentinel_agent.rest.alerts import alert_routes
from sentinel_agent.rest.firewall import audit_routes, firewall_routes
from sentinel_agent.rest.more import more_routes
from sentinel_agent.runtime import AgentRuntime
from sentinel_application.reload_service import ReloadService
from sentinel_infrastructure.config import ConfigError, LoadedConfig

RELOAD_WAIT_SECONDS = 8.0


def error(status: int, code: str, message: str) -> JSONResponse:
    """The contract's error body: ``{"error": {"code", "message"}}``."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def build_app(
    runtime: AgentRuntime,
    reloads: ReloadService[LoadedConfig] | None = None,
    validate: Callable[[], LoadedConfig] | None = None,
    metrics: CollectorRegistry | None = None,
) -> Starlette:
    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> JSONResponse:
        body = runtime.readiness()
        return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503)

    async def reload_config(_: Request) -> JSONResponse:
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
            return JSONResponse({"status": "pending", "message": "reload still running"})
        if not result.ok:
            return error(400, "INVALID_CONFIG", result.error)
        return JSONResponse({"status": "ok", "message": "configuration reloaded"})

    async def agent_status(_: Request) -> JSONResponse:
        fw = runtime.loaded.config.firewall
        ready = runtime.ready()
        return JSONResponse(
            {
                "version": runtime.version,
                "uptime_seconds": int(time.monotonic() - runtime.started_at),
                "ebpf_loaded": bool(runtime.readiness()["ebpf_loaded"]),
                "firewall_enabled": fw.enabled,
                "firewall_mode": fw.mode,
                "rule_count": len(runtime.rules.rules()) if runtime.rules else 0,
                "status": "running" if ready else "degraded",
            }
        )

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/api/v1/agent/status", agent_status),
        Route("/api/v1/config/reload", reload_config, methods=["POST"]),
    ]
    extra = [
        *alert_routes(runtime.alert_store),
        *firewall_routes(lambda: runtime.rules),
        *audit_routes(runtime.audit),
        *more_routes(runtime),
    ]
    routes += [Route(path, handler, methods=methods) for path, handler, methods in extra]
    if metrics is not None:
        routes.append(metrics_route(metrics))
    return Starlette(routes=routes)
