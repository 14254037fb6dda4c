"""LMDB alert store: batched appends/s by batch size, query times over 50,000 alerts (printed only)."""

import ipaddress
import random
import tempfile
import time

from sentinel_adapters.storage import LmdbAlertStore
from sentinel_domain.alert import Alert, AlertAction, Component, alert_id
from sentinel_domain.common import MitreRef, Severity
from sentinel_ports.alert_store import AlertQuery

T0, N = 1_700_000_000_000_000_000, 50_000
MITRE = [None, MitreRef("T1110.001", "Password Guessing", "credential-access")]


def alerts(rng: random.Random) -> list[Alert]:
    return [
        Alert(
            alert_id(T0 + i * 1000, f"fw-{i % 7}", i),
            T0 + i * 1000,
            rng.choice(list(Component)),
            rng.choice(list(Severity)),
            f"fw-{i % 7}",
            AlertAction.BLOCK,
            ipaddress.ip_address(f"198.18.0.{i % 250}"),
            ipaddress.ip_address("10.0.0.1"),
            1234,
            22,
            6,
            f"blocked by fw-{i % 7}",
            mitre=rng.choice(MITRE),
        )
        for i in range(N)
    ]


data = alerts(random.Random(1))
for batch in (10, 100, 1000):
    with tempfile.TemporaryDirectory() as directory:
        store = LmdbAlertStore.open(directory)  # default durability: sync on, metasync off
        count = N if batch >= 100 else 5_000
        start = time.perf_counter()
        for i in range(0, count, batch):
            store.append(data[i : i + batch])
        print(f"append, {batch:>4} per transaction: {count / (time.perf_counter() - start):>9,.0f} alerts/s")
        if batch == 1000:
            for name, query in [
                ("newest 100", AlertQuery()),
                ("no match (full scan)", AlertQuery(component="x")),
                ("ids >= high", AlertQuery(component="ids", min_severity=Severity.HIGH)),
                ("last page", AlertQuery(limit=1000, offset=N - 1000)),
            ]:
                start = time.perf_counter()
                store.query(query)
                print(f"query {name:<22} {1000 * (time.perf_counter() - start):7.1f} ms")
        store.close()
