"""``/api/v1/ips/*`` (contract §2.2): rules, the blacklist (kernel-enforced through the
IpsEnforcer) and the blacklist entries that came from DNS intelligence.

Blacklist writes run in a worker thread: the enforcer serialises them with the detection
consumer and rewrites kernel map entries.
"""

import asyncio
import dataclasses
import ipaddress
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sentinel_agent.detection import build_ids_engine
from sentinel_agent.rest import models as m
from sentinel_agent.rest._common import MAX_ID, MAX_TEXT, BadRequestError, error, unavailable
from sentinel_agent.rest.registry import Endpoint, decode_body
from sentinel_domain.common import IpAddress, IpNetwork
from sentinel_domain.ids import IdsRule, RuleMode
from sentinel_domain.ips import BlacklistEntry, BlacklistRefusedError, IpsError, NotBlacklistedError

DOMAIN_SOURCES = (("dns-blocklist: ", "dns-blocklist"), ("reputation: ", "reputation"))


def rule_body(rule: IdsRule, default_mode: str) -> dict[str, Any]:
    """IdsRuleResponse / IpsRuleResponse fields shared by both (contract §2.3)."""
    body: dict[str, Any] = {
        "id": rule.id,
        "description": rule.description,
        "severity": rule.severity.label,
        "mode": rule.mode.value if rule.mode is not None else default_mode,
        "protocol": rule.protocol.label,
        "pattern": rule.pattern.decode("utf-8", "replace") if rule.pattern is not None else "",
        "enabled": rule.enabled,
    }
    if rule.dst_port is not None:
        body["dst_port"] = rule.dst_port
    return body


def parse_target(text: str) -> IpAddress | IpNetwork:
    """An address (``10.0.0.1``, ``2001:db8::1``) or a network (``10.0.0.0/24``)."""
    try:
        if "/" in text:
            return ipaddress.ip_network(text, strict=False)
        return ipaddress.ip_address(text)
    except ValueError:
        raise BadRequestError(f"invalid IP address '{text}'") from None


def entry_body(entry: BlacklistEntry, now: float) -> dict[str, Any]:
    return {
        "ip": str(entry.addr_or_net),
        "reason": entry.reason,
        "auto_generated": entry.auto_generated,
        "ttl_remaining_secs": entry.ttl_remaining(now),
    }


def domain_block(entry: BlacklistEntry, now: float) -> dict[str, Any] | None:
    """The ``/ips/domain-blocks`` view of an entry, or None when DNS did not cause it."""
    for prefix, source in DOMAIN_SOURCES:
        if entry.reason.startswith(prefix):
            return {
                "ip": str(entry.addr_or_net),
                "domain": entry.reason[len(prefix) :],
                "source": source,
                "reason": entry.reason,
                "ttl_remaining_secs": entry.ttl_remaining(now),
            }
    return None


def with_rule_mode(runtime: Any, rule_id: str, mode: RuleMode) -> IdsRule | None:
    """Set one IPS rule's mode: the running configuration's rule set is replaced and, when the
    IDS engine runs, a new engine is built from it and swapped in (the prefilter keys do not
    depend on the mode). None when no IPS rule has that id. Lasts until the next reload."""
    loaded = runtime.loaded
    rules = loaded.detection
    if rules is None:
        return None
    position = next((i for i, r in enumerate(rules.prevention_rules) if r.id == rule_id), None)
    if position is None:
        return None
    changed: IdsRule = dataclasses.replace(rules.prevention_rules[position], mode=mode)
    prevention = (*rules.prevention_rules[:position], changed, *rules.prevention_rules[position + 1 :])
    new_rules = dataclasses.replace(rules, prevention_rules=prevention)
    if runtime.detection.ids_engine is not None:
        runtime.detection.ids_engine = build_ids_engine(new_rules)
    runtime.loaded = dataclasses.replace(loaded, detection=new_rules)
    return changed


