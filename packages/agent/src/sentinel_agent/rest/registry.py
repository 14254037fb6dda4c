"""One declaration per REST route: method, path, summary, tag, models, parameters, statuses.

The Starlette routes and the OpenAPI document (``rest.openapi``) are both generated from these
``Endpoint`` records, so a route cannot exist without being documented. An ``Endpoint`` unpacks
like the older ``(path, handler, methods)`` RouteSpec tuples, which modules may still return; those
are documented generically (``from_route_spec``).

A handler receives the Starlette ``Request`` and returns either a ``Response`` (errors, 204,
streams) or plain data, which is converted into the endpoint's ``response`` model and encoded
with msgspec, with the endpoint's success ``status``.
"""

import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import msgspec
import structlog
from starlette.requests import Request
from starlette.responses import Response

from sentinel_agent.rest import models as m
from sentinel_agent.rest._common import BadRequestError, error, read_body
from sentinel_application.rule_persistence import RuleNotPersistedError

log = structlog.get_logger("ebpfsentinel.rest")

Group = Literal["public", "read", "write", "metrics", "docs"]
Handler = Callable[[Request], Awaitable[Any]]
T = TypeVar("T")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PATH_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?}")


@dataclass(frozen=True, slots=True)
class Param:
    """A query or path parameter and its JSON schema (bounds included)."""

    name: str
    schema: dict[str, Any]
    description: str = ""
    where: Literal["query", "path", "header"] = "query"
    required: bool = False


def int_param(
    name: str, description: str, low: int = 0, high: int | None = None, default: int | None = None
) -> Param:
    schema: dict[str, Any] = {"type": "integer", "minimum": low}
    if high is not None:
        schema["maximum"] = high
    if default is not None:
        schema["default"] = default
    return Param(name, schema, description)


def str_param(name: str, description: str, max_length: int = 256, **extra: Any) -> Param:
    return Param(name, {"type": "string", "maxLength": max_length, **extra}, description)


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str  # Starlette syntax: ``{ip:path}`` converters are allowed
    handler: Handler
    summary: str
    tag: str
    response: Any = None  # a msgspec type (Struct, list[Struct], dict); None: no JSON body
    status: int = 200
    request: Any = None  # the JSON body's Struct
    request_required: bool = True
    errors: tuple[int, ...] = ()
    params: tuple[Param, ...] = ()
    group: Group | None = None  # default: public for /healthz|/readyz, write by method, else read
    media_type: str = "application/json"
    description: str = ""
    documented: bool = True  # False: a generic entry for an old-style RouteSpec
    path_limits: dict[str, int] = field(default_factory=dict)  # path parameter → maxLength
    # other statuses answered with a documented body, e.g. ((503, ReadinessResponse),)
    extra_responses: tuple[tuple[int, Any], ...] = ()

    def __iter__(self) -> Iterator[Any]:
        """Unpack as ``(path, handler, [method])`` like a RouteSpec."""
        yield self.path
        yield self.endpoint()
        yield [self.method]

    @property
    def rate_group(self) -> Group:
        if self.group is not None:
            return self.group
        return route_group(self.method, self.path)

    @property
    def openapi_path(self) -> str:
        return _PATH_PARAM.sub(r"{\1}", self.path)

    def path_params(self) -> list[str]:
        return _PATH_PARAM.findall(self.path)

    def endpoint(self) -> Callable[[Request], Awaitable[Response]]:
        """The Starlette endpoint: encodes data answers, turns a rule change the full rule store
        could not keep (any rule service) into 503 and any other exception into a bare 500."""
        handler, model, status = self.handler, self.response, self.status
        encoder = msgspec.json.Encoder()

        async def run(request: Request) -> Response:
            try:
                result = await handler(request)
                if isinstance(result, Response):
                    return result
                data = msgspec.convert(result, model) if model is not None else result
                return Response(encoder.encode(data), status_code=status, media_type="application/json")
            except RuleNotPersistedError as exc:
                return error(503, "SERVICE_UNAVAILABLE", str(exc))
            except Exception:
                log.exception("REST handler failed", path=request.url.path, method=request.method)
                return error(500, "INTERNAL_ERROR", "internal error")

        run.__name__ = getattr(handler, "__name__", "endpoint")
        return run


