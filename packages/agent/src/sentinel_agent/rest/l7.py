"""``POST /api/v1/firewall/l7-rules`` and ``DELETE /api/v1/firewall/l7-rules/{id}`` (contract §2.2, §2.3).

The body is a ``CreateL7RuleRequest`` (flat matcher fields; the API accepts only the protocols
http tls grpc smtp ftp smb and a single integer ``dst_port``). Rules are validated like the YAML
ones, persisted and audited by the runtime's L7RuleService, and the L7 engine is swapped in a
worker thread; the next captured payload is judged by the new set. The list (GET) is in
:mod:`sentinel_agent.rest.detection`.
"""

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sentinel_agent.rest._common import (
    MAX_ID,
    MAX_SHORT,
    MAX_TEXT,
    BadRequestError,
    RouteSpec,
    error,
    read_object,
    text_field,
    unavailable,
)
from sentinel_application.l7_rules import DuplicateL7RuleError, L7RuleNotFoundError, L7RuleService
from sentinel_domain.common import DomainError
from sentinel_domain.l7 import rule_to_dict

CREATE_FIELDS = frozenset(
    {
        "id",
        "priority",
        "action",
        "protocol",
        "method",
        "path",
        "host",
        "content_type",
        "sni",
        "service",
        "grpc_method",
        "command",
        "smb_command",
        "is_smb2",
        "src_ip",
        "dst_ip",
        "dst_port",
        "enabled",
    }
)
LIMITS = {
    "id": MAX_ID,
    "action": MAX_SHORT,
    "protocol": MAX_SHORT,
    "method": MAX_SHORT,
    "command": MAX_SHORT,
    "path": MAX_TEXT,
    "host": MAX_TEXT,
    "content_type": MAX_TEXT,
    "sni": MAX_TEXT,
    "service": MAX_TEXT,
    "grpc_method": MAX_TEXT,
    "src_ip": MAX_TEXT,
    "dst_ip": MAX_TEXT,
}
REQUIRED = ("id", "priority", "action", "protocol")


def _create_request(data: dict[str, Any]) -> dict[str, Any]:
    for key in REQUIRED:
        if data.get(key) is None:
            raise BadRequestError(f"{key} is required")
    for key, limit in LIMITS.items():
        text_field(data, key, limit)
    for key in ("priority", "dst_port", "smb_command"):
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise BadRequestError(f"{key} must be an integer")
    port = data.get("dst_port")
    if port is not None and not 0 < port <= 65535:
        raise BadRequestError(f"dst_port {port} out of range 1-65535")
    return {k: v for k, v in data.items() if v is not None}


def l7_routes(runtime: Any) -> list[RouteSpec]:
    missing = "the L7 rule service (agent not started)"

    def service() -> L7RuleService | None:
        return getattr(runtime, "l7_rules", None)

    async def create(request: Request) -> Response:
        rules = service()
        if rules is None:
            return unavailable(missing)
        try:
            body = _create_request(await read_object(request, CREATE_FIELDS))
            rule = await asyncio.get_running_loop().run_in_executor(None, rules.create, body)
        except DuplicateL7RuleError as exc:
            return error(409, "DUPLICATE_RULE", str(exc))
        except (BadRequestError, DomainError) as exc:
            return error(400, "VALIDATION_ERROR", str(exc))
        return JSONResponse(rule_to_dict(rule), status_code=201)

    async def delete(request: Request) -> Response:
        rules = service()
        if rules is None:
            return unavailable(missing)
        rule_id = request.path_params["id"][:MAX_ID]
        try:
            await asyncio.get_running_loop().run_in_executor(None, rules.delete, rule_id)
        except L7RuleNotFoundError as exc:
            return error(404, "RULE_NOT_FOUND", str(exc))
        return Response(status_code=204)

    return [
        ("/api/v1/firewall/l7-rules", create, ["POST"]),
        ("/api/v1/firewall/l7-rules/{id}", delete, ["DELETE"]),
    ]
