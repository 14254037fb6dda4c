"""``POST /api/v1/firewall/l7-rules`` and ``DELETE /api/v1/firewall/l7-rules/{id}`` (contract §2.2, §2.3).

The body is a ``CreateL7RuleRequest`` (flat matcher fields; the API accepts only the protocols
http tls grpc smtp ftp smb and a single integer ``dst_port``). Rules are validated like the YAML
ones, persisted and audited by the runtime's L7RuleService, and the L7 engine is swapped in a
worker thread; the next captured payload is judged by the new set. The list (GET) is in
:mod:`sentinel_agent.rest.detection`.
"""

import asyncio
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from sentinel_agent.rest import models as m
from sentinel_agent.rest._common import MAX_ID, BadRequestError, error, unavailable
from sentinel_agent.rest.registry import Endpoint, decode_body, set_fields
from sentinel_application.l7_rules import DuplicateL7RuleError, L7RuleNotFoundError, L7RuleService
from sentinel_domain.common import DomainError
from sentinel_domain.l7 import rule_to_dict


class CreateL7RuleRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An L7 rule (contract §2.3): ``protocol`` one of http tls grpc smtp ftp smb; matcher fields
    ``method path host content_type`` (http), ``sni`` (tls), ``service grpc_method`` (grpc),
    ``command`` (smtp, ftp), ``smb_command is_smb2`` (smb); ``dst_port`` a single port."""

    id: m.Id
    priority: int
    action: m.Short
    protocol: m.Short
    method: m.Short | None = None
    path: m.Text | None = None
    host: m.Text | None = None
    content_type: m.Text | None = None
    sni: m.Text | None = None
    service: m.Text | None = None
    grpc_method: m.Text | None = None
    command: m.Short | None = None
    smb_command: int | None = None
    is_smb2: bool | None = None
    src_ip: m.Text | None = None
    dst_ip: m.Text | None = None
    dst_port: m.Port | None = None
    enabled: bool | None = None


def l7_routes(runtime: Any) -> list[Endpoint]:
    missing = "the L7 rule service (agent not started)"

    def service() -> L7RuleService | None:
        return getattr(runtime, "l7_rules", None)

    async def create(request: Request) -> Any:
        rules = service()
        if rules is None:
            return unavailable(missing)
        try:
            body = set_fields(await decode_body(request, CreateL7RuleRequest))
            if body.get("dst_port") == 0:
                raise BadRequestError("dst_port 0 out of range 1-65535")
            rule = await asyncio.get_running_loop().run_in_executor(None, rules.create, body)
        except DuplicateL7RuleError as exc:
            return error(409, "DUPLICATE_RULE", str(exc))
        except (BadRequestError, DomainError) as exc:
            return error(400, "VALIDATION_ERROR", str(exc))
        return rule_to_dict(rule)

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
        Endpoint(
            "POST",
            "/api/v1/firewall/l7-rules",
            create,
            "Create an L7 firewall rule (persisted, audited, in force for the next captured payload)",
            "firewall",
            m.L7RuleResponse,
            status=201,
            request=CreateL7RuleRequest,
            errors=(400, 409, 503),
        ),
        Endpoint(
            "DELETE",
            "/api/v1/firewall/l7-rules/{id}",
            delete,
            "Delete an L7 firewall rule",
            "firewall",
            status=204,
            errors=(404, 503),
        ),
    ]
