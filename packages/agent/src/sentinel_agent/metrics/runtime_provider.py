"""``MetricsProvider`` over a running ``AgentRuntime``: where each metric's live value is read.

A separate adapter rather than methods on the runtime, so the composition root stays small and
everything metrics know about the agent's internals is in one place. Objects that appear at
``start`` (maps, engines) are looked up at every scrape, never cached.
"""

from typing import Any

from sentinel_adapters.ebpf.dlp_source import BpfDlpEventSource
from sentinel_adapters.ebpf.dns_source import BpfDnsSource
from sentinel_adapters.ebpf.event_source import (
    BpfFirewallEventSource,
    BpfRateLimitEventSource,
    BpfThreatIntelEventSource,
)
from sentinel_adapters.ebpf.ids_source import BpfIdsEventSource
from sentinel_agent.detection import TC_DNS, TC_IDS, TC_THREATINTEL, UPROBE_DLP
from sentinel_agent.metrics import names
from sentinel_agent.metrics.provider import AlertStorageStats, DnsStats, IpsStats
from sentinel_agent.rest.sse import SUBSCRIBERS as SSE_SUBSCRIBERS
from sentinel_agent.runtime import FIREWALL, RATELIMIT, AgentRuntime
from sentinel_application.alert_recorder import RecordingAlertSink
from sentinel_application.alerting.metrics import MetricSample
from sentinel_application.reload_service import ReloadService

# Which program's ring each event source reads (ring accounting is labelled by program).
SOURCE_PROGRAMS: dict[type, str] = {
    BpfFirewallEventSource: FIREWALL,
    BpfRateLimitEventSource: RATELIMIT,
    BpfIdsEventSource: TC_IDS,
    BpfThreatIntelEventSource: TC_THREATINTEL,
    BpfDnsSource: TC_DNS,
    BpfDlpEventSource: UPROBE_DLP,
}


class RuntimeMetrics:
    """Implements ``sentinel_agent.metrics.MetricsProvider``; ``reloads`` is the daemon's service."""

    def __init__(self, runtime: AgentRuntime, reloads: ReloadService[Any] | None = None) -> None:
        self._runtime = runtime
        self._reloads = reloads

    def _program_sources(self) -> list[tuple[str, Any]]:
        sources = self._runtime._sources  # the ring readers the runtime started (no public view yet)
        return [(SOURCE_PROGRAMS[type(s)], s) for s in sources if type(s) in SOURCE_PROGRAMS]

    def kernel_counters(self) -> dict[str, dict[str, int]]:
        rt, detection = self._runtime, self._runtime.detection
        readers: dict[str, Any] = {
            FIREWALL: rt.firewall,
            RATELIMIT: rt.ratelimit,
            TC_IDS: detection.prefilter,
            TC_THREATINTEL: detection.iocs,
            UPROBE_DLP: detection._probe,  # the attached uprobes hold dlp_metrics (no public view yet)
        }
        # tc_dns's counters are read through its ring source, the one object holding that program.
        readers.update((program, s) for program, s in self._program_sources() if program == TC_DNS)
        return {program: r.counters() for program, r in readers.items() if r is not None}

    def ring_stats(self) -> dict[str, dict[str, int]]:
        return {program: source.stats() for program, source in self._program_sources()}

    def program_status(self) -> dict[str, bool]:
        return {p.name: p.loaded and not p.attach_blocked for p in self._runtime.programs.values()}

    def rules_loaded(self) -> dict[str, int]:
        rt, detection, rules = self._runtime, self._runtime.detection, self._runtime.loaded.detection
        out: dict[str, int] = {}
        if rt.firewall is not None:
            out["firewall"] = len(rt.firewall.policy.rules)
        if rt.ratelimit is not None:
            out["ratelimit"] = len(rt.loaded.ratelimit_policies.rules)
        if detection.ids_engine is not None and rules is not None:
            # The IDS engine also evaluates the IPS prevention rules: count them under `ips`.
            prevention = len(rules.prevention_rules)
            engine = detection.ids_engine
            out["ids"] = len(engine.rules) - prevention + len(engine.signatures)
            out["ips"] = prevention
        if detection.dlp_engine is not None:
            out["dlp"] = len(detection.dlp_engine.patterns)
        if detection.dns is not None:
            out["dns"] = len(detection.dns.domains)
        if detection.feeds is not None:
            out["threatintel"] = len(detection.loaded_iocs)  # merged IOCs of every feed
        return out

    def reload_counts(self) -> dict[tuple[str, str], int]:
        # threat-intel feeds count their fetches under their feed id (contract §4, §7.6)
        counts = self._runtime.detection.feed_reload_counts()
        reloads = self._reloads
        if reloads is not None:
            counts.update({("config", "success"): reloads.succeeded, ("config", "failure"): reloads.failed})
        return counts

    def alert_samples(self) -> list[MetricSample]:
        # The open SSE alert streams ride along with the alert pipeline's samples.
        streams = MetricSample(names.ALERTS_SSE_SUBSCRIBERS, "gauge", {}, float(SSE_SUBSCRIBERS.count))
        return [*self._runtime.pipeline.metrics.samples(), streams]

    def alert_storage(self) -> AlertStorageStats | None:
        rt = self._runtime
        if rt.alert_store is None:
            return None
        stats = rt.alert_store.stats()
        queued = rt.alerts.dropped["queue_full"] if isinstance(rt.alerts, RecordingAlertSink) else 0
        return AlertStorageStats(entries=stats.pop("stored"), records=stats, queue_dropped=queued)

    def ips_stats(self) -> IpsStats | None:
        ips = self._runtime.detection.ips
        return None if ips is None else IpsStats(len(ips.entries()), ips.blocks_applied)

    def dns_stats(self) -> DnsStats | None:
        dns = self._runtime.detection.dns
        if dns is None:
            return None
        cache = dns.cache.stats(top_n=0)  # counters only: no ranking of the whole cache
        return DnsStats(
            cache_entries=cache.entries,
            cache_hits=cache.hits,
            cache_misses=cache.misses,
            cache_evictions=cache.evictions,
            injected_ips=len(dns._tracker),  # addresses blocked now (no public view yet)
            parse_errors=dns.parse_errors,
        )
