"""RateLimitRuleService: API changes are validated as a set, stored, audited, then applied; a
reload keeps them on top of the new YAML and audits each YAML rule that changed."""

import pytest

from sentinel_application.ratelimit_rules import (
    DuplicateRateLimitRuleError,
    RateLimitRuleNotFoundError,
    RateLimitRuleService,
    RateLimitSettings,
)
from sentinel_domain.ratelimit import RateLimitError, RateLimitPolicySet
from sentinel_ports.audit_log import AuditAction
from sentinel_testkit.fakes.audit_log import InMemoryAuditLog
from sentinel_testkit.fakes.rule_store import InMemoryRuleStore

YAML = ({"id": "web", "rate": 100, "burst": 200, "src_ip": "10.0.0.0/8"},)


def service(
    store: InMemoryRuleStore, audit: InMemoryAuditLog, applied: list[RateLimitPolicySet]
) -> RateLimitRuleService:
    svc = RateLimitRuleService(RateLimitSettings(yaml_rules=YAML), applied.append, lambda: 7, store, audit)
    svc.install()
    return svc


def ids(policies: RateLimitPolicySet) -> list[str]:
    return [p.id for p in policies.rules]


def test_create_and_delete_persist_audit_and_apply() -> None:
    store, audit, applied = InMemoryRuleStore(), InMemoryAuditLog(), []
    svc = service(store, audit, applied)
    created = svc.create({"id": "ssh", "rate": 5, "burst": 10, "src_ip": "192.0.2.0/24"})
    assert created.id == "ssh" and ids(applied[-1]) == ["web", "ssh"] and svc.policies is applied[-1]
    stored = store.all("ratelimit")[0]
    assert stored.rule_id == "ssh" and stored.rule == created.to_dict()  # its normalised form
    svc.delete("web")
    assert ids(applied[-1]) == ["ssh"] and [r.id for r in svc.rules()] == ["ssh"]
    assert [c.action for c in audit.history("ssh")] == [AuditAction.RULE_ADDED]
    removed = audit.history("web")
    assert [c.action for c in removed] == [AuditAction.RULE_REMOVED] and removed[0].before is not None


def test_refusals_change_nothing() -> None:
    store, audit, applied = InMemoryRuleStore(), InMemoryAuditLog(), []
    svc = service(store, audit, applied)
    with pytest.raises(DuplicateRateLimitRuleError):
        svc.create({"id": "web", "rate": 1, "burst": 1, "src_ip": "192.0.2.0/24"})
    with pytest.raises(RateLimitError):
        svc.create({"id": "bad", "rate": -1, "burst": 1})
    with pytest.raises(RateLimitRuleNotFoundError):
        svc.delete("nope")
    assert len(applied) == 1 and store.all("ratelimit") == [] and audit.history("web") == []


def test_a_reload_keeps_api_changes_and_audits_yaml_changes() -> None:
    store, audit, applied = InMemoryRuleStore(), InMemoryAuditLog(), []
    svc = service(store, audit, applied)
    svc.create({"id": "ssh", "rate": 5, "burst": 10, "src_ip": "192.0.2.0/24"})
    new_yaml = ({"id": "web", "rate": 50, "burst": 200, "src_ip": "10.0.0.0/8"},)
    svc.reconfigure(RateLimitSettings(yaml_rules=new_yaml))
    assert ids(applied[-1]) == ["web", "ssh"] and applied[-1].rule("web").rate == 50  # type: ignore[union-attr]
    assert [(c.action, c.actor) for c in audit.history("web")] == [
        (AuditAction.RULE_UPDATED, "config_reload")
    ]
