"""The alert pipeline: record → dedup → throttle → route → durable spool → senders (contract §8).

Entry point: :func:`build_alert_pipeline`. The pieces (router, breaker, retry policy, workers) are
exported for tests and for whoever composes them differently.
"""

from sentinel_application.alerting.breaker import CircuitBreaker, CircuitState
from sentinel_application.alerting.clock import SystemClock
from sentinel_application.alerting.dedup import DedupFilter, dedup_key
from sentinel_application.alerting.factory import build_alert_pipeline
from sentinel_application.alerting.metrics import AlertMetrics, MetricSample
from sentinel_application.alerting.pipeline import AlertPipeline
from sentinel_application.alerting.retry import RetryPolicy
from sentinel_application.alerting.router import AlertRouter, DropReason, RoutingDecision
from sentinel_application.alerting.routes import DEFAULT_ROUTES, DESTINATIONS, Route, RouteTable
from sentinel_application.alerting.settings import AlertingConfig, DeliverySettings, routes_from_config
from sentinel_application.alerting.throttle import Throttle
from sentinel_application.alerting.worker import DeliveryStatus, DeliveryWorker

__all__ = [
    "DEFAULT_ROUTES",
    "DESTINATIONS",
    "AlertMetrics",
    "AlertPipeline",
    "AlertRouter",
    "AlertingConfig",
    "CircuitBreaker",
    "CircuitState",
    "DedupFilter",
    "DeliverySettings",
    "DeliveryStatus",
    "DeliveryWorker",
    "DropReason",
    "MetricSample",
    "RetryPolicy",
    "Route",
    "RouteTable",
    "RoutingDecision",
    "SystemClock",
    "Throttle",
    "build_alert_pipeline",
    "dedup_key",
    "routes_from_config",
]
