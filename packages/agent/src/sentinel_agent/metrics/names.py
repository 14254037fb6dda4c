"""Every metric family the agent exports, in one table (contract §4, §6.7, §8).

The collector emits exactly these families (each one on every scrape, with no samples when
its feature is off), and ``docs/metrics.md`` is generated from this table, so a name that is
documented is a name that exists. Counter names carry their ``_total`` suffix as exposed.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from sentinel_application.alerting import metrics as alert_metrics

Kind = Literal["counter", "gauge"]

PREFIX = "ebpfsentinel_"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One family: exposed name, type, label names (in order), help text and where it comes from."""

    name: str
    kind: Kind
    labels: tuple[str, ...]
    help: str
    source: str
    contract: bool = True  # False: our addition, not a §4 name

    def __post_init__(self) -> None:
        if not self.name.startswith(PREFIX):
            raise ValueError(f"metric {self.name!r} lacks the {PREFIX!r} prefix")
        if (self.kind == "counter") != self.name.endswith("_total"):
            raise ValueError(f"metric {self.name!r}: only counters, and all of them, end in _total")


# -- datapath ----------------------------------------------------------------------------------
PACKETS = "ebpfsentinel_packets_total"
PROGRAM_STATUS = "ebpfsentinel_ebpf_program_status"
RINGBUF_EVENTS = "ebpfsentinel_ringbuf_events_total"
RINGBUF_READ = "ebpfsentinel_ringbuf_events_read_total"
RINGBUF_DROPPED = "ebpfsentinel_ringbuf_events_dropped_total"
# -- rules -------------------------------------------------------------------------------------
RULES_LOADED = "ebpfsentinel_rules_loaded"
RULES_RELOADS = "ebpfsentinel_rules_reloads_total"
# -- alert storage -----------------------------------------------------------------------------
ALERT_STORE_ENTRIES = "ebpfsentinel_alert_store_entries"
ALERT_STORE_RECORDS = "ebpfsentinel_alert_store_records_total"
# -- API ---------------------------------------------------------------------------------------
ALERTS_SSE_SUBSCRIBERS = "ebpfsentinel_alerts_sse_subscribers"
# -- engines -----------------------------------------------------------------------------------
THREATINTEL_MATCHES = "ebpfsentinel_threatintel_matches_total"
DLP_SCANS = "ebpfsentinel_dlp_scans_total"
DLP_MATCHES = "ebpfsentinel_dlp_matches_total"
IPS_BLACKLIST_SIZE = "ebpfsentinel_ips_blacklist_size"
IPS_BLOCKS = "ebpfsentinel_ips_blocks_total"
DNS_CACHE_ENTRIES = "ebpfsentinel_dns_cache_entries"
DNS_CACHE_HITS = "ebpfsentinel_dns_cache_hits_total"
DNS_CACHE_MISSES = "ebpfsentinel_dns_cache_misses_total"
DNS_CACHE_EVICTIONS = "ebpfsentinel_dns_cache_evictions_total"
DNS_BLOCKED_DOMAINS = "ebpfsentinel_dns_blocked_domains_total"
DNS_INJECTED_IPS = "ebpfsentinel_dns_injected_ips"
DNS_PARSE_ERRORS = "ebpfsentinel_dns_parse_errors_total"
# -- process -----------------------------------------------------------------------------------
MEMORY_USAGE = "ebpfsentinel_memory_usage_bytes"
CPU_USAGE = "ebpfsentinel_cpu_usage_percent"
OPEN_FDS = "ebpfsentinel_open_fds"
THREAD_COUNT = "ebpfsentinel_thread_count"
COLLECT_ERRORS = "ebpfsentinel_metrics_collect_errors_total"

