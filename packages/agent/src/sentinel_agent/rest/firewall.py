"""``/api/v1/firewall/rules`` and ``/api/v1/audit/*`` (contract §2.2, §2.3).

Writes run in a worker thread (the kernel maps are rewritten atomically, which takes tens of
milliseconds), so the event loop keeps answering.
"""

import asyncio
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sentinel_agent.rest import models as m
from sentinel_agent.rest._common import MAX_ID, BadRequestError, error
from sentinel_agent.rest.registry import Endpoint, Param, decode_body, int_param, set_fields, str_param
from sentinel_application.firewall_rules import (
    DuplicateRuleError,
    FirewallRuleService,
    RuleNotFoundError,
    SystemRuleError,
)
from sentinel_domain.common import DomainError
from sentinel_ports.audit_log import AuditAction, AuditLog, AuditQuery


def _create_request(data: m.CreateRuleRequest) -> dict[str, Any]:
    """The contract's CreateRuleRequest as the service's dict (fields given only)."""
    if data.src_mac is not None or data.dst_mac is not None:
        raise ValueError("MAC conditions are not supported by this agent")
    return set_fields(data)


def firewall_routes(service: Callable[[], FirewallRuleService | None]) -> list[Endpoint]:
    async def list_rules(_: Request) -> Any:
        rules = service()
        if rules is None:
            return error(503, "SERVICE_UNAVAILABLE", "the firewall is not loaded")
        return [rule.to_dict() for rule in rules.rules()]

    async def create_rule(request: Request) -> Any:
        rules = service()
        if rules is None:
            return error(503, "SERVICE_UNAVAILABLE", "the firewall is not loaded")
        try:
            body = _create_request(await decode_body(request, m.CreateRuleRequest))
            loop = asyncio.get_running_loop()
            created = await loop.run_in_executor(None, rules.create, body)
        except DuplicateRuleError as exc:
            return error(409, "DUPLICATE_RULE", str(exc))
        except (DomainError, ValueError) as exc:  # BadRequestError is a ValueError
            return error(400, "VALIDATION_ERROR", str(exc))
        return created.to_dict()

    async def delete_rule(request: Request) -> Response:
        rules = service()
        if rules is None:
            return error(503, "SERVICE_UNAVAILABLE", "the firewall is not loaded")
        rule_id = request.path_params["id"][:MAX_ID]
        try:
            await asyncio.get_running_loop().run_in_executor(None, rules.delete, rule_id)
        except SystemRuleError as exc:
            return error(403, "PERMISSION_DENIED", str(exc))
        except RuleNotFoundError as exc:
            return error(404, "RULE_NOT_FOUND", str(exc))
        return Response(status_code=204)

    return [
        Endpoint(
            "GET",
            "/api/v1/firewall/rules",
            list_rules,
            "Firewall rules in force, by priority (system rules included)",
            "firewall",
            list[m.RuleResponse],
            errors=(503,),
        ),
        Endpoint(
            "POST",
            "/api/v1/firewall/rules",
            create_rule,
            "Create a firewall rule (persisted, audited, applied atomically)",
            "firewall",
            m.RuleResponse,
            status=201,
            request=m.CreateRuleRequest,
            errors=(400, 403, 409, 503),
        ),
        Endpoint(
            "DELETE",
            "/api/v1/firewall/rules/{id}",
            delete_rule,
            "Delete a firewall rule (system rules are refused)",
            "firewall",
            status=204,
            errors=(403, 404, 503),
        ),
    ]


def _first_word(address: Any) -> int:
    """The first 32-bit word of an address (the IPv4 address itself); 0 when absent."""
    if address is None:
        return 0
    return int(address) >> 96 if address.version == 6 else int(address)


def _entry(entry: Any) -> dict[str, Any]:
    return {
        "timestamp_ns": entry.timestamp_ns,
        "component": entry.component,
        "action": entry.action.value,
        "src_ip": _first_word(entry.src),
        "dst_ip": _first_word(entry.dst),
        "src_port": entry.src_port,
        "dst_port": entry.dst_port,
        "protocol": entry.protocol,
        "rule_id": entry.rule_id,
        "detail": entry.detail,
    }


def _int(params: Any, name: str, default: int | None, high: int) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 20 or int(raw) > high:
        raise BadRequestError(f"'{name}' must be an integer between 0 and {high}")
    return int(raw)


def audit_routes(audit: AuditLog | None) -> list[Endpoint]:
    async def logs(request: Request) -> Any:
        if audit is None:
            return error(503, "SERVICE_UNAVAILABLE", "audit storage is not available")
        params = request.query_params
        try:
            raw_action = params.get("action")
            try:
                action = AuditAction(raw_action) if raw_action else None
            except ValueError:
                raise BadRequestError(f"unknown audit action '{(raw_action or '')[:40]}'") from None
            for text in ("component", "rule_id"):
                if len(params.get(text) or "") > MAX_ID:
                    raise BadRequestError(f"'{text}' is longer than {MAX_ID} characters")
            query = AuditQuery(
                from_ns=_int(params, "from", None, U64),
                to_ns=_int(params, "to", None, U64),
                component=params.get("component"),
                action=action,
                rule_id=params.get("rule_id"),
                limit=_int(params, "limit", 100, 1000) or 0,
                offset=_int(params, "offset", 0, MAX_OFFSET) or 0,
            )
        except BadRequestError as exc:
            return error(400, "VALIDATION_ERROR", str(exc))
        page = audit.query(query)
        return {
            "entries": [_entry(e) for e in page.entries],
            "total": page.total,
            "limit": query.limit,
            "offset": query.offset,
        }

    async def history(request: Request) -> Any:
        if audit is None:
            return error(503, "SERVICE_UNAVAILABLE", "audit storage is not available")
        rule_id = request.path_params["id"][:MAX_ID]
        try:
            limit = _int(request.query_params, "limit", 50, 500) or 0
        except BadRequestError as exc:
            return error(400, "VALIDATION_ERROR", str(exc))
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
        return {"rule_id": rule_id, "entries": entries}

    return [
        Endpoint(
            "GET",
            "/api/v1/audit/logs",
            logs,
            "Audit entries (security decisions and rule changes)",
            "audit",
            m.AuditPage,
            errors=(400, 503),
            params=(
                int_param("from", "from this timestamp (ns since the epoch)", 0, U64),
                int_param("to", "up to this timestamp (ns since the epoch)", 0, U64),
                str_param("component", "only this component"),
                Param(
                    "action", {"type": "string", "enum": [a.value for a in AuditAction]}, "only this action"
                ),
                str_param("rule_id", "only this rule"),
                int_param("limit", "page size", 0, 1000, 100),
                int_param("offset", "entries to skip", 0, MAX_OFFSET, 0),
            ),
        ),
        Endpoint(
            "GET",
            "/api/v1/audit/rules/{id}/history",
            history,
            "Versions of one rule (before/after JSON), newest first",
            "audit",
            m.RuleHistoryResponse,
            errors=(400, 503),
            params=(int_param("limit", "versions to return", 0, 500, 50),),
        ),
    ]


U64 = 2**64 - 1
MAX_OFFSET = 10**19 - 1
