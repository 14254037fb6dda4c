"""Storage adapters: alerts, persisted rules and the audit trail in one LMDB environment.

Build one :class:`LmdbEnvironment` per data directory and hand it to each store::

    env = LmdbEnvironment(data_dir / "lmdb", on_storage_full=raise_one_alert)
    alerts, rules, audit = LmdbAlertStore(env), LmdbRuleStore(env), LmdbAuditLog(env)
    ...
    env.close()
"""

from sentinel_adapters.storage.codec import CodecError, alert_from_dict, encode_alert
from sentinel_adapters.storage.lmdb_alert_store import LmdbAlertStore
from sentinel_adapters.storage.lmdb_audit_log import LmdbAuditLog
from sentinel_adapters.storage.lmdb_env import DATABASES, LmdbEnvironment, StorageError
from sentinel_adapters.storage.lmdb_rule_store import LmdbRuleStore

__all__ = [
    "DATABASES",
    "CodecError",
    "LmdbAlertStore",
    "LmdbAuditLog",
    "LmdbEnvironment",
    "LmdbRuleStore",
    "StorageError",
    "alert_from_dict",
    "encode_alert",
]
