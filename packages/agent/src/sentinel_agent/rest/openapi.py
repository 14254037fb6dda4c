"""The OpenAPI 3.1 document, generated from the endpoint registry, and the bundled Swagger UI.

Served only when ``agent.swagger_ui`` is true (contract §1.1): ``GET /api-docs/openapi.json`` and
``GET /swagger-ui``. The UI's assets come from the ``swagger_ui_bundle`` package (no CDN: it works
offline). That bundle (Swagger UI 4.15) renders OpenAPI 3.0 only, so the page loads a 3.0
rendering of the same document from ``/api-docs/openapi-3.0.json`` (deviation, docs/deviations.md).
"""

import copy
import re
from pathlib import Path
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from sentinel_agent.rest import models as m
from sentinel_agent.rest._common import error
from sentinel_agent.rest.registry import Endpoint

ERROR_TEXT = {
    400: "Invalid request (VALIDATION_ERROR, INVALID_CONFIG, INVALID_SEVERITY, INVALID_PATTERN, "
    "IPS_BLACKLIST_ERROR)",
    401: "Authentication required (AUTHENTICATION_REQUIRED)",
    403: "Forbidden (INSUFFICIENT_ROLE, NAMESPACE_FORBIDDEN, PERMISSION_DENIED)",
    404: "Not found (RULE_NOT_FOUND, ALERT_NOT_FOUND, IPS_BLACKLIST_ENTRY_NOT_FOUND, PATTERN_NOT_FOUND, "
    "SERVICE_NOT_AVAILABLE, ...)",
    409: "Conflict (DUPLICATE_RULE)",
    500: "Internal error (INTERNAL_ERROR; no details)",
    503: "Service unavailable (SERVICE_UNAVAILABLE)",
}
SUCCESS_TEXT = {200: "OK", 201: "Created", 204: "No content"}
SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}
# Auth is optional (auth.enabled false): either credential, or none.
SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"apiKeyAuth": []}, {}]
RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait (≥1)", "schema": {"type": "integer", "minimum": 1}}
}
DEFAULT_PATH_LIMIT = 256


def _operation_id(endpoint: Endpoint) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", "_", endpoint.openapi_path.removeprefix("/api/v1")).strip("_")
    return f"{endpoint.method.lower()}_{words or 'root'}"


def openapi_document(endpoints: list[Endpoint], version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``endpoints`` (component schemas from msgspec)."""
    types: list[Any] = [m.ErrorBody]
    for ep in endpoints:
        for model in (ep.request, ep.response, *(model for _, model in ep.extra_responses)):
            if model is not None and model not in types:
                types.append(model)
    schemas, components = msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")

    def schema(model: Any) -> dict[str, Any]:
        return copy.deepcopy(schemas[types.index(model)])

    for name, component in components.items():  # request bodies refuse unknown fields
        model = getattr(m, name, None)
        if isinstance(model, type) and issubclass(model, m._Request):
            component["additionalProperties"] = False
    error_schema = schema(m.ErrorBody)
    paths: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        paths.setdefault(ep.openapi_path, {})[ep.method.lower()] = _operation(ep, schema, error_schema)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "eBPFsentinel agent API",
            "version": version,
            "description": "REST API of the eBPFsentinel agent (see docs/api.md). Errors are "
            '`{"error": {"code", "message"}}`.',
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": SECURITY_SCHEMES},
        "tags": [{"name": t} for t in sorted({ep.tag for ep in endpoints})],
    }


def _operation(ep: Endpoint, schema: Any, error_schema: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": _operation_id(ep), "summary": ep.summary, "tags": [ep.tag]}
    if ep.description:
        op["description"] = ep.description
    if not ep.documented:
        op["description"] = "Registered without a schema: request and response are not described."
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "maxLength": ep.path_limits.get(name, DEFAULT_PATH_LIMIT)},
        }
        for name in ep.path_params()
    ]
    for p in ep.params:
        item: dict[str, Any] = {"name": p.name, "in": p.where, "required": p.required, "schema": p.schema}
        if p.description:
            item["description"] = p.description
        parameters.append(item)
    if parameters:
        op["parameters"] = parameters
    if ep.request is not None:
        op["requestBody"] = {
            "required": ep.request_required,
            "content": {"application/json": {"schema": schema(ep.request)}},
        }
    elif not ep.documented and ep.method in ("POST", "PUT", "PATCH"):
        op["requestBody"] = {"required": False, "content": {"application/json": {"schema": {}}}}
    responses: dict[str, Any] = {}
    success: dict[str, Any] = {"description": SUCCESS_TEXT.get(ep.status, "OK")}
    if ep.response is not None:
        success["content"] = {ep.media_type: {"schema": schema(ep.response)}}
    elif ep.media_type != "application/json":
        success["content"] = {ep.media_type: {"schema": {"type": "string"}}}
    elif not ep.documented:
        success["content"] = {"application/json": {"schema": {}}}
        responses["2XX"] = success
    if "2XX" not in responses:
        responses[str(ep.status)] = success
    statuses = set(ep.errors) | {500}
    if parameters or ep.request is not None or not ep.documented:
        statuses.add(400)
    api = ep.path.startswith("/api/v1/") or ep.path == "/metrics"
    if api:
        statuses.add(401)
        op["security"] = SECURITY
    if ep.rate_group == "write":
        statuses.add(403)  # a viewer's credentials (auth on)
    for status, model in ep.extra_responses:
        responses[str(status)] = {
            "description": ERROR_TEXT.get(status, "see schema"),
            "content": {"application/json": {"schema": schema(model)}},
        }
    for status in sorted(statuses):
        if str(status) in responses:
            continue
        responses[str(status)] = {
            "description": ERROR_TEXT.get(status, "error"),
            "content": {"application/json": {"schema": error_schema}},
        }
    if ep.rate_group in ("read", "write", "metrics"):
        responses["429"] = {
            "description": "Too many requests from this client address",
            "headers": RETRY_AFTER,
            "content": {"text/plain": {"schema": {"type": "string", "const": "Too Many Requests"}}},
        }
    op["responses"] = dict(sorted(responses.items()))
    return op


def downgrade_to_30(document: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI 3.0.3 rendering of a 3.1 document for the bundled Swagger UI (4.15 reads 3.0
    only): ``{"type": "null"}`` alternatives become ``nullable``, ``const`` an enum, ``examples``
    one ``example``."""

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(v) for v in node]
        if not isinstance(node, dict):
            return node
        out = {k: walk(v) for k, v in node.items()}
        for key in ("anyOf", "oneOf"):
            options = out.get(key)
            if isinstance(options, list) and {"type": "null"} in options:
                rest = [o for o in options if o != {"type": "null"}]
                del out[key]
                if len(rest) == 1 and "$ref" not in rest[0]:
                    out.update(rest[0])
                else:
                    out["allOf" if len(rest) == 1 else key] = rest
                out["nullable"] = True
        if "const" in out:
            out["enum"] = [out.pop("const")]
        if isinstance(out.get("examples"), list) and "schema" not in node and "type" in out:
            examples = out.pop("examples")
            if examples:
                out["example"] = examples[0]
        if out.get("required") == [] and "properties" in out:  # 3.0: required needs ≥1 item
            del out["required"]
        if out.get("type") == "null":
            out.pop("type")
            out["nullable"] = True
        return out

    converted: dict[str, Any] = walk(document)
    converted["openapi"] = "3.0.3"
    return converted


