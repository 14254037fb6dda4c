"""REST routes. Health endpoints are public (contract §2.1)."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sentinel_agent.runtime import AgentRuntime


def build_app(runtime: AgentRuntime) -> Starlette:
    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> JSONResponse:
        body = runtime.readiness()
        return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503)

    return Starlette(routes=[Route("/healthz", healthz), Route("/readyz", readyz)])
