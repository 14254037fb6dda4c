"""``/api/v1/firewall/rules`` and ``/api/v1/audit/*`` (contract §2.2, §2.3).

Writes run in a worker thread (the kernel maps are rewritten atomically, which takes tens of
milliseconds), so the event loop keeps answering.
"""

import asyncio
import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sentinel_application.firewall_rules import (
    DuplicateRuleError,
    FirewallRuleService,
    RuleNotFoundError,
    SystemRuleError,
)
from sentinel_domain.common import DomainError
from sentinel_ports.audit_log import AuditAction, AuditLog, AuditQuery

MAX_BODY = 64 * 1024
CREATE_FIELDS = frozenset(
    [
        "id",
        "priority",
        "action",
        "protocol",
        "src_ip",
        "dst_ip",
        "src_port",
        "dst_port",
        "scope",
        "enabled",
        "vlan_id",
        "src_mac",
        "dst_mac",
    ]
)


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def read_json(request: Request) -> Any:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise ValueError(f"request body larger than {MAX_BODY} bytes")
    try:
        return json.loads(body or b"null")
    except ValueError:
        raise ValueError("request body is not valid JSON") from None


def _create_request(data: Any) -> dict[str, Any]:
    """The contract's CreateRuleRequest: single-integer ports, a scope string, known fields only."""
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    unknown = sorted(set(data) - CREATE_FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    for key in ("src_port", "dst_port"):
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"{key} must be a single integer port")
    for key in ("id", "action", "protocol", "scope"):
        value = data.get(key)
        if isinstance(value, str) and len(value) > 256:
            raise ValueError(f"{key} is longer than 256 characters")
    if data.get("src_mac") is not None or data.get("dst_mac") is not None:
        raise ValueError("MAC conditions are not supported by this agent")
    return {k: v for k, v in data.items() if v is not None}


def firewall_routes(service: Callable[[], FirewallRuleService | None]) -> list[tuple[str, Any, list[str]]]:
    async def list_rules(_: Request) -> Response:
        rules = service()
        if rules is None:
            return error(503, "SERVICE_UNAVAILABLE", "the firewall is not loaded")
        return JSONResponse([rule.to_dict() for rule in rules.rules()])

    async def create_rule(request: Request) -> Response:
        rules = service()
        if rules is None:
            return error(503, "SERVICE_UNAVAILABLE", "the firewall is not loaded")
        try:
            body = _create_request(await read_json(request))
            loop = asyncio.get_running_loop()
            created = await loop.run_in_executor(None, rules.create, body)
        except DuplicateRuleError as exc:
            return error(409, "DUPLICATE_RULE", str(exc))
        except (DomainError, ValueError) as exc:
            return error(400, "VALIDATION_ERROR", str(exc))
        return JSONResponse(created.to_dict(), status_code=201)

    async def delete_rule(request: Request) -> Response:
        rules = service()
        if rules is None:
            return error(503, "SERVICE_UNAVAILABLE", "the firewall is not loaded")
        rule_id = request.path_params["id"][:256]
        try:
            await asyncio.get_running_loop().run_in_executor(None, rules.delete, rule_id)
        except SystemRuleError as exc:
            return error(403, "PERMISSION_DENIED", str(exc))
        except RuleNotFoundError as exc:
            return error(404, "RULE_NOT_FOUND", str(exc))
        return Response(status_code=204)

    return [
        ("/api/v1/firewall/rules", list_rules, ["GET"]),
        ("/api/v1/firewall/rules", create_rule, ["POST"]),
        ("/api/v1/firewall/rules/{id}", delete_rule, ["DELETE"]),
    ]


def _entry(entry: Any) -> dict[str, Any]:
    out = {
        k: getattr(entry, k) for k in ("timestamp_ns", "component", "rule_id", "detail") if hasattr(entry, k)
    }
    out["action"] = entry.action.value
    return out


def audit_routes(audit: AuditLog | None) -> list[tuple[str, Any, list[str]]]:
    async def logs(request: Request) -> Response:
        if audit is None:
            return error(503, "SERVICE_UNAVAILABLE", "audit storage is not available")
        params = request.query_params
        try:
            action = AuditAction(params["action"]) if params.get("action") else None
            limit = int(params.get("limit", "100"))
            offset = int(params.get("offset", "0"))
            if not 0 <= limit <= 1000 or offset < 0:
                raise ValueError("limit must be 0-1000 and offset >= 0")
            query = AuditQuery(
                from_ns=int(params["from"]) if params.get("from") else None,
                to_ns=int(params["to"]) if params.get("to") else None,
                component=params.get("component"),
                action=action,
                rule_id=params.get("rule_id"),
                limit=limit,
                offset=offset,
            )
        except ValueError as exc:
            return error(400, "VALIDATION_ERROR", str(exc))
        page = audit.query(query)
        return JSONResponse(
            {
                "entries": [_entry(e) for e in page.entries],
                "total": page.total,
                "limit": query.limit,
                "offset": query.offset,
            }
        )

    async def history(request: Request) -> Response:
        if audit is None:
            return error(503, "SERVICE_UNAVAILABLE", "audit storage is not available")
        rule_id = request.path_params["id"][:256]
        try:
            limit = int(request.query_params.get("limit", "50"))
        except ValueError:
            return error(400, "VALIDATION_ERROR", "limit must be an integer")
        if not 0 <= limit <= 500:
            return error(400, "VALIDATION_ERROR", "limit must be 0-500")
        changes = audit.history(rule_id, limit)
        entries = []
        for change in changes:
            item: dict[str, Any] = {
                "version": change.version,
                "timestamp_ns": change.timestamp_ns,
                "component": change.component,
                "action": change.action.value,
                "actor": change.actor,
            }
            if change.before is not None:
                item["before"] = change.before
            if change.after is not None:
                item["after"] = change.after
            entries.append(item)
        return JSONResponse({"rule_id": rule_id, "entries": entries})

    return [
        ("/api/v1/audit/logs", logs, ["GET"]),
        ("/api/v1/audit/rules/{id}/history", history, ["GET"]),
    ]
