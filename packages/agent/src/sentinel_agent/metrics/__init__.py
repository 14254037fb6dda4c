"""Prometheus metrics (contract §4): a pull-model collector over a small provider protocol.

Wiring: implement ``MetricsProvider`` on the runtime, ``registry = build_registry(provider)``,
add ``metrics_route(registry)`` to the REST app and run ``serve_metrics`` for ``metrics_port``.
Every exported family is listed in ``names.FAMILIES`` (and in docs/metrics.md).
"""

from sentinel_agent.metrics.collector import SentinelCollector
from sentinel_agent.metrics.exposition import (
    METRICS_PATH,
    build_metrics_app,
    build_registry,
    metrics_route,
    serve_metrics,
)
from sentinel_agent.metrics.names import FAMILIES, KERNEL_MAPS, KernelMap, MetricSpec
from sentinel_agent.metrics.process import ProcessSample, ProcessSampler
from sentinel_agent.metrics.provider import AlertStorageStats, DnsStats, IpsStats, MetricsProvider

__all__ = [
    "FAMILIES",
    "KERNEL_MAPS",
    "METRICS_PATH",
    "AlertStorageStats",
    "DnsStats",
    "IpsStats",
    "KernelMap",
    "MetricSpec",
    "MetricsProvider",
    "ProcessSample",
    "ProcessSampler",
    "SentinelCollector",
    "build_metrics_app",
    "build_registry",
    "metrics_route",
    "serve_metrics",
]