def route_group(method: str, path: str) -> Group:
    """The rate-limit group of a route (contract §2.0) from its method and path."""
    if path in ("/healthz", "/readyz"):
        return "public"
    if path == "/metrics":
        return "metrics"
    if path.startswith(("/api-docs", "/swagger-ui")):
        return "docs"
    if path == "/api/v1/threatintel/feeds/refresh":  # a POST in the read group (contract §2.2)
        return "read"
    return "write" if method.upper() in WRITE_METHODS else "read"


# Documentation of routes that modules still register as RouteSpec tuples (their handlers answer
# with their own Responses; the models describe those answers).
KNOWN_ROUTES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/firewall/l7-rules"): {
        "summary": "Create an L7 rule (persisted, audited, applied to the next payload)",
        "tag": "firewall",
        "request": m.CreateL7RuleRequest,
        "response": m.L7RuleResponse,
        "status": 201,
        "errors": (400, 409, 503),
    },
    ("DELETE", "/api/v1/firewall/l7-rules/{id}"): {
        "summary": "Delete an L7 rule",
        "tag": "firewall",
        "status": 204,
        "errors": (404, 503),
    },
    ("POST", "/api/v1/threatintel/feeds/refresh"): {
        "summary": "Fetch every enabled feed now (feed_id is accepted and ignored)",
        "tag": "threatintel",
        "request": m.FeedRefreshRequest,
        "request_required": False,
        "response": m.StatusMessage,
        "errors": (400, 403, 503),  # a read-group POST that still needs a non-viewer role
    },
}


def from_route_spec(spec: Any) -> Endpoint:
    """An Endpoint for ``spec`` (an Endpoint already, or a ``(path, handler, methods)`` tuple)."""
    if isinstance(spec, Endpoint):
        return spec
    path, handler, methods = spec
    method = methods[0] if methods else "GET"
    known = KNOWN_ROUTES.get((method.upper(), path))
    if known is not None:
        return Endpoint(method.upper(), path, handler, **known)
    name = getattr(handler, "__name__", "handler").replace("_", " ")
    return Endpoint(
        method=method.upper(),
        path=path,
        handler=handler,
        summary=name,
        tag=_tag_of(path),
        errors=(400, 403, 404, 409, 503),
        documented=False,
    )


def expand(specs: list[Any]) -> list[Endpoint]:
    """Endpoints of ``specs``; a RouteSpec with several methods becomes one Endpoint per method."""
    out: list[Endpoint] = []
    for spec in specs:
        if isinstance(spec, Endpoint):
            out.append(spec)
            continue
        path, handler, methods = spec
        for method in methods or ["GET"]:
            out.append(from_route_spec((path, handler, [method])))
    return out


def _tag_of(path: str) -> str:
    parts = path.split("/")
    return parts[3] if len(parts) > 3 and path.startswith("/api/v1/") else "agent"


async def decode_body(request: Request, model: type[T], optional: bool = False) -> T:
    """The JSON body (≤64 KiB) decoded into ``model``; BadRequestError otherwise.

    ``optional``: an empty body decodes as ``{}``.
    """
    body = await read_body(request)
    if optional and not body.strip():
        body = b"{}"
    try:
        return msgspec.json.decode(body, type=model)
    except msgspec.ValidationError as exc:
        raise BadRequestError(str(exc)) from None
    except msgspec.DecodeError:
        raise BadRequestError("request body is not valid JSON") from None


def set_fields(struct: msgspec.Struct) -> dict[str, Any]:
    """The fields of a decoded request that were given (not None), as a plain dict."""
    return {k: v for k, v in msgspec.structs.asdict(struct).items() if v is not None}
