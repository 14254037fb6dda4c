"""``POST /api/v1/threatintel/feeds/refresh`` (contract §2.2): fetch every enabled feed now.

The optional body ``{"feed_id": …}`` is accepted and ignored (all feeds refresh, as upstream).
The refresh runs on the feed service's worker; the request waits for it (at most
``REFRESH_WAIT_SECS``) so the answer says what happened; a refresh still running then finishes
in the background. 503 SERVICE_UNAVAILABLE when threat intelligence is disabled, its program
did not load, or the feed worker is stopped.
"""

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sentinel_agent.rest._common import BadRequestError, RouteSpec, error, read_object, unavailable

REFRESH_WAIT_SECS = 60.0
WHAT = "threat-intel feed fetching (threatintel.enabled with tc_threatintel loaded)"


def threatintel_feed_routes(runtime: Any) -> list[RouteSpec]:
    async def refresh(request: Request) -> Response:
        try:
            await read_object(request, frozenset({"feed_id"}), optional=True)
        except BadRequestError as exc:
            return error(400, "VALIDATION_ERROR", str(exc))
        feeds = getattr(runtime.detection, "feeds", None)
        if not runtime.loaded.config.threatintel.enabled or feeds is None or not feeds.service.running:
            return unavailable(WHAT)
        report = await asyncio.get_running_loop().run_in_executor(
            None, feeds.service.refresh_now, REFRESH_WAIT_SECS
        )
        if report is None:
            if not feeds.service.running:
                return unavailable(WHAT)
            message = f"refresh still running after {REFRESH_WAIT_SECS:.0f} s; it completes in the background"
            return JSONResponse({"status": "ok", "message": message})
        return JSONResponse({"status": "ok", "message": report.message})

    return [("/api/v1/threatintel/feeds/refresh", refresh, ["POST"])]
