"""Authentication and the role matrix for the REST API (contract §2.0, §9), as pure ASGI.

For ``/api/v1/*`` (and ``/metrics`` when ``metrics_auth_required``) credentials are taken in the
contract's order: ``Authorization: Bearer <jwt>`` (exactly two dots, else 401 "malformed Bearer
token" with no fallback), then ``X-API-Key``; none → 401. The Authenticator runs in a worker
thread (a JWKS refetch may block). The Principal is left in ``scope["state"]["principal"]``.

Every write (any method but GET/HEAD/OPTIONS) under ``/api/v1`` is checked here with
``sentinel_domain.access``: firewall rule create uses the body's ``scope`` (the body is buffered
and replayed to the app), delete the stored rule's scope; everything else ``check_write``.
Health endpoints stay public.
"""

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

from sentinel_domain.access import AccessDeniedError, Principal, check_firewall_write, check_write
from sentinel_domain.common import DomainError
from sentinel_domain.firewall import parse_scope
from sentinel_ports.authenticator import AuthenticationError, Authenticator, Credentials

API_PREFIX = "/api/v1"
METRICS_PATH = "/metrics"
MAX_BODY = 64 * 1024  # contract §2.0
REQUIRED = "authentication required: provide Bearer token or X-API-Key"
MALFORMED = "malformed Bearer token"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RULES_PATH = "/api/v1/firewall/rules"
_RULE_PATH = re.compile(r"/api/v1/firewall/rules/([^/]+)")

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


def credentials_from_headers(headers: list[tuple[bytes, bytes]]) -> Credentials:
    """The contract's extraction order; raises AuthenticationError when nothing usable is sent."""
    values: dict[bytes, bytes] = {}
    for name, value in headers:
        values.setdefault(name.lower(), value)
    scheme, _, token = values.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() == "bearer":
        token = token.strip()
        if token.count(".") != 2:
            raise AuthenticationError(MALFORMED)
        return Credentials(bearer=token)
    api_key = values.get(b"x-api-key", b"").decode("utf-8", "replace").strip()  # keys are UTF-8 in config
    if api_key:
        return Credentials(api_key=api_key)
    raise AuthenticationError(REQUIRED)


async def _send_error(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer, ApiKey header="X-API-Key"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _is_api(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def _body_scope(body: bytes) -> str | None:
    """The canonical scope of a CreateRuleRequest body (default global); None when the body is
    not one the app would accept (it then answers 400 itself)."""
    try:
        data = json.loads(body or b"null")
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    try:
        return str(parse_scope(data.get("scope")))
    except DomainError:
        return None


class AuthMiddleware:
    """``authenticator`` None (auth disabled) lets everything through with principal None.

    ``rule_scope(id)``: the stored firewall rule's scope string, None if there is no such rule.
    """

    def __init__(
        self,
        app: Any,
        authenticator: Authenticator | None,
        metrics_auth_required: bool = True,
        rule_scope: Callable[[str], str | None] | None = None,
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.metrics_auth_required = metrics_auth_required
        self.rule_scope = rule_scope or (lambda _id: None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.authenticator is None:
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET").upper()
        api = _is_api(path)
        guarded = api or (path == METRICS_PATH and self.metrics_auth_required)
        if not guarded or method == "OPTIONS":  # health is public; CORS preflights carry no credentials
            await self.app(scope, receive, send)
            return
        try:
            credentials = credentials_from_headers(scope.get("headers", []))
            principal = await asyncio.to_thread(self.authenticator.authenticate, credentials)
        except AuthenticationError as exc:
            await _send_error(send, 401, "AUTHENTICATION_REQUIRED", str(exc) or REQUIRED)
            return
        scope.setdefault("state", {})["principal"] = principal
        if api and method not in READ_METHODS:
            try:
                receive = await self._authorize(scope, receive, path, method, principal)
            except AccessDeniedError as exc:
                await _send_error(send, 403, exc.code, str(exc))
                return
            except _BodyTooLargeError:
                await _send_error(send, 400, "VALIDATION_ERROR", f"request body larger than {MAX_BODY} bytes")
                return
        await self.app(scope, receive, send)

    async def _authorize(
        self, scope: Scope, receive: Receive, path: str, method: str, principal: Principal
    ) -> Receive:
        """Raise AccessDeniedError unless ``principal`` may make this write; returns the receive
        callable the app must use (the buffered body replayed, for rule creation)."""
        check_write(principal)
        if method == "POST" and path.rstrip("/") == RULES_PATH:
            body, receive = await _buffer(receive)
            rule_scope = _body_scope(body)
            if rule_scope is not None:
                check_firewall_write(principal, rule_scope)
            return receive
        match = _RULE_PATH.fullmatch(path)
        if method == "DELETE" and match:
            stored = await asyncio.to_thread(self.rule_scope, match.group(1)[:256])
            if stored is not None:  # unknown rule: the app answers 404
                check_firewall_write(principal, stored)
        return receive


class _BodyTooLargeError(Exception):
    pass


async def _buffer(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole request body (≤ MAX_BODY) and a receive callable that replays it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # disconnect: the app sees an empty body
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise _BodyTooLargeError
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> dict[str, Any]:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return dict(await receive())

    return body, replay
