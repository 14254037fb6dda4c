"""L7RuleService: API changes are validated, persisted, audited, swapped into the engine and
survive reloads and restarts; the shared RuleChanges helper audits YAML diffs."""

import ipaddress

import pytest

from sentinel_application.l7_rules import (
    DuplicateL7RuleError,
    L7RuleNotFoundError,
    L7RuleService,
    L7Settings,
)
from sentinel_domain.common import PacketHeader, Protocol
from sentinel_domain.l7 import L7Engine, L7RuleError
from sentinel_ports.audit_log import AuditAction
from sentinel_testkit.fakes.audit_log import InMemoryAuditLog
from sentinel_testkit.fakes.rule_store import InMemoryRuleStore

YAML = ({"id": "yaml-tls", "priority": 20, "action": "deny", "protocol": "tls", "sni": "*.bad.example"},)
ADMIN = {"id": "api-admin", "priority": 5, "action": "deny", "protocol": "http", "path": "/admin"}
PACKET = PacketHeader(
    src=ipaddress.ip_address("10.0.0.1"),
    dst=ipaddress.ip_address("10.0.0.2"),
    src_port=40000,
    dst_port=80,
    protocol=Protocol.TCP,
)


def service(
    store: InMemoryRuleStore, audit: InMemoryAuditLog, applied: list[L7Engine], yaml: tuple = YAML
) -> L7RuleService:
    svc = L7RuleService(L7Settings(yaml), applied.append, lambda: 7, store, audit)
    svc.install()
    return svc


def ids(engine: L7Engine) -> list[str]:
    return [r.id for r in engine.rules]


def blocked(engine: L7Engine, request: bytes) -> list[str]:
    return [d.rule_id for d in engine.inspect(request, PACKET).decisions if d.alert is not None]


def test_create_swaps_the_engine_and_delete_restores_it() -> None:
    store, audit, applied = InMemoryRuleStore(), InMemoryAuditLog(), []
    svc = service(store, audit, applied)
    request = b"GET /admin/panel HTTP/1.1\r\nHost: a\r\n\r\n"
    assert blocked(applied[-1], request) == []
    created = svc.create(ADMIN)
    assert created.id == "api-admin" and ids(applied[-1]) == ["api-admin", "yaml-tls"]
    assert blocked(applied[-1], request) == ["api-admin"]
    svc.delete("api-admin")
    assert blocked(applied[-1], request) == [] and ids(svc.engine) == ["yaml-tls"]
    history = audit.history("api-admin")
    assert [c.action for c in history] == [AuditAction.RULE_REMOVED, AuditAction.RULE_ADDED]
    assert (
        history[1].component == "l7" and history[1].actor == "api" and '"/admin"' in (history[1].after or "")
    )


def test_api_changes_survive_restart_and_reload() -> None:
    store, audit, applied = InMemoryRuleStore(), InMemoryAuditLog(), []
    svc = service(store, audit, applied)
    svc.create(ADMIN)
    svc.delete("yaml-tls")  # a YAML rule deleted through the API stays deleted
    restarted: list[L7Engine] = []
    again = service(store, audit, restarted)
    assert ids(restarted[-1]) == ["api-admin"]
    new_yaml = ({"id": "yaml-new", "priority": 30, "action": "log", "protocol": "smtp", "command": "VRFY"},)
    again.reconfigure(L7Settings((*YAML, *new_yaml)))
    assert ids(restarted[-1]) == ["api-admin", "yaml-new"]
    reload_entry = audit.history("yaml-new")[0]
    assert reload_entry.action is AuditAction.RULE_ADDED and reload_entry.actor == "config_reload"


def test_refusals_change_nothing() -> None:
    store, audit, applied = InMemoryRuleStore(), InMemoryAuditLog(), []
    svc = service(store, audit, applied)
    with pytest.raises(DuplicateL7RuleError):
        svc.create({**ADMIN, "id": "yaml-tls"})
    with pytest.raises(L7RuleError, match="do not apply to protocol 'http'"):
        svc.create({**ADMIN, "sni": "x.example"})
    with pytest.raises(L7RuleError, match="protocol"):
        svc.create({**ADMIN, "protocol": "ssh"})
    with pytest.raises(L7RuleNotFoundError):
        svc.delete("nope")
    assert len(applied) == 1 and store.all("l7") == [] and audit.history("yaml-tls") == []
