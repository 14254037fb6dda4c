"""What the collector reads at scrape time: a small protocol the composition root implements.

Every method returns live values, is cheap (map reads and counters, no scans), and may be
called from any thread. A method may raise; the collector then skips that section for this
scrape and counts it in ``ebpfsentinel_metrics_collect_errors_total{section}``.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from sentinel_application.alerting.metrics import MetricSample


@dataclass(frozen=True, slots=True)
class AlertStorageStats:
    """The alert store and the queue in front of it."""

    entries: int  # alerts held now
    records: Mapping[str, int] = field(default_factory=dict)  # appended, duplicates, dropped, ...
    queue_dropped: int = 0  # alerts dropped because the storage queue was full


@dataclass(frozen=True, slots=True)
class IpsStats:
    blacklist_size: int
    blocks_total: int


@dataclass(frozen=True, slots=True)
class DnsStats:
    cache_entries: int
    cache_hits: int
    cache_misses: int
    cache_evictions: int
    injected_ips: int
    parse_errors: int


class MetricsProvider(Protocol):
    """The agent's live state, as the metrics collector needs it."""

    def kernel_counters(self) -> Mapping[str, Mapping[str, int]]:
        """Per loaded program (``xdp_firewall`` ...): its per-CPU counters summed, by adapter slot name."""
        ...

    def ring_stats(self) -> Mapping[str, Mapping[str, int]]:
        """Per program with a ring reader: the reader's ``consumed`` and ``decoded`` record counts."""
        ...

    def program_status(self) -> Mapping[str, bool]:
        """Per program the configuration enables: loaded and attached everywhere it should be."""
        ...

    def rules_loaded(self) -> Mapping[str, int]:
        """Rules in force per component (``firewall``, ``ratelimit``, ``ids``, ...)."""
        ...

    def reload_counts(self) -> Mapping[tuple[str, str], int]:
        """Finished reloads by (component, result); result is ``success`` or ``failure``."""
        ...

    def alert_samples(self) -> Iterable[MetricSample]:
        """The alert pipeline's counters and gauges (``AlertMetrics.samples()``)."""
        ...

    def alert_storage(self) -> AlertStorageStats | None:
        """The alert store's figures; None when storage is unavailable."""
        ...

    def ips_stats(self) -> IpsStats | None:
        """None when IPS enforcement is off."""
        ...

    def dns_stats(self) -> DnsStats | None:
        """None when DNS inspection is off."""
        ...