_AM = alert_metrics
FAMILIES: tuple[MetricSpec, ...] = (
    MetricSpec(
        PACKETS,
        "counter",
        ("interface", "action"),
        "Kernel per-CPU counters summed over CPUs: interface is the map (FIREWALL_METRICS, ...), "
        "action the slot label.",
        "each program's per-CPU counter array (see the slot table)",
    ),
    MetricSpec(
        PROGRAM_STATUS,
        "gauge",
        ("program",),
        "1 when the eBPF program is loaded and attached everywhere it should be, else 0.",
        "programs the configuration enables",
    ),
    MetricSpec(
        RINGBUF_EVENTS,
        "counter",
        ("source",),
        "Events the kernel program committed to its ring buffer.",
        "kernel `events_emitted` slot",
    ),
    MetricSpec(
        RINGBUF_READ,
        "counter",
        ("source",),
        "Ring records read by the agent (decoded or rejected).",
        "the ring reader",
        contract=False,
    ),
    MetricSpec(
        RINGBUF_DROPPED,
        "counter",
        ("source", "reason"),
        "Ring events lost, by cause: channel_full (kernel skipped, ring above 75 %), "
        "reserve_failed (kernel), decode_failed (agent rejected the record).",
        "kernel `events_skipped`/`reserve_failed` slots; the reader's decode statistics",
    ),
    MetricSpec(
        RULES_LOADED,
        "gauge",
        ("component",),
        "Rules in force per component (firewall rules, rate-limit policies, IDS/IPS rules, "
        "DLP patterns, DNS blocklist patterns).",
        "the running engines",
    ),
    MetricSpec(
        RULES_RELOADS,
        "counter",
        ("component", "result"),
        "Configuration reloads (component config) and threat-intel feed fetches (component = feed id), "
        "by result (success, failure).",
        "the reload service (component `config`); the feed service (feed ids)",
    ),
    MetricSpec(
        _AM.ALERTS_TOTAL,
        "counter",
        ("component", "severity", "technique_id"),
        "Alerts raised, counted before dedup and throttling.",
        "alert pipeline",
    ),
    MetricSpec(
        _AM.ALERTS_BY_RULE,
        "counter",
        ("component", "rule_id"),
        "Alerts raised per rule, counted before dedup and throttling.",
        "alert pipeline",
    ),
    MetricSpec(
        _AM.ALERTS_DROPPED,
        "counter",
        ("reason",),
        "Alerts not delivered: dedup, throttle, no_route, spool_full, expired, failed, spool_error.",
        "alert pipeline",
    ),
    MetricSpec(
        _AM.ALERTS_EXPORTED,
        "counter",
        ("destination",),
        "Alerts delivered, by destination kind (log, webhook, email, otlp).",
        "alert delivery workers",
    ),
    MetricSpec(
        _AM.EXPORT_FAILURES,
        "counter",
        ("destination",),
        "Failed delivery attempts, by destination kind.",
        "alert delivery workers",
        contract=False,
    ),
    MetricSpec(
        _AM.CIRCUIT_STATE,
        "gauge",
        ("destination",),
        "Circuit breaker of the destination kind's worst route: 0 closed, 1 half-open, 2 open.",
        "alert delivery workers",
    ),
    MetricSpec(
        _AM.SPOOL_DEPTH,
        "gauge",
        ("destination",),
        "Alerts spooled and not yet delivered, by destination kind.",
        "alert spool",
        contract=False,
    ),
    MetricSpec(
        _AM.EVENTS_DROPPED,
        "counter",
        ("reason",),
        "Alerts lost before recording: alert_channel_full (pipeline intake full), "
        "alert_store_queue_full (storage queue full).",
        "alert pipeline; alert recorder",
    ),
    MetricSpec(
        _AM.RECORDER_ERRORS,
        "counter",
        ("recorder",),
        "Alert recorders (store, log) that raised while recording an alert.",
        "alert pipeline",
        contract=False,
    ),
    MetricSpec(
        ALERT_STORE_ENTRIES,
        "gauge",
        (),
        "Alerts held in the alert store (LMDB).",
        "alert store",
        contract=False,
    ),
    MetricSpec(
        ALERT_STORE_RECORDS,
        "counter",
        ("outcome",),
        "Alert store writes and removals: appended, duplicates, dropped, pruned, corrupt, evicted.",
        "alert store",
        contract=False,
    ),
    MetricSpec(
        ALERTS_SSE_SUBSCRIBERS,
        "gauge",
        (),
        "Clients connected to the SSE alert stream (GET /api/v1/alerts/stream).",
        "REST alert stream",
    ),
    MetricSpec(
        THREATINTEL_MATCHES,
        "counter",
        ("feed",),
        "Threat-intel IOC matches, by feed (each match raises one alert).",
        "threat-intel alerts (`ti-<feed>` rules)",
    ),
    MetricSpec(
        DLP_SCANS,
        "counter",
        (),
        "TLS plaintext captures scanned by the DLP engine.",
        "uprobe_dlp ring records decoded",
    ),
    MetricSpec(
        DLP_MATCHES,
        "counter",
        ("rule_id",),
        "DLP pattern matches (each match raises one alert).",
        "DLP alerts",
    ),
    MetricSpec(IPS_BLACKLIST_SIZE, "gauge", (), "Addresses on the IPS blacklist now.", "IPS enforcer"),
    MetricSpec(
        IPS_BLOCKS,
        "counter",
        (),
        "IPS blacklist entries pushed into the kernel blocklist.",
        "IPS enforcer",
    ),
    MetricSpec(DNS_CACHE_ENTRIES, "gauge", (), "Domains in the DNS cache.", "DNS cache"),
    MetricSpec(DNS_CACHE_HITS, "counter", (), "DNS cache lookups that found a domain.", "DNS cache"),
    MetricSpec(
        DNS_CACHE_MISSES,
        "counter",
        (),
        "DNS cache lookups that found nothing.",
        "DNS cache",
        contract=False,
    ),
    MetricSpec(
        DNS_CACHE_EVICTIONS,
        "counter",
        (),
        "DNS cache entries evicted to stay within max_entries.",
        "DNS cache",
    ),
    MetricSpec(
        DNS_BLOCKED_DOMAINS,
        "counter",
        (),
        "DNS responses for blocklisted domains (each raises one alert).",
        "DNS alerts (`dns-blocklist:` rules)",
    ),
    MetricSpec(
        DNS_INJECTED_IPS,
        "gauge",
        (),
        "Resolved addresses of blocked domains held in the kernel blocklist now.",
        "DNS service",
    ),
    MetricSpec(
        DNS_PARSE_ERRORS,
        "counter",
        (),
        "Captured DNS messages that did not parse.",
        "DNS service",
        contract=False,
    ),
    MetricSpec(MEMORY_USAGE, "gauge", (), "Resident memory of the agent process.", "/proc/self/status"),
    MetricSpec(
        CPU_USAGE,
        "gauge",
        (),
        "CPU used by the agent since the previous scrape (100 = one core busy).",
        "process CPU time",
    ),
    MetricSpec(OPEN_FDS, "gauge", (), "File descriptors open in the agent process.", "/proc/self/fd"),
    MetricSpec(THREAD_COUNT, "gauge", (), "Threads of the agent process.", "/proc/self/status"),
    MetricSpec(
        COLLECT_ERRORS,
        "counter",
        ("section",),
        "Scrape sections that failed to read (the rest of the scrape is still served).",
        "the collector",
        contract=False,
    ),
)
BY_NAME: Mapping[str, MetricSpec] = MappingProxyType({spec.name: spec for spec in FAMILIES})


