"""AlertSpool contract, run against the LMDB spool (durable) and the in-memory fake."""

from pathlib import Path

from sentinel_adapters.alerting.lmdb_spool import LmdbAlertSpool
from sentinel_ports.alert_spool import AlertSpool
from sentinel_testkit.contracts.alert_spool import AlertSpoolContract, DurableAlertSpoolContract
from sentinel_testkit.fakes.alert_spool import InMemoryAlertSpool


class TestInMemoryAlertSpool(AlertSpoolContract):
    @staticmethod
    def make_spool(path: Path, max_per_destination: int) -> AlertSpool:
        return InMemoryAlertSpool(max_per_destination)


class TestLmdbAlertSpool(DurableAlertSpoolContract):
    @staticmethod
    def make_spool(path: Path, max_per_destination: int) -> AlertSpool:
        return LmdbAlertSpool.open(path, max_per_destination, map_size=8 * 1024 * 1024)
