"""One call from configuration to a ready-to-start pipeline."""

import random
from collections.abc import Mapping, Sequence

from sentinel_application.alerting.clock import SystemClock
from sentinel_application.alerting.metrics import AlertMetrics
from sentinel_application.alerting.pipeline import AlertPipeline
from sentinel_application.alerting.router import AlertRouter
from sentinel_application.alerting.settings import (
    AlertingConfig,
    dedup_from_config,
    delivery_from_config,
    routes_from_config,
    throttle_from_config,
)
from sentinel_ports.alert_sender import AlertSender
from sentinel_ports.alert_sink import AlertSink
from sentinel_ports.alert_spool import AlertSpool
from sentinel_ports.clock import Clock


def build_alert_pipeline(
    config: AlertingConfig,
    senders: Mapping[str, AlertSender],
    spool: AlertSpool,
    *,
    recorders: Sequence[AlertSink] = (),
    clock: Clock | None = None,
    metrics: AlertMetrics | None = None,
    rng: random.Random | None = None,
) -> AlertPipeline:
    """A pipeline for the ``alerting`` section: ``senders`` maps each route name to its sender
    (``sentinel_adapters.alerting.factory.build_alert_senders`` builds them), ``recorders`` are the
    alert store and stream, which see every alert before dedup. Nothing runs until ``start()``."""
    router = AlertRouter(
        dedup_from_config(config),
        throttle_from_config(config),
        routes_from_config(config),
        enabled=config.enabled,
    )
    return AlertPipeline(
        router,
        senders,
        spool,
        clock=clock or SystemClock(),
        settings=delivery_from_config(config),
        recorders=recorders,
        metrics=metrics,
        rng=rng,
    )
