"""``GET /api/v1/alerts/stream``: live alerts as Server-Sent Events (contract §2.4).

Each alert is one frame ``id: <alert id>`` / ``event: alert`` / ``data: <JSON>`` where the JSON
is the REST alert list item (``rest.alerts.alert_response``). Filters: ``severity_min`` (invalid
→ 400 INVALID_SEVERITY), ``component`` and ``mitre_tactic`` (both case-insensitive). A client
reconnecting with ``Last-Event-ID`` first gets the alerts published after that id that the
broadcast ring still holds (5 000), then the live ones, with none twice (``subscribe_after``).

A ``:keepalive`` comment goes out every 15 s without alerts (``EBPFSENTINEL_SSE_KEEPALIVE_SECS``
overrides the interval, for tests). The stream ends when the client goes away or when ``stop``
(the agent's shutdown event) is set, so a connected client never holds the agent up.
"""

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from sentinel_agent.rest import models as m
from sentinel_agent.rest._common import MAX_ID, error
from sentinel_agent.rest.alerts import alert_response
from sentinel_agent.rest.registry import Endpoint, Param, str_param
from sentinel_application.alert_broadcast import AlertBroadcast
from sentinel_domain.alert import Alert
from sentinel_domain.common import DomainError, Severity, parse_severity

KEEPALIVE_SECS = 15.0
KEEPALIVE_ENV = "EBPFSENTINEL_SSE_KEEPALIVE_SECS"
MAX_STREAMS = 128  # concurrent SSE clients; more are refused with 503
KEEPALIVE = b":keepalive\n\n"


class SubscriberCount:
    """Open SSE streams (gauge ``ebpfsentinel_alerts_sse_subscribers``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def enter(self, limit: int) -> bool:
        with self._lock:
            if self._count >= limit:
                return False
            self._count += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self._count -= 1

    @property
    def count(self) -> int:
        with self._lock:
            return self._count


SUBSCRIBERS = SubscriberCount()


def keepalive_interval() -> float:
    raw = os.environ.get(KEEPALIVE_ENV, "")
    try:
        value = float(raw)
    except ValueError:
        return KEEPALIVE_SECS
    return value if 0.05 <= value <= 3600 else KEEPALIVE_SECS


class AlertFilter(msgspec.Struct, frozen=True):
    severity_min: Severity | None = None
    component: str | None = None
    mitre_tactic: str | None = None

    def accepts(self, alert: Alert) -> bool:
        if self.severity_min is not None and alert.severity < self.severity_min:
            return False
        if self.component is not None and alert.component.value.lower() != self.component:
            return False
        if self.mitre_tactic is not None:
            tactic = alert.mitre.tactic.lower() if alert.mitre is not None else None
            if tactic != self.mitre_tactic:
                return False
        return True


def parse_filter(params: Any) -> AlertFilter | Response:
    """The filter of the query, or the 400 answer."""
    raw = params.get("severity_min")
    severity = None
    if raw is not None:
        try:
            severity = parse_severity(raw)
        except DomainError:
            return error(400, "INVALID_SEVERITY", f"unknown severity '{raw[:40]}'")
    texts = {}
    for key in ("component", "mitre_tactic"):
        value = params.get(key)
        if value is not None and len(value) > MAX_ID:
            return error(400, "VALIDATION_ERROR", f"'{key}' is longer than {MAX_ID} characters")
        texts[key] = value.strip().lower() if value is not None else None
    return AlertFilter(severity, texts["component"], texts["mitre_tactic"])


def frame(alert: Alert, encoder: msgspec.json.Encoder) -> bytes:
    data = encoder.encode(msgspec.convert(alert_response(alert), m.AlertResponse))
    return b"id: " + alert.id.encode() + b"\nevent: alert\ndata: " + data + b"\n\n"


class _Cleanup:
    """Unsubscribe and uncount once, however the response ends (even if it never started)."""

    def __init__(self, subscription: Any) -> None:
        self._subscription = subscription
        self._done = False

    def __call__(self) -> None:
        if not self._done:
            self._done = True
            self._subscription.close()
            SUBSCRIBERS.leave()


class _Stream(StreamingResponse):
    def __init__(self, content: AsyncIterator[bytes], cleanup: _Cleanup, **kw: Any) -> None:
        super().__init__(content, **kw)
        self._cleanup = cleanup

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._cleanup()


def stream_endpoint(broadcast: AlertBroadcast | None, stop: asyncio.Event | None = None) -> Endpoint:
    async def stream(request: Request) -> Response:
        if broadcast is None:
            return error(503, "SERVICE_UNAVAILABLE", "the alert stream is not available")
        wanted = parse_filter(request.query_params)
        if isinstance(wanted, Response):
            return wanted
        last_id = request.headers.get("last-event-id")
        if last_id is not None:
            last_id = last_id.strip()[:MAX_ID] or None
        if not SUBSCRIBERS.enter(MAX_STREAMS):
            return error(503, "SERVICE_UNAVAILABLE", f"too many alert streams (at most {MAX_STREAMS})")
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()

        def wake() -> None:  # called on detection threads
            loop.call_soon_threadsafe(ready.set)

        try:
            replay, subscription = broadcast.subscribe_after(last_id, wake)
        except BaseException:
            SUBSCRIBERS.leave()
            raise
        return _Stream(
            _frames(replay, subscription, wanted, ready, stop),
            cleanup=_Cleanup(subscription),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return Endpoint(
        "GET",
        "/api/v1/alerts/stream",
        stream,
        "Live alerts as Server-Sent Events (frames id/event: alert/data)",
        "alerts",
        media_type="text/event-stream",
        errors=(400, 503),
        params=(
            str_param(
                "severity_min",
                "at least this severity (invalid → 400 INVALID_SEVERITY)",
                examples=["low", "medium", "high", "critical"],
            ),
            str_param("component", "only this component (case-insensitive)"),
            str_param("mitre_tactic", "only this MITRE tactic (case-insensitive)"),
            Param(
                "Last-Event-ID",
                {"type": "string", "maxLength": 1024},
                "replay the retained alerts published after this id first",
                where="header",
            ),
        ),
        description="Each frame: `id: <alert id>`, `event: alert`, `data: <alert JSON as in GET "
        "/api/v1/alerts>`; a `:keepalive` comment every 15 s.",
    )


async def _frames(
    replay: list[Alert],
    subscription: Any,
    wanted: AlertFilter,
    ready: asyncio.Event,
    stop: asyncio.Event | None,
) -> AsyncIterator[bytes]:
    encoder = msgspec.json.Encoder()
    interval = keepalive_interval()
    relay: asyncio.Task[None] | None = None
    if stop is not None:

        async def on_stop() -> None:
            await stop.wait()
            ready.set()

        relay = asyncio.get_running_loop().create_task(on_stop())
    try:
        chunk = b"".join(frame(a, encoder) for a in replay if wanted.accepts(a))
        if chunk:
            yield chunk
        while stop is None or not stop.is_set():
            try:
                await asyncio.wait_for(ready.wait(), timeout=interval)
            except TimeoutError:
                yield KEEPALIVE
                continue
            ready.clear()
            while batch := subscription.drain(500):
                chunk = b"".join(frame(a, encoder) for a in batch if wanted.accepts(a))
                if chunk:
                    yield chunk
    finally:
        if relay is not None:
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await relay
