"""FirewallRuleService: API changes are validated, persisted, audited and survive reloads."""

import pytest

from sentinel_application.firewall_rules import (
    DuplicateRuleError,
    FirewallRuleService,
    FirewallSettings,
    RuleNotFoundError,
    SystemRuleError,
)
from sentinel_application.rule_persistence import RuleNotPersistedError
from sentinel_domain.firewall import FirewallPolicy, FirewallRuleError, anti_lockout_rules
from sentinel_ports.audit_log import AuditAction
from sentinel_testkit.fakes.audit_log import InMemoryAuditLog
from sentinel_testkit.fakes.rule_store import InMemoryRuleStore

YAML = ({"id": "yaml-1", "priority": 20, "action": "deny", "protocol": "udp"},)


def service(
    store: InMemoryRuleStore,
    audit: InMemoryAuditLog,
    applied: list[FirewallPolicy],
    yaml: tuple[dict[str, object], ...] = YAML,
) -> FirewallRuleService:
    settings = FirewallSettings(system_rules=tuple(anti_lockout_rules([22])), yaml_rules=yaml)
    svc = FirewallRuleService(settings, applied.append, lambda: 1_000, store, audit)
    svc.install()
    return svc


def ids(policy: FirewallPolicy) -> list[str]:
    return [r.id for r in policy.rules]


def test_create_and_delete_persist_audit_and_apply() -> None:
    store, audit, applied = InMemoryRuleStore(), InMemoryAuditLog(), []
    svc = service(store, audit, applied)
    svc.create({"id": "api-1", "priority": 5, "action": "deny", "src_ip": "198.18.0.9"})
    assert ids(applied[-1]) == ["anti-lockout-22", "api-1", "yaml-1"]
    svc.delete("yaml-1")
    assert ids(applied[-1]) == ["anti-lockout-22", "api-1"]
    # A fresh service over the same store (a restart) sees both changes.
    restarted: list[FirewallPolicy] = []
    service(store, audit, restarted)
    assert ids(restarted[-1]) == ["anti-lockout-22", "api-1"]
    history = audit.history("yaml-1")
    assert [c.action for c in history] == [AuditAction.RULE_REMOVED]
    assert '"protocol": "udp"' in (history[0].before or "")


def test_refusals_change_nothing() -> None:
    store, audit, applied = InMemoryRuleStore(), InMemoryAuditLog(), []
    svc = service(store, audit, applied)
    with pytest.raises(DuplicateRuleError):
        svc.create({"id": "yaml-1", "priority": 5, "action": "deny"})
    with pytest.raises(FirewallRuleError, match="prefix length must be 0-32"):
        svc.create({"id": "x", "priority": 5, "action": "deny", "src_ip": "10.0.0.0/33"})
    with pytest.raises(SystemRuleError):
        svc.delete("anti-lockout-22")
    with pytest.raises(RuleNotFoundError):
        svc.delete("missing")
    assert len(applied) == 1 and store.all("firewall") == [] and audit.count() == 0


def test_the_rules_kept_in_memory_stay_those_of_the_store() -> None:
    """The service reads its stored rules once; after any mix of changes a restarted service,
    which reads them from the store, runs the same rules."""
    store, audit, applied = InMemoryRuleStore(), InMemoryAuditLog(), []
    svc = service(store, audit, applied)
    for n in range(6):
        svc.create({"id": f"api-{n}", "priority": 30 + n, "action": "deny", "src_ip": f"198.18.0.{n}"})
    svc.delete("api-2")
    svc.delete("yaml-1")
    svc.create({"id": "api-2", "priority": 3, "action": "allow"})
    restarted: list[FirewallPolicy] = []
    service(store, audit, restarted)
    assert ids(restarted[-1]) == ids(svc.policy)
    assert restarted[-1].rules == svc.policy.rules


def test_a_change_the_full_store_cannot_keep_is_not_made() -> None:
    """Applied but not persisted, a change would vanish at the next restart: it is refused."""
    store, audit, applied = InMemoryRuleStore(), InMemoryAuditLog(), []
    svc = service(store, audit, applied)
    store.full = True
    with pytest.raises(RuleNotPersistedError, match="storage is full"):
        svc.create({"id": "api-1", "priority": 5, "action": "deny", "src_ip": "198.18.0.9"})
    with pytest.raises(RuleNotPersistedError, match="storage is full"):
        svc.delete("yaml-1")
    assert len(applied) == 1 and ids(svc.policy) == ["anti-lockout-22", "yaml-1"]
    assert store.all("firewall") == [] and audit.count() == 0
    store.full = False  # room again: the same change goes through
    svc.create({"id": "api-1", "priority": 5, "action": "deny", "src_ip": "198.18.0.9"})
    assert ids(applied[-1]) == ["anti-lockout-22", "api-1", "yaml-1"]


def test_a_reload_keeps_api_changes_on_top_of_the_new_yaml() -> None:
    store, audit, applied = InMemoryRuleStore(), InMemoryAuditLog(), []
    svc = service(store, audit, applied)
    svc.create({"id": "api-1", "priority": 5, "action": "log"})
    new_yaml = ({"id": "yaml-2", "priority": 30, "action": "allow"},)
    svc.reconfigure(FirewallSettings(system_rules=tuple(anti_lockout_rules([22])), yaml_rules=new_yaml))
    assert ids(applied[-1]) == ["anti-lockout-22", "api-1", "yaml-2"]


def test_a_reload_audits_each_yaml_change_as_config_reload() -> None:
    store, audit, applied = InMemoryRuleStore(), InMemoryAuditLog(), []
    svc = service(
        store,
        audit,
        applied,
        yaml=(
            {"id": "keep", "priority": 1, "action": "allow"},
            {"id": "change", "priority": 2, "action": "deny"},
            {"id": "drop", "priority": 3, "action": "log"},
        ),
    )
    svc.reconfigure(
        FirewallSettings(
            system_rules=tuple(anti_lockout_rules([22])),
            yaml_rules=(
                {"id": "keep", "priority": 1, "action": "allow"},
                {"id": "change", "priority": 2, "action": "log"},
                {"id": "new", "priority": 4, "action": "deny"},
            ),
        )
    )
    changes = {rid: audit.history(rid) for rid in ("keep", "change", "drop", "new")}
    assert changes["keep"] == []
    assert [(c.action, c.actor) for c in changes["change"]] == [(AuditAction.RULE_UPDATED, "config_reload")]
    assert [c.action for c in changes["drop"]] == [AuditAction.RULE_REMOVED]
    assert [c.action for c in changes["new"]] == [AuditAction.RULE_ADDED]
