"""Durability: a receiver down for 1,000 alerts and an agent restart in the middle; when the
receiver returns, every alert arrives exactly once, in order.

    pipeline #1 ──┐                     (receiver down: connection refused)
                  ├─ LMDB spool (tmp) ──POST──> HttpReceiver 127.0.0.1:<port>  (started last)
    pipeline #2 ──┘  (#1 closed after 500 alerts, #2 opened on the same directory)
"""

import asyncio
import time
from pathlib import Path

from integration.fixtures.alerting.harness import section, until
from integration.fixtures.alerting.receivers import HttpReceiver, free_port, webhook_alerts
from sentinel_adapters.alerting.factory import build_alert_adapters
from sentinel_application.alerting import AlertPipeline, build_alert_pipeline
from sentinel_application.alerting.metrics import ALERTS_EXPORTED
from sentinel_infrastructure.config.alerting import AlertingSection, RouteSection
from sentinel_testkit.contracts.alert_spool import sample_alert

TOTAL = 1000


def open_pipeline(config: AlertingSection, data_dir: Path) -> AlertPipeline:
    adapters = build_alert_adapters(config, data_dir)
    return build_alert_pipeline(config, adapters.senders, adapters.spool)


def test_an_outage_across_a_restart_delivers_every_alert_exactly_once_in_order(tmp_path: Path) -> None:
    port = free_port()
    route = RouteSection(
        name="hook", destination="webhook", min_severity="low", webhook_url=f"http://127.0.0.1:{port}/alerts"
    )
    config = section(tmp_path, route)
    alerts = [sample_alert(i) for i in range(TOTAL)]

    async def first_run() -> None:
        pipeline = open_pipeline(config, tmp_path)
        await pipeline.start()
        for alert in alerts[: TOTAL // 2]:
            pipeline.publish(alert)
        await until(lambda: pipeline.status()[0].failed_attempts >= 3)  # it tried, the receiver is down
        await pipeline.aclose()
        assert pipeline.status()[0].delivered == 0

    async def second_run() -> tuple[int, float]:
        pipeline = open_pipeline(config, tmp_path)
        await pipeline.start()
        for alert in alerts[TOTAL // 2 :]:
            pipeline.publish(alert)
        await pipeline.flush()
        assert pipeline.pending() == TOTAL  # the first run's backlog survived the restart
        with HttpReceiver(port) as receiver:
            started = time.monotonic()
            await until(lambda: pipeline.pending() == 0, timeout=120)
            drain = time.monotonic() - started
            await asyncio.sleep(0.3)  # nothing more may arrive
            delivered = webhook_alerts(receiver.delivered())
            await pipeline.aclose()
        assert [a["id"] for a in delivered] == [a.id for a in alerts]
        assert pipeline.metrics.value(ALERTS_EXPORTED, destination="webhook") == TOTAL
        assert all(r.status == 200 for r in receiver.requests)
        return len(delivered), drain

    asyncio.run(first_run())
    count, drain = asyncio.run(second_run())
    print(f"\noutage backlog: {count} alerts drained in {drain:.2f} s ({count / drain:.0f}/s)")
