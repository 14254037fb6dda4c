"""A prometheus-client Collector that reads the agent's live state at scrape time (pull model).

No background thread, no copy of any counter: each scrape asks the provider, maps the answers
onto the families of ``names.FAMILIES`` and emits every family (empty when its feature is off).
A section whose reads fail is left out of that scrape and counted; the rest is still served.
"""

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping

import structlog
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from sentinel_agent.metrics import names
from sentinel_agent.metrics.names import FAMILIES, KERNEL_BY_PROGRAM, MetricSpec
from sentinel_agent.metrics.process import ProcessSampler
from sentinel_agent.metrics.provider import MetricsProvider
from sentinel_application.alerting import metrics as alert_metrics
from sentinel_application.alerting.metrics import MetricSample

log = structlog.get_logger("ebpfsentinel.metrics")

Series = tuple[str, tuple[str, ...]]  # (family name, label values in the spec's order)


class _Batch:
    """Samples of one section, committed only if the whole section was read."""

    def __init__(self) -> None:
        self.values: dict[Series, float] = {}

    def add(self, name: str, value: float, **labels: str) -> None:
        """Add ``value`` to the series (two sources of one series add up)."""
        spec = names.BY_NAME[name]
        key = (name, tuple(labels.get(label, "") for label in spec.labels))
        self.values[key] = self.values.get(key, 0.0) + value


class SentinelCollector(Collector):
    """Register on a ``CollectorRegistry(auto_describe=False)``; see ``build_registry``."""

    def __init__(self, provider: MetricsProvider, process: ProcessSampler | None = None) -> None:
        self._provider = provider
        self._process = process or ProcessSampler()
        self._errors: Counter[str] = Counter()
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        merged: dict[Series, float] = {}
        for section, read in self._sections():
            batch = _Batch()
            try:
                read(batch)
            except Exception:  # one broken reader must not cost the whole scrape
                self._failed(section)
                continue
            for key, value in batch.values.items():
                merged[key] = merged.get(key, 0.0) + value
        with self._lock:
            for section, count in self._errors.items():
                merged[(names.COLLECT_ERRORS, (section,))] = float(count)
        yield from _families(merged)

    def _failed(self, section: str) -> None:
        with self._lock:
            self._errors[section] += 1
            first = self._errors[section] == 1
        if first:  # later failures are counted only: a scrape every few seconds must not flood the log
            log.warning("metrics section failed", section=section, exc_info=True)

    def _sections(self) -> list[tuple[str, Callable[[_Batch], None]]]:
        p = self._provider
        return [
            ("kernel", lambda b: _kernel(b, p.kernel_counters())),
            ("rings", lambda b: _rings(b, p.ring_stats())),
            ("programs", lambda b: _programs(b, p.program_status())),
            ("rules", lambda b: _rules(b, p.rules_loaded())),
            ("reloads", lambda b: _reloads(b, p.reload_counts())),
            ("alerts", lambda b: _alerts(b, p.alert_samples())),
            ("storage", lambda b: _storage(b, p)),
            ("ips", lambda b: _ips(b, p)),
            ("dns", lambda b: _dns(b, p)),
            ("process", self._process_stats),
        ]

    def _process_stats(self, batch: _Batch) -> None:
        sample = self._process.sample()
        batch.add(names.MEMORY_USAGE, sample.memory_bytes)
        batch.add(names.CPU_USAGE, sample.cpu_percent)
        batch.add(names.OPEN_FDS, sample.open_fds)
        batch.add(names.THREAD_COUNT, sample.threads)


def _families(merged: Mapping[Series, float]) -> Iterator[Metric]:
    by_family: dict[str, list[tuple[tuple[str, ...], float]]] = {}
    for (name, labels), value in sorted(merged.items()):
        by_family.setdefault(name, []).append((labels, value))
    for spec in FAMILIES:
        family = _empty_family(spec)
        for labels, value in by_family.get(spec.name, ()):
            family.add_metric(list(labels), value)
        yield family


def _empty_family(spec: MetricSpec) -> CounterMetricFamily | GaugeMetricFamily:
    if spec.kind == "counter":
        return CounterMetricFamily(spec.name, spec.help, labels=list(spec.labels))
    return GaugeMetricFamily(spec.name, spec.help, labels=list(spec.labels))


