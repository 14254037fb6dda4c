"""The whole pipeline from a YAML ``alerting`` section to four real destinations at once, with a
dead one beside them; and a spool whose LMDB map fills up.

    publish ─> recorders ─> router ─> LMDB spool ─┬─> EVE file (tmp)
                                                  ├─> SMTP   127.0.0.1 (aiosmtpd)
                                                  ├─> webhook 127.0.0.1 (HMAC)
                                                  ├─> OTLP/HTTP 127.0.0.1
                                                  └─> webhook 127.0.0.1:<closed port>  (dead)
"""

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import msgspec
from ruamel.yaml import YAML

from integration.fixtures.alerting.harness import run_pipeline, until
from integration.fixtures.alerting.receivers import (
    HttpReceiver,
    SmtpReceiver,
    free_port,
    mail_alerts,
    otlp_records,
    webhook_alerts,
)
from sentinel_adapters.alerting.factory import AlertingAdapters
from sentinel_application.alerting import AlertPipeline
from sentinel_application.alerting.metrics import ALERTS_EXPORTED, ALERTS_TOTAL, CIRCUIT_STATE, SPOOL_DEPTH
from sentinel_domain.alert import Component
from sentinel_domain.common import Severity
from sentinel_infrastructure.config.alerting import AlertingSection, alerting_issues
from sentinel_testkit.contracts.alert_spool import sample_alert
from sentinel_testkit.fakes.alert_sink import InMemoryAlertSink

CONFIG = """
alerting:
  dedup_window_secs: 60
  throttle_window_secs: 60
  throttle_max: 100
  log_file: {tmp}/eve.json
  smtp: {{host: 127.0.0.1, port: {smtp}, from_address: sentinel@example.org, tls: false,
          batch_interval_secs: 0.2}}
  otlp: {{endpoint: 'http://127.0.0.1:{otlp}/v1/logs', batch_interval_secs: 0.1}}
  webhook: {{allow_networks: [127.0.0.0/8]}}
  spool: {{path: {tmp}/spool, map_size_mb: 16}}
  retry: {{initial_backoff_ms: 10, max_backoff_ms: 100}}
  circuit_breaker: {{failure_threshold: 2, open_secs: 0.2}}
  routes:
    - {{name: eve, destination: log, min_severity: low}}
    - {{name: mail, destination: email, min_severity: high, email_to: soc@example.org}}
    - {{name: ids-hook, destination: webhook, min_severity: low, event_types: [ids],
        webhook_url: 'http://127.0.0.1:{hook}/in', webhook_hmac_secret: 0123456789abcdef}}
    - {{name: credential-otlp, destination: otlp, min_severity: low, tactics: [credential-access]}}
    - {{name: dead-hook, destination: webhook, min_severity: low, webhook_url: 'http://127.0.0.1:{dead}/'}}
"""


def load(text: str) -> AlertingSection:
    section = msgspec.convert(YAML(typ="safe").load(text)["alerting"], AlertingSection, strict=True)
    assert alerting_issues(section) == []
    return section


def test_one_stream_reaches_every_destination_by_its_filters_while_one_is_dead(tmp_path: Path) -> None:
    alerts = [replace(sample_alert(i), component=(Component.IDS, Component.DNS)[i % 2]) for i in range(20)]
    alerts += [alerts[0]] * 3  # duplicates: recorded, not notified
    store = InMemoryAlertSink()
    with HttpReceiver() as hook, HttpReceiver() as otlp, SmtpReceiver() as smtp:
        config = load(
            CONFIG.format(tmp=tmp_path, smtp=smtp.port, otlp=otlp.port, hook=hook.port, dead=free_port())
        )

        async def body(p: AlertPipeline, _: AlertingAdapters) -> None:
            for a in alerts:
                p.publish(a)
            live = ("eve", "mail", "ids-hook", "credential-otlp")
            await until(lambda: all(s.depth == 0 and s.delivered for s in p.status() if s.route in live))
            await until(lambda: p.metrics.value(CIRCUIT_STATE, destination="webhook") == 2)

        p = run_pipeline(config, body, tmp_path, recorders=[store])
        eve = [
            json.loads(line)["ebpfsentinel"]["id"]
            for line in (tmp_path / "eve.json").read_text().splitlines()
        ]
        mails = [a["id"] for m in smtp.received() for a in mail_alerts(m)]
        hooks = [a["id"] for a in webhook_alerts(hook.delivered())]
        records = [r["ebpfsentinel.alert.id"] for r in otlp_records(otlp.delivered())]
    unique = alerts[:20]
    assert store.alerts == alerts and p.metrics.value(ALERTS_TOTAL) == 23
    assert p.metrics.dropped()["dedup"] == 3
    assert eve == [a.id for a in unique]
    assert mails == [a.id for a in unique if a.severity >= Severity.HIGH]
    assert hooks == [a.id for a in unique if a.component is Component.IDS]
    assert sorted(records) == sorted(a.id for a in unique if a.mitre is not None)
    dead = next(s for s in p.status() if s.route == "dead-hook")
    assert dead.delivered == 0 and dead.depth == 20 and "ConnectError" in dead.last_error
    assert p.metrics.value(SPOOL_DEPTH, destination="webhook") == 20
    assert p.metrics.value(ALERTS_EXPORTED, destination="log") == 20


def test_a_full_lmdb_map_drops_the_oldest_counted_and_keeps_delivering(tmp_path: Path) -> None:
    port = free_port()
    config = load(
        f"""
alerting:
  dedup_window_secs: 0
  throttle_window_secs: 0
  webhook: {{allow_networks: [127.0.0.0/8]}}
  spool: {{path: {tmp_path}/spool, map_size_mb: 1}}
  retry: {{initial_backoff_ms: 10, max_backoff_ms: 50}}
  circuit_breaker: {{failure_threshold: 2, open_secs: 0.1}}
  routes: [{{name: hook, destination: webhook, min_severity: low, webhook_url: 'http://127.0.0.1:{port}/'}}]
"""
    )
    big = [sample_alert(i, message="x" * 60_000) for i in range(40)]  # far more than 1 MiB in total
    received: list[dict[str, Any]] = []

    async def body(p: AlertPipeline, _: AlertingAdapters) -> None:
        for a in big:
            p.publish(a)
            await p.flush()  # one spool write per alert, as a slow trickle would do
        assert p.metrics.dropped()["spool_full"] > 0
        with HttpReceiver(port) as receiver:
            await until(lambda: p.pending() == 0, timeout=60)
            received.extend(webhook_alerts(receiver.delivered()))

    p = run_pipeline(config, body, tmp_path)
    dropped = p.metrics.dropped()["spool_full"]
    ids = [a["id"] for a in received]
    assert dropped + len(ids) == len(big)
    assert ids == [a.id for a in big[dropped:]]  # the oldest went, the rest arrived in order
