"""Cross-cutting REST layers (contract §2.0): per-client-IP rate limits, security headers, CORS.

All are plain ASGI middlewares (no ``BaseHTTPMiddleware``), so streamed responses (SSE) pass
through untouched and client disconnects still reach the endpoint.

Rate limits use GCRA (the algorithm behind tower_governor): a key may send ``burst`` requests at
once, then one per ``period``. Groups: write routes (``agent.api_rate_limit``), read routes
(burst 200, one per 4 s), ``/metrics`` (burst 10, one per 2 s), plus every ``/api/v1`` route when
authentication is on (burst 30, one per 10 s). Loopback peers are exempt from every group while
``exempt_loopback`` is true (deviation: upstream exempts them from the write group only).
"""

import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sentinel_agent.rest.registry import route_group

Scope = dict[str, Any]
UNKNOWN_PEER = "unknown"
MAX_KEYS = 65_536
TOO_MANY = b"Too Many Requests"


class Gcra:
    """Generic cell rate algorithm per key: ``burst`` at once, then one per ``period`` seconds."""

    def __init__(self, period: float, burst: int, max_keys: int = MAX_KEYS) -> None:
        if period <= 0 or burst < 1:
            raise ValueError("period must be > 0 and burst ≥ 1")
        self.period = period
        self.burst = burst
        self._tolerance = period * burst
        self._tat: dict[str, float] = {}  # theoretical arrival time per key
        self._max_keys = max_keys

    def check(self, key: str, now: float) -> float:
        """0 when the request is allowed (and counted), else the seconds until it would be."""
        tat = max(self._tat.get(key, now), now)
        new_tat = tat + self.period
        excess = new_tat - now - self._tolerance
        if excess > 1e-9:
            return excess
        self._tat[key] = new_tat
        if len(self._tat) > self._max_keys:
            self._prune(now)
        return 0.0

    def _prune(self, now: float) -> None:
        """Forget keys whose bucket is full again; if all are busy, the oldest inserted."""
        idle = [k for k, tat in self._tat.items() if tat <= now]
        for key in idle:
            del self._tat[key]
        while len(self._tat) > self._max_keys:
            del self._tat[next(iter(self._tat))]


@dataclass(frozen=True, slots=True)
class RateLimits:
    write_per_second: int = 1
    write_burst: int = 60
    exempt_loopback: bool = True
    auth_enabled: bool = False


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class RateLimitMiddleware:
    def __init__(self, app: Any, limits: RateLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.limits = limits
        self.clock = clock
        self.groups = {
            "write": Gcra(1.0 / max(1, limits.write_per_second), max(1, limits.write_burst)),
            "read": Gcra(4.0, 200),
            "metrics": Gcra(2.0, 10),
        }
        self.auth = Gcra(10.0, 30)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        peer = client[0] if client else UNKNOWN_PEER
        if self.limits.exempt_loopback and _is_loopback(peer):
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limiters = []
        group = self.groups.get(route_group(scope.get("method", "GET"), path))
        if group is not None:
            limiters.append(group)
        if self.limits.auth_enabled and path.startswith("/api/v1/"):
            limiters.append(self.auth)
        now = self.clock()
        wait = 0.0
        for limiter in limiters:
            wait = max(wait, limiter.check(peer, now))
        if wait > 0:
            await _too_many(send, wait)
            return
        await self.app(scope, receive, send)


async def _too_many(send: Any, wait: float) -> None:
    retry = max(1, math.ceil(wait))
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(TOO_MANY)).encode()),
                (b"retry-after", str(retry).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": TOO_MANY})


SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
)
DEFAULT_CSP = (b"content-security-policy", b"frame-ancestors 'none'")
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeadersMiddleware:
    """``X-Content-Type-Options``, ``X-Frame-Options``, a CSP (unless the response set its own,
    like the Swagger page) and, with TLS, HSTS on every response."""

    def __init__(self, app: Any, tls: bool = False) -> None:
        self.app = app
        self.tls = tls

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = [*SECURITY_HEADERS, DEFAULT_CSP, *([HSTS] if self.tls else [])]
                headers.extend(h for h in extra if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


LOCAL_ORIGINS = r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?$"
CORS_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
CORS_HEADERS = ["Content-Type", "Authorization", "X-API-Key"]