# -- Swagger UI --------------------------------------------------------------------------------
def _assets_dir() -> Path:
    from swagger_ui_bundle import swagger_ui_path  # imported lazily: only when swagger_ui is on

    return Path(str(swagger_ui_path))


ASSETS = frozenset(
    {
        "swagger-ui.css",
        "index.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "favicon-32x32.png",
        "favicon-16x16.png",
        "oauth2-redirect.html",
    }
)
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'"
)
PAGE = """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>eBPFsentinel API</title>
    <link rel="stylesheet" type="text/css" href="/swagger-ui/swagger-ui.css" />
    <link rel="stylesheet" type="text/css" href="/swagger-ui/index.css" />
    <link rel="icon" type="image/png" href="/swagger-ui/favicon-32x32.png" sizes="32x32" />
    <link rel="icon" type="image/png" href="/swagger-ui/favicon-16x16.png" sizes="16x16" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/swagger-ui/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="/swagger-ui/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="/swagger-ui/swagger-initializer.js" charset="UTF-8"></script>
  </body>
</html>
"""
INITIALIZER = """window.onload = function() {
  window.ui = SwaggerUIBundle({
    url: "/api-docs/openapi-3.0.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout"
  });
};
"""


def docs_endpoints(document: Any) -> list[Endpoint]:
    """The document and Swagger UI routes; ``document()`` returns the 3.1 document (built lazily,
    once the registry is complete)."""
    cache: dict[str, bytes] = {}

    def encoded(key: str) -> bytes:
        if key not in cache:
            doc = document()
            cache[key] = msgspec.json.encode(doc if key == "3.1" else downgrade_to_30(doc))
        return cache[key]

    async def openapi_json(_: Request) -> Response:
        return Response(encoded("3.1"), media_type="application/json")

    async def openapi_30(_: Request) -> Response:
        return Response(encoded("3.0"), media_type="application/json")

    async def page(_: Request) -> Response:
        return Response(PAGE, media_type="text/html", headers={"Content-Security-Policy": PAGE_CSP})

    async def asset(request: Request) -> Response:
        name = request.path_params["asset"]
        headers = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "max-age=3600"}
        if name == "swagger-initializer.js":
            return Response(INITIALIZER, media_type="application/javascript", headers=headers)
        if name not in ASSETS:
            return error(404, "NOT_FOUND", f"no asset '{name[:64]}'")
        return FileResponse(_assets_dir() / name, headers=headers)

    schema_doc = dict[str, Any]
    return [
        Endpoint(
            "GET", "/api-docs/openapi.json", openapi_json, "This OpenAPI 3.1 document", "docs", schema_doc
        ),
        Endpoint(
            "GET",
            "/api-docs/openapi-3.0.json",
            openapi_30,
            "The same document as OpenAPI 3.0.3 (for the bundled Swagger UI)",
            "docs",
            schema_doc,
        ),
        Endpoint("GET", "/swagger-ui", page, "Swagger UI", "docs", media_type="text/html"),
        Endpoint(
            "GET",
            "/swagger-ui/{asset}",
            asset,
            "Swagger UI assets (bundled, served locally)",
            "docs",
            media_type="application/octet-stream",
            errors=(404,),
            path_limits={"asset": 64},
        ),
    ]
