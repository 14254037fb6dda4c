"""A small REST client for the agent's API (contract §2), with the CLI's error → exit-code mapping.

Every failure becomes a :class:`ClientError` carrying the message to print and the exit code
(documented in docs/cli.md), so command modules never handle HTTP details themselves.
"""

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

EXIT_OK = 0
EXIT_USAGE = 1  # bad flags or --json, or the API refused the request (400/409)
EXIT_CONNECTION = 2  # nothing answered at host:port (or it timed out)
EXIT_AUTH = 3  # 401/403
EXIT_NOT_FOUND = 4  # 404: unknown id, or an endpoint this agent does not serve
EXIT_SERVER = 5  # any other HTTP error (429, 5xx, ...)

DEFAULT_TIMEOUT = 15.0


class ClientError(Exception):
    """A failure to report on stderr; ``exit_code`` is the process exit status to use."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _error_fields(raw: bytes) -> tuple[str | None, str]:
    """The contract error body ``{"error": {"code", "message"}}`` → (code, message)."""
    text = raw.decode("utf-8", "replace").strip()
    try:
        body = json.loads(text)
    except ValueError:
        return None, text[:500]
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        return (str(err["code"]) if err.get("code") else None), str(err.get("message", ""))
    return None, text[:500]


def http_error(method: str, path: str, status: int, raw: bytes, retry_after: str | None) -> ClientError:
    """The message and exit code for an HTTP error answer (contract §2.0 status/code mapping)."""
    code, message = _error_fields(raw)
    label = f"{status} {code}" if code else str(status)
    if status == 404 and code is None:
        # Starlette's bare 404: the route itself is missing, not the resource.
        return ClientError(
            f"the agent does not serve {method} {path} (404): this endpoint is not available in "
            "the running agent version",
            EXIT_NOT_FOUND,
        )
    if status == 404:
        return ClientError(f"not found ({label}): {message}", EXIT_NOT_FOUND)
    if status == 401:
        hint = "pass --token or --api-key (or set EBPFSENTINEL_TOKEN / EBPFSENTINEL_API_KEY)"
        return ClientError(f"authentication required ({label}): {message or hint}; {hint}", EXIT_AUTH)
    if status == 403:
        return ClientError(f"permission denied ({label}): {message}", EXIT_AUTH)
    if status in (400, 409, 413, 422):
        return ClientError(f"rejected by the agent ({label}): {message}", EXIT_USAGE)
    if status == 429:
        wait = f"; retry after {retry_after} s" if retry_after else ""
        return ClientError(f"rate limited by the agent (429){wait}", EXIT_SERVER)
    return ClientError(f"agent error ({label}): {message}", EXIT_SERVER)


class ApiClient:
    """Calls ``http://host:port``; sends ``Authorization: Bearer <token>`` when a token is set and
    ``X-API-Key: <key>`` when an API key is set (the agent tries the Bearer token first)."""

    def __init__(
        self,
        host: str,
        port: int,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        api_key: str | None = None,
    ):
        self.host = host
        self.port = port
        self.token = token
        self.api_key = api_key
        self.timeout = timeout
        shown = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{shown}:{port}"

    def _url(self, path: str, query: dict[str, Any] | None) -> str:
        params = {k: v for k, v in (query or {}).items() if v is not None}
        suffix = f"?{urllib.parse.urlencode(params)}" if params else ""
        return f"{self.base_url}{path}{suffix}"

    def call(
        self,
        method: str,
        path: str,
        query: dict[str, Any] | None = None,
        body: Any = None,
        accept: tuple[int, ...] = (),
    ) -> tuple[int, bytes]:
        """One request; returns (status, body) for a 2xx answer or a status listed in ``accept``.

        Raises ClientError for connection failures and every other answer.
        """
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self._url(path, query), data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        if self.api_key:
            req.add_header("X-API-Key", self.api_key)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return int(resp.status), bytes(resp.read())
        except urllib.error.HTTPError as err:
            raw = err.read() if err.fp is not None else b""
            if err.code in accept:
                return err.code, raw
            raise http_error(method, path, err.code, raw, err.headers.get("Retry-After")) from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            if isinstance(reason, ConnectionRefusedError):
                why = "connection refused (is the agent running?)"
            elif isinstance(reason, (TimeoutError, socket.timeout)):
                why = f"no answer within {self.timeout:g} s"
            else:
                why = str(reason)
            raise ClientError(
                f"cannot reach the agent at {self.base_url}: {why}; "
                "set --host/--port or EBPFSENTINEL_HOST/EBPFSENTINEL_PORT",
                EXIT_CONNECTION,
            ) from None

    def get(self, path: str, query: dict[str, Any] | None = None) -> Any:
        """GET a JSON document."""
        return self.decode(self.call("GET", path, query)[1])

    def send(self, method: str, path: str, body: Any = None) -> Any:
        """POST/PATCH/DELETE with an optional JSON body; None when the answer has no body (204)."""
        raw = self.call(method, path, body=body)[1]
        return self.decode(raw) if raw.strip() else None

    def text(self, path: str) -> str:
        """GET a text document (``/metrics``)."""
        return self.call("GET", path)[1].decode("utf-8", "replace")

    @staticmethod
    def decode(raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            raise ClientError("the agent answered with a body that is not JSON", EXIT_SERVER) from None


def segment(value: str) -> str:
    """A path segment (rule id, IP, domain) percent-encoded so '/' or '?' cannot change the route."""
    return urllib.parse.quote(value, safe="")
