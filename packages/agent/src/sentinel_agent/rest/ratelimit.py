"""``/api/v1/ratelimit/rules`` (contract §2.2, §7.2): list, create, delete.

Rules are validated exactly like the YAML ones (deviation 7: a rule's ``src_ip`` is an IPv4 or
IPv6 CIDR), persisted and audited by RateLimitRuleService, and applied to the kernel as a whole
new policy set in a worker thread.
"""

import asyncio
import threading
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sentinel_agent.rest import models as m
from sentinel_agent.rest._common import MAX_ID, BadRequestError, error, unavailable
from sentinel_agent.rest.registry import Endpoint, decode_body, set_fields
from sentinel_application.ratelimit_rules import (
    DuplicateRateLimitRuleError,
    RateLimitRuleNotFoundError,
    RateLimitRuleService,
    RateLimitSettings,
)
from sentinel_domain.common import DomainError
from sentinel_domain.ratelimit import RateLimitPolicy


def rule_body(rule: RateLimitPolicy) -> dict[str, Any]:
    """``{id, rate, burst, action, algorithm, src_ip, enabled}``; a host prefix prints bare."""
    src = rule.src
    return {
        "id": rule.id,
        "rate": rule.rate,
        "burst": rule.burst,
        "action": rule.action.label,
        "algorithm": rule.algorithm.label,
        "src_ip": (str(src.network_address) if src.prefixlen == src.max_prefixlen else str(src))
        if src
        else None,
        "enabled": rule.enabled,
    }


class _ServiceHolder:
    """The runtime's RateLimitRuleService, or one built on first use over ``runtime.ratelimit``
    (until the runtime owns one, so that start-up and reloads also apply the API's rules)."""

    def __init__(self, runtime: Any) -> None:
        self._runtime = runtime
        self._own: RateLimitRuleService | None = None
        self._lock = threading.Lock()

    def get(self) -> RateLimitRuleService | None:
        wired = getattr(self._runtime, "ratelimit_rules", None)
        if wired is not None:
            return wired  # type: ignore[no-any-return]
        kernel = self._runtime.ratelimit
        if kernel is None:
            return None
        with self._lock:
            if self._own is None:
                self._own = RateLimitRuleService(
                    RateLimitSettings.from_policies(self._runtime.loaded.ratelimit_policies),
                    kernel.apply,
                    time.time_ns,
                    self._runtime.rule_store,
                    self._runtime.audit,
                )
            return self._own


def ratelimit_routes(runtime: Any) -> list[Endpoint]:
    holder = _ServiceHolder(runtime)
    missing = "the rate limiter (ratelimit.enabled with xdp_ratelimit loaded)"

    async def list_rules(_: Request) -> Any:
        service = holder.get()
        if service is None:
            return []
        return [rule_body(r) for r in service.rules()]

    async def create(request: Request) -> Any:
        service = holder.get()
        if service is None:
            return unavailable(missing)
        try:
            body = set_fields(await decode_body(request, m.CreateRateLimitRuleRequest))
            rule = await asyncio.get_running_loop().run_in_executor(None, service.create, body)
        except DuplicateRateLimitRuleError as exc:
            return error(409, "DUPLICATE_RULE", str(exc))
        except (BadRequestError, DomainError) as exc:
            return error(400, "VALIDATION_ERROR", str(exc))
        return rule_body(rule)

    async def delete(request: Request) -> Response:
        service = holder.get()
        if service is None:
            return unavailable(missing)
        rule_id = request.path_params["id"][:MAX_ID]
        try:
            await asyncio.get_running_loop().run_in_executor(None, service.delete, rule_id)
        except RateLimitRuleNotFoundError as exc:
            return error(404, "RULE_NOT_FOUND", str(exc))
        return Response(status_code=204)

    return [
        Endpoint(
            "GET",
            "/api/v1/ratelimit/rules",
            list_rules,
            "Rate-limit rules in force",
            "ratelimit",
            list[m.RateLimitRuleResponse],
        ),
        Endpoint(
            "POST",
            "/api/v1/ratelimit/rules",
            create,
            "Create a rate-limit rule (persisted, audited, applied to the kernel)",
            "ratelimit",
            m.RateLimitRuleResponse,
            status=201,
            request=m.CreateRateLimitRuleRequest,
            errors=(400, 409, 503),
        ),
        Endpoint(
            "DELETE",
            "/api/v1/ratelimit/rules/{id}",
            delete,
            "Delete a rate-limit rule",
            "ratelimit",
            status=204,
            errors=(404, 503),
        ),
    ]
