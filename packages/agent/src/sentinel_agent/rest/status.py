"""Agent identity, eBPF program status, the sanitized configuration and MITRE coverage
(contract §2.2: ``/agent/identity``, ``/ebpf/status``, ``/config``, ``/mitre/coverage``)."""

import socket
import time
from typing import Any

import msgspec
from starlette.requests import Request

from sentinel_agent.rest import models as m
from sentinel_agent.rest.registry import Endpoint
from sentinel_domain.alert.mitre import ATTACK_VERSION, coverage
from sentinel_infrastructure.config.alerting import MASK, masked_alerting

# Keys whose values are secrets wherever they appear (auth.api_keys[].key is handled by path:
# "key" alone is too common a name to mask everywhere).
SECRET_KEYS = frozenset(
    {"password", "api_key_salt", "key_path", "auth_header", "secret", "webhook_hmac_secret", "token"}
)


def _mask_secrets(node: Any) -> Any:
    """A copy of ``node`` with every SECRET_KEYS value (when set) replaced by ``***``."""
    if isinstance(node, dict):
        return {
            k: MASK if k in SECRET_KEYS and v not in (None, "") else _mask_secrets(v) for k, v in node.items()
        }
    if isinstance(node, list):
        return [_mask_secrets(v) for v in node]
    return node


def sanitized_config(config: Any) -> dict[str, Any]:
    """The running config as JSON data with secrets masked (contract §2.2 ``GET /config``):
    api key ``key``, salt, TLS key path, SMTP password, feed ``auth_header`` and webhook/OTLP
    header values become ``***``; ``enterprise`` is never echoed back."""
    data: dict[str, Any] = msgspec.to_builtins(config)
    data.pop("enterprise", None)
    data["alerting"] = masked_alerting(config.alerting)
    auth = data.get("auth")
    if isinstance(auth, dict):
        for entry in auth.get("api_keys") or []:
            if isinstance(entry, dict) and "key" in entry:
                entry["key"] = MASK
    return {k: _mask_secrets(v) for k, v in data.items()}


def _identity(runtime: Any) -> dict[str, Any]:
    management = runtime.loaded.config.management or {}
    body: dict[str, Any] = {
        "version": runtime.version,
        "hostname": socket.gethostname(),
        "uptime_seconds": int(time.monotonic() - runtime.started_at),
        "operator_managed": bool(management.get("operator_managed", False)),
    }
    endpoint = management.get("operator_endpoint")
    if isinstance(endpoint, str) and endpoint:
        body["operator_endpoint"] = endpoint
    return body


def _ebpf_status(runtime: Any) -> dict[str, Any]:
    programs, blocked = [], []
    for state in runtime.programs.values():
        programs.append({"name": state.name, "loaded": bool(state.loaded)})
        if state.error:  # a load failure blocks the program on every interface
            reason = state.error.splitlines()[0] if state.error else ""
            blocked.append({"program": state.name, "interface": "*", "reason": reason, "nested_xdp": False})
        for entry in state.attach_blocked:
            blocked.append(
                {
                    "program": entry.get("program", state.name),
                    "interface": entry.get("interface", ""),
                    "reason": entry.get("reason", ""),
                    # this agent never stacks XDP programs (no libxdp dispatcher): never nested
                    "nested_xdp": False,
                }
            )
    return {"programs": programs, "attach_blocked": blocked}


def mitre_coverage() -> dict[str, Any]:
    """Every (component, technique) pair the agent reports, and the techniques per tactic."""
    techniques, seen = [], set()
    by_tactic: dict[str, tuple[set[str], set[str]]] = {}
    for row in coverage():
        if (row.component, row.technique_id) in seen:
            continue
        seen.add((row.component, row.technique_id))
        techniques.append(row._asdict())
        ids, components = by_tactic.setdefault(row.tactic, (set(), set()))
        ids.add(row.technique_id)
        components.add(row.component)
    return {
        "attack_version": ATTACK_VERSION,
        "total_techniques": len({t["technique_id"] for t in techniques}),
        "techniques": techniques,
        "by_tactic": [
            {"tactic": tactic, "covered_techniques": len(ids), "components": sorted(components)}
            for tactic, (ids, components) in sorted(by_tactic.items())
        ],
    }


def status_routes(runtime: Any) -> list[Endpoint]:
    async def identity(_: Request) -> Any:
        return _identity(runtime)

    async def ebpf_status(_: Request) -> Any:
        return _ebpf_status(runtime)

    async def config(_: Request) -> Any:
        return sanitized_config(runtime.loaded.config)

    report = msgspec.convert(mitre_coverage(), m.MitreCoverageResponse)  # static: computed once

    async def mitre(_: Request) -> Any:
        return report

    return [
        Endpoint(
            "GET",
            "/api/v1/agent/identity",
            identity,
            "Version, host and management",
            "agent",
            m.IdentityResponse,
        ),
        Endpoint(
            "GET",
            "/api/v1/ebpf/status",
            ebpf_status,
            "eBPF programs and blocked attachments",
            "agent",
            m.EbpfStatusResponse,
        ),
        Endpoint(
            "GET",
            "/api/v1/config",
            config,
            "The running configuration, secrets masked as ***",
            "agent",
            m.SanitizedConfig,
        ),
        Endpoint(
            "GET",
            "/api/v1/mitre/coverage",
            mitre,
            "MITRE ATT&CK techniques the agent reports",
            "mitre",
            m.MitreCoverageResponse,
        ),
    ]