# -- kernel counter maps (contract §6.7) -------------------------------------------------------
@dataclass(frozen=True, slots=True)
class KernelMap:
    """How one program's per-CPU counters are mirrored into ``ebpfsentinel_packets_total``.

    ``relabel`` maps an adapter slot name to the contract's label (unlisted slots keep their
    name); ``derived`` adds ``label = plus - minus`` where the contract's label has no slot of
    its own.
    """

    program: str  # the agent's program name (ebpf_program_status)
    interface: str  # the `interface` label
    source: str  # the `source` label of the ring families
    relabel: Mapping[str, str] = field(default_factory=dict)
    derived: tuple[tuple[str, str, str], ...] = ()

    def labels(self, counters: Mapping[str, int]) -> dict[str, int]:
        """Slot values keyed by their exported ``action`` label."""
        out = {self.relabel.get(name, name): value for name, value in counters.items()}
        for label, plus, minus in self.derived:
            if plus in counters and minus in counters:
                out[label] = max(0, counters[plus] - counters[minus])
        return out


_SEEN = {"seen": "total_seen"}
KERNEL_MAPS: tuple[KernelMap, ...] = (
    KernelMap("xdp_firewall", "FIREWALL_METRICS", "xdp-firewall", _SEEN),
    # Slot 1 counts every packet over its limit, dropped or (action pass) flagged: the
    # contract's `dropped` is the difference, `matched` the packets within their limit.
    KernelMap(
        "xdp_ratelimit",
        "RATELIMIT_METRICS",
        "xdp-ratelimit",
        {"passed": "matched", **_SEEN},
        derived=(("dropped", "throttled", "flagged"),),
    ),
    KernelMap("tc_ids", "IDS_METRICS", "tc-ids", _SEEN),
    KernelMap("tc_threatintel", "THREATINTEL_METRICS", "tc-threatintel", _SEEN),
    KernelMap("tc_dns", "DNS_METRICS", "tc-dns", {"events_emitted": "emitted", **_SEEN}),
    KernelMap("uprobe_dlp", "DLP_METRICS", "uprobe-dlp", _SEEN),
)
KERNEL_BY_PROGRAM: Mapping[str, KernelMap] = MappingProxyType({m.program: m for m in KERNEL_MAPS})
# The §6.7 labels each map must carry (the contract's first slots; FIREWALL_METRICS' rejected,
# mtu_exceeded and reject_throttled have no counterpart: reject is enforced as deny here).
CONTRACT_SLOT_LABELS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "FIREWALL_METRICS": ("passed", "dropped", "errors", "events_dropped", "total_seen"),
        "RATELIMIT_METRICS": ("matched", "dropped", "errors", "events_dropped", "total_seen"),
        "IDS_METRICS": ("matched", "dropped", "errors", "events_dropped", "total_seen"),
        "THREATINTEL_METRICS": ("matched", "dropped", "errors", "events_dropped", "total_seen"),
        "DNS_METRICS": ("inspected", "emitted", "errors", "events_dropped", "total_seen"),
        "DLP_METRICS": ("write_events", "read_events", "errors", "events_dropped", "total_seen"),
    }
)
