"""AlertStore, RuleStore and AuditLog contracts, run against LMDB and the in-memory fakes."""

from sentinel_adapters.storage import LmdbAlertStore, LmdbAuditLog, LmdbRuleStore
from sentinel_testkit.contracts.alert_store import AlertStoreContract
from sentinel_testkit.contracts.audit_log import AuditLogContract
from sentinel_testkit.contracts.rule_store import RuleStoreContract
from sentinel_testkit.fakes.alert_store import InMemoryAlertStore
from sentinel_testkit.fakes.audit_log import InMemoryAuditLog
from sentinel_testkit.fakes.rule_store import InMemoryRuleStore


class TestLmdbAlertStore(AlertStoreContract):
    make_alert_store = staticmethod(LmdbAlertStore.open)


class TestInMemoryAlertStore(AlertStoreContract):
    make_alert_store = staticmethod(lambda directory: InMemoryAlertStore())


class TestLmdbRuleStore(RuleStoreContract):
    make_rule_store = staticmethod(LmdbRuleStore.open)


class TestInMemoryRuleStore(RuleStoreContract):
    make_rule_store = staticmethod(lambda directory: InMemoryRuleStore())


class TestLmdbAuditLog(AuditLogContract):
    make_audit_log = staticmethod(LmdbAuditLog.open)


class TestInMemoryAuditLog(AuditLogContract):
    make_audit_log = staticmethod(lambda directory: InMemoryAuditLog())