def ips_routes(runtime: Any) -> list[Endpoint]:
    patching = asyncio.Lock()

    def enforcer() -> Any:
        return runtime.detection.ips

    def default_mode() -> str:
        mode = runtime.loaded.config.ips.mode.strip().lower()
        return RuleMode.BLOCK.value if mode in ("block", "enforce") else RuleMode.ALERT.value

    async def list_rules(_: Request) -> Any:
        rules = runtime.loaded.detection
        default = default_mode()
        return [rule_body(r, default) for r in rules.prevention_rules] if rules else []

    async def patch_rule(request: Request) -> Any:
        rule_id = request.path_params["id"][:MAX_ID]
        try:
            mode = RuleMode((await decode_body(request, m.IpsRulePatch)).mode)
        except BadRequestError as exc:
            return error(400, "VALIDATION_ERROR", str(exc))
        async with patching:  # one rebuild at a time
            changed = await asyncio.get_running_loop().run_in_executor(
                None, with_rule_mode, runtime, rule_id, mode
            )
        if changed is None:
            return error(404, "IPS_RULE_NOT_FOUND", f"no IPS rule with id '{rule_id}'")
        return rule_body(changed, default_mode())

    async def list_blacklist(_: Request) -> Any:
        ips = enforcer()
        if ips is None:
            return []
        entries = await asyncio.get_running_loop().run_in_executor(None, ips.entries)
        now = time.time()
        return [entry_body(e, now) for e in entries]

    async def domain_blocks(_: Request) -> Any:
        """Blacklist entries with a DNS reason, plus the addresses the DNS service itself blocks
        in the kernel for blocklisted or low-reputation domains (it does not go through the IPS)."""
        loop = asyncio.get_running_loop()
        found: list[dict[str, Any]] = []
        ips, dns = enforcer(), getattr(runtime.detection, "dns", None)
        if ips is not None:
            entries = await loop.run_in_executor(None, ips.entries)
            now = time.time()
            found += [b for b in (domain_block(e, now) for e in entries) if b is not None]
        if dns is not None:
            for ip, domain, source, left in await loop.run_in_executor(None, dns.domain_blocks):
                reason = f"{source}: {domain}"
                found.append(
                    {
                        "ip": str(ip),
                        "domain": domain,
                        "source": source,
                        "reason": reason,
                        "ttl_remaining_secs": left,
                    }
                )
        return found

    async def add(request: Request) -> Any:
        ips = enforcer()
        if ips is None:
            return unavailable("the IPS (ips.enabled with the firewall loaded)")
        try:
            data = await decode_body(request, m.BlacklistRequest)
            target = parse_target(data.ip)
            loop = asyncio.get_running_loop()
            entry = await loop.run_in_executor(None, ips.add_manual, target, data.ttl_secs, data.reason)
        except BlacklistRefusedError as exc:
            return error(400, "IPS_BLACKLIST_ERROR", str(exc))
        except (BadRequestError, IpsError) as exc:
            return error(400, "VALIDATION_ERROR", str(exc))
        body = entry_body(entry, time.time())
        del body["auto_generated"]
        return body

    async def remove(request: Request) -> Response:
        ips = enforcer()
        if ips is None:
            return unavailable("the IPS (ips.enabled with the firewall loaded)")
        try:
            target = parse_target(request.path_params["ip"][:MAX_TEXT])
            await asyncio.get_running_loop().run_in_executor(None, ips.remove, target)
        except BadRequestError as exc:
            return error(400, "VALIDATION_ERROR", str(exc))
        except NotBlacklistedError as exc:
            return error(404, "IPS_BLACKLIST_ENTRY_NOT_FOUND", str(exc))
        return Response(status_code=204)

    return [
        Endpoint("GET", "/api/v1/ips/rules", list_rules, "IPS rules", "ips", list[m.IpsRuleResponse]),
        Endpoint(
            "PATCH",
            "/api/v1/ips/rules/{id}",
            patch_rule,
            "Set an IPS rule's mode (alert or block) until the next reload",
            "ips",
            m.IpsRuleResponse,
            request=m.IpsRulePatch,
            errors=(400, 404),
        ),
        Endpoint(
            "GET",
            "/api/v1/ips/blacklist",
            list_blacklist,
            "Blacklisted addresses and networks",
            "ips",
            list[m.BlacklistEntryResponse],
        ),
        Endpoint(
            "POST",
            "/api/v1/ips/blacklist",
            add,
            "Blacklist an address or network (enforced in the kernel)",
            "ips",
            m.BlacklistAddedResponse,
            status=201,
            request=m.BlacklistRequest,
            errors=(400, 503),
        ),
        Endpoint(
            "DELETE",
            "/api/v1/ips/blacklist/{ip:path}",
            remove,
            "Remove a blacklist entry (an address, or a network as a.b.c.d/len)",
            "ips",
            status=204,
            errors=(400, 404, 503),
            path_limits={"ip": MAX_TEXT},
        ),
        Endpoint(
            "GET",
            "/api/v1/ips/domain-blocks",
            domain_blocks,
            "Blacklist entries caused by DNS intelligence",
            "ips",
            list[m.DomainBlockResponse],
        ),
    ]