# -- sections ----------------------------------------------------------------------------------
def _kernel(batch: _Batch, counters: Mapping[str, Mapping[str, int]]) -> None:
    for program, slots in counters.items():
        kmap = KERNEL_BY_PROGRAM.get(program)
        if kmap is None:
            continue
        for action, value in kmap.labels(slots).items():
            batch.add(names.PACKETS, value, interface=kmap.interface, action=action)
        if "events_emitted" in slots:
            batch.add(names.RINGBUF_EVENTS, slots["events_emitted"], source=kmap.source)
        for slot, reason in (("events_skipped", "channel_full"), ("reserve_failed", "reserve_failed")):
            if slot in slots:
                batch.add(names.RINGBUF_DROPPED, slots[slot], source=kmap.source, reason=reason)


def _rings(batch: _Batch, stats: Mapping[str, Mapping[str, int]]) -> None:
    for program, reader in stats.items():
        kmap = KERNEL_BY_PROGRAM.get(program)
        if kmap is None:
            continue
        consumed, decoded = reader.get("consumed", 0), reader.get("decoded", 0)
        batch.add(names.RINGBUF_READ, consumed, source=kmap.source)
        # Every record read is either decoded or rejected for a reason (the readers' invariant).
        rejected = max(0, consumed - decoded)
        batch.add(names.RINGBUF_DROPPED, rejected, source=kmap.source, reason="decode_failed")
        if program == "uprobe_dlp":
            batch.add(names.DLP_SCANS, decoded)


def _programs(batch: _Batch, status: Mapping[str, bool]) -> None:
    for program, ok in status.items():
        batch.add(names.PROGRAM_STATUS, 1.0 if ok else 0.0, program=program)


def _rules(batch: _Batch, loaded: Mapping[str, int]) -> None:
    for component, count in loaded.items():
        batch.add(names.RULES_LOADED, count, component=component)


def _reloads(batch: _Batch, counts: Mapping[tuple[str, str], int]) -> None:
    for (component, result), count in counts.items():
        batch.add(names.RULES_RELOADS, count, component=component, result=result)


def _alerts(batch: _Batch, samples: Iterable[MetricSample]) -> None:
    for reason in alert_metrics.DROP_REASONS:  # every reason present, 0 until it happens
        batch.add(alert_metrics.ALERTS_DROPPED, 0, reason=reason)
    for sample in samples:
        if sample.name not in names.BY_NAME:
            continue  # a new pipeline metric without a row in names.FAMILIES (a test catches this)
        batch.add(sample.name, sample.value, **sample.labels)
        if sample.name == alert_metrics.ALERTS_BY_RULE:
            _alert_derived(batch, sample.labels, sample.value)


def _alert_derived(batch: _Batch, labels: Mapping[str, str], value: float) -> None:
    """Engine match counters that are, by construction, one alert per match."""
    component, rule_id = labels.get("component", ""), labels.get("rule_id", "")
    if component == "threatintel" and rule_id.startswith("ti-"):
        batch.add(names.THREATINTEL_MATCHES, value, feed=rule_id.removeprefix("ti-"))
    elif component == "dlp":
        batch.add(names.DLP_MATCHES, value, rule_id=rule_id)
    elif component == "dns" and rule_id.startswith("dns-blocklist:"):
        batch.add(names.DNS_BLOCKED_DOMAINS, value)


def _storage(batch: _Batch, provider: MetricsProvider) -> None:
    stats = provider.alert_storage()
    if stats is None:
        return
    batch.add(names.ALERT_STORE_ENTRIES, stats.entries)
    for outcome, count in stats.records.items():
        batch.add(names.ALERT_STORE_RECORDS, count, outcome=outcome)
    batch.add(alert_metrics.EVENTS_DROPPED, stats.queue_dropped, reason="alert_store_queue_full")


def _ips(batch: _Batch, provider: MetricsProvider) -> None:
    stats = provider.ips_stats()
    if stats is not None:
        batch.add(names.IPS_BLACKLIST_SIZE, stats.blacklist_size)
        batch.add(names.IPS_BLOCKS, stats.blocks_total)


def _dns(batch: _Batch, provider: MetricsProvider) -> None:
    stats = provider.dns_stats()
    if stats is None:
        return
    values: dict[str, float] = {
        names.DNS_CACHE_ENTRIES: stats.cache_entries,
        names.DNS_CACHE_HITS: stats.cache_hits,
        names.DNS_CACHE_MISSES: stats.cache_misses,
        names.DNS_CACHE_EVICTIONS: stats.cache_evictions,
        names.DNS_INJECTED_IPS: stats.injected_ips,
        names.DNS_PARSE_ERRORS: stats.parse_errors,
        names.DNS_BLOCKED_DOMAINS: 0,  # the series exists from the start; alerts add to it
    }
    for name, value in values.items():
        batch.add(name, value)
