"""The metrics collector over fake providers: names, labels, derived series, failures, exposition.

The kernel slot names come from the real adapters (their counter tuples), the process figures
from the real /proc, and the listeners are real hypercorn servers on 127.0.0.1.
"""

import asyncio
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypercorn.asyncio import serve
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from sentinel_agent.metrics import (
    FAMILIES,
    AlertStorageStats,
    DnsStats,
    IpsStats,
    ProcessSampler,
    build_registry,
    metrics_route,
    names,
    reference,
    serve_metrics,
)
from sentinel_agent.metrics.exposition import listener_config
from sentinel_application.alerting import metrics as alert_metrics
from sentinel_application.alerting.metrics import AlertMetrics, MetricSample

DOCS = Path(__file__).resolve().parents[3] / "docs" / "metrics.md"
Scrape = dict[str, dict[tuple[tuple[str, str], ...], float]]


def firewall_counters(**values: int) -> dict[str, int]:
    return {name: values.get(name, 0) for name in reference.KERNEL_SLOTS["xdp_firewall"]}


@dataclass
class FakeProvider:
    """Scripted answers; ``broken`` names methods that raise."""

    kernel: dict[str, Mapping[str, int]] = field(default_factory=dict)
    rings: dict[str, dict[str, int]] = field(default_factory=dict)
    programs: dict[str, bool] = field(default_factory=dict)
    rules: dict[str, int] = field(default_factory=dict)
    reloads: dict[tuple[str, str], int] = field(default_factory=dict)
    alerts: AlertMetrics = field(default_factory=AlertMetrics)
    storage: AlertStorageStats | None = None
    ips: IpsStats | None = None
    dns: DnsStats | None = None
    broken: set[str] = field(default_factory=set)

    def _check(self, method: str) -> None:
        if method in self.broken:
            raise OSError(5, f"{method} failed")

    def kernel_counters(self) -> Mapping[str, Mapping[str, int]]:
        self._check("kernel_counters")
        return self.kernel

    def ring_stats(self) -> Mapping[str, Mapping[str, int]]:
        self._check("ring_stats")
        return self.rings

    def program_status(self) -> Mapping[str, bool]:
        return self.programs

    def rules_loaded(self) -> Mapping[str, int]:
        return self.rules

    def reload_counts(self) -> Mapping[tuple[str, str], int]:
        return self.reloads

    def alert_samples(self) -> Iterable[MetricSample]:
        return self.alerts.samples()

    def alert_storage(self) -> AlertStorageStats | None:
        return self.storage

    def ips_stats(self) -> IpsStats | None:
        self._check("ips_stats")
        return self.ips

    def dns_stats(self) -> DnsStats | None:
        return self.dns


class FailingMidway(Mapping[str, int]):
    """A counter map whose read fails after the first slot (a map read error mid-section)."""

    def __getitem__(self, key: str) -> int:
        raise OSError(9, "bad map fd")

    def __iter__(self) -> Iterator[str]:
        yield "passed"
        raise OSError(9, "bad map fd")

    def __len__(self) -> int:
        return 2


def scrape_text(text: str) -> tuple[Scrape, dict[str, str]]:
    """{family (as exposed): {sorted labels: value}} and {family: type}."""
    values: Scrape = {}
    kinds: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        exposed = f"{family.name}_total" if family.type == "counter" else family.name
        kinds[exposed] = family.type
        series = values.setdefault(exposed, {})
        for sample in family.samples:
            series[tuple(sorted(sample.labels.items()))] = sample.value
    return values, kinds


def scrape(provider: FakeProvider) -> tuple[Scrape, dict[str, str]]:
    return scrape_text(generate_latest(build_registry(provider)).decode())


def value(scraped: Scrape, name: str, **labels: str) -> float:
    return scraped[name][tuple(sorted(labels.items()))]


def by_label(scraped: Scrape, name: str, label: str, **where: str) -> dict[str, float]:
    """The series of ``name`` whose labels include ``where``, keyed by their ``label`` value."""
    out = {}
    for key, number in scraped[name].items():
        labels = dict(key)
        if where.items() <= labels.items():
            out[labels[label]] = number
    return out


def full_provider() -> FakeProvider:
    alerts = AlertMetrics()
    alerts.inc(alert_metrics.ALERTS_TOTAL, 3, component="firewall", severity="medium", technique_id="T1046")
    alerts.inc(alert_metrics.ALERTS_BY_RULE, 3, component="firewall", rule_id="deny-peer")
    alerts.inc(alert_metrics.ALERTS_BY_RULE, 2, component="threatintel", rule_id="ti-spamhaus")
    alerts.inc(alert_metrics.ALERTS_BY_RULE, 4, component="dlp", rule_id="dlp-pci-visa")
    alerts.inc(alert_metrics.ALERTS_BY_RULE, 1, component="dns", rule_id="dns-blocklist:*.evil.test")
    alerts.inc(alert_metrics.ALERTS_BY_RULE, 1, component="dns", rule_id="dns-blocklist:bad.test")
    alerts.inc(alert_metrics.ALERTS_BY_RULE, 1, component="dns", rule_id="dns-encrypted:doh:1.1.1.1")
    alerts.inc(alert_metrics.ALERTS_DROPPED, 2, reason="dedup")
    alerts.inc(alert_metrics.ALERTS_EXPORTED, 1, destination="log")
    alerts.inc(alert_metrics.EVENTS_DROPPED, 5, reason="alert_channel_full")
    alerts.set(alert_metrics.CIRCUIT_STATE, 2, destination="webhook")
    ratelimit = dict.fromkeys(reference.KERNEL_SLOTS["xdp_ratelimit"], 0)
    ratelimit.update(passed=90, throttled=10, flagged=4, seen=100)
    dns_slots = dict.fromkeys(reference.KERNEL_SLOTS["tc_dns"], 0)
    dns_slots.update(inspected=7, events_emitted=6, seen=50)
    return FakeProvider(
        kernel={
            "xdp_firewall": firewall_counters(
                passed=10, dropped=3, seen=13, events_emitted=3, events_skipped=2, reserve_failed=1
            ),
            "xdp_ratelimit": ratelimit,
            "tc_dns": dns_slots,
            "not_a_program": {"passed": 1},
        },
        rings={
            "xdp_firewall": {"consumed": 3, "decoded": 2, "wrong_size": 1, "unknown_type": 0},
            "uprobe_dlp": {"consumed": 8, "decoded": 8},
        },
        programs={"xdp_firewall": True, "tc_ids": False},
        rules={"firewall": 2, "ratelimit": 1},
        reloads={("config", "success"): 3, ("config", "failure"): 1},
        alerts=alerts,
        storage=AlertStorageStats(entries=42, records={"appended": 42, "duplicates": 1}, queue_dropped=6),
        ips=IpsStats(blacklist_size=2, blocks_total=5),
        dns=DnsStats(
            cache_entries=11, cache_hits=9, cache_misses=4, cache_evictions=1, injected_ips=3, parse_errors=2
        ),
    )


def test_every_family_is_exposed_with_its_type_and_labels() -> None:
    result, kinds = scrape(full_provider())
    assert kinds == {spec.name: spec.kind for spec in FAMILIES}
    for spec in FAMILIES:
        for labels in result[spec.name]:
            assert tuple(sorted(spec.labels)) == tuple(k for k, _ in labels), spec.name


def test_kernel_counters_are_mirrored_with_the_contract_slot_labels() -> None:
    result, _ = scrape(full_provider())
    fw = by_label(result, names.PACKETS, "action", interface="FIREWALL_METRICS")
    assert fw["passed"] == 10 and fw["dropped"] == 3 and fw["total_seen"] == 13
    assert set(fw) == set(reference.kernel_labels("xdp_firewall"))
    assert value(result, names.PACKETS, interface="RATELIMIT_METRICS", action="matched") == 90
    assert value(result, names.PACKETS, interface="RATELIMIT_METRICS", action="throttled") == 10
    assert value(result, names.PACKETS, interface="RATELIMIT_METRICS", action="dropped") == 6  # 10 - 4 passed
    assert value(result, names.PACKETS, interface="DNS_METRICS", action="emitted") == 6
    interfaces = set(by_label(result, names.PACKETS, "interface"))
    assert interfaces == {"FIREWALL_METRICS", "RATELIMIT_METRICS", "DNS_METRICS"}  # unknown program ignored


@pytest.mark.parametrize("kmap", names.KERNEL_MAPS, ids=lambda m: m.interface)
def test_each_map_carries_the_labels_of_contract_section_6_7(kmap: names.KernelMap) -> None:
    exported = reference.kernel_labels(kmap.program)
    assert set(names.CONTRACT_SLOT_LABELS[kmap.interface]) <= set(exported)
    assert len(exported) == len(set(exported))  # no two slots share a label


def test_ring_accounting_adds_up_per_source() -> None:
    result, _ = scrape(full_provider())
    assert value(result, names.RINGBUF_EVENTS, source="xdp-firewall") == 3
    assert value(result, names.RINGBUF_READ, source="xdp-firewall") == 3
    dropped = by_label(result, names.RINGBUF_DROPPED, "reason", source="xdp-firewall")
    assert dropped == {"channel_full": 2, "reserve_failed": 1, "decode_failed": 1}
    assert value(result, names.RINGBUF_DROPPED, source="uprobe-dlp", reason="decode_failed") == 0
    assert value(result, names.DLP_SCANS) == 8


def test_programs_rules_and_reloads() -> None:
    result, _ = scrape(full_provider())
    assert value(result, names.PROGRAM_STATUS, program="xdp_firewall") == 1
    assert value(result, names.PROGRAM_STATUS, program="tc_ids") == 0
    assert value(result, names.RULES_LOADED, component="firewall") == 2
    assert value(result, names.RULES_RELOADS, component="config", result="success") == 3
    assert value(result, names.RULES_RELOADS, component="config", result="failure") == 1


def test_alert_pipeline_samples_and_the_series_derived_from_them() -> None:
    result, _ = scrape(full_provider())
    assert (
        value(
            result, alert_metrics.ALERTS_TOTAL, component="firewall", severity="medium", technique_id="T1046"
        )
        == 3
    )
    assert by_label(result, alert_metrics.ALERTS_DROPPED, "reason") == {
        reason: (2 if reason == "dedup" else 0) for reason in alert_metrics.DROP_REASONS
    }
    assert value(result, alert_metrics.CIRCUIT_STATE, destination="webhook") == 2
    assert value(result, names.THREATINTEL_MATCHES, feed="spamhaus") == 2
    assert value(result, names.DLP_MATCHES, rule_id="dlp-pci-visa") == 4
    assert value(result, names.DNS_BLOCKED_DOMAINS) == 2  # the encrypted-DNS alert is not a block
    events_dropped = by_label(result, alert_metrics.EVENTS_DROPPED, "reason")
    assert events_dropped == {"alert_channel_full": 5, "alert_store_queue_full": 6}


def test_storage_ips_dns_and_process() -> None:
    result, _ = scrape(full_provider())
    assert value(result, names.ALERT_STORE_ENTRIES) == 42
    assert value(result, names.ALERT_STORE_RECORDS, outcome="duplicates") == 1
    assert (value(result, names.IPS_BLACKLIST_SIZE), value(result, names.IPS_BLOCKS)) == (2, 5)
    dns = [value(result, n) for n in (names.DNS_CACHE_ENTRIES, names.DNS_CACHE_HITS, names.DNS_INJECTED_IPS)]
    assert dns == [11, 9, 3]
    assert value(result, names.MEMORY_USAGE) > 1_000_000  # a Python process holds megabytes
    assert value(result, names.THREAD_COUNT) >= 1 and value(result, names.OPEN_FDS) >= 3


def test_a_disabled_agent_still_exposes_every_family() -> None:
    result, kinds = scrape(FakeProvider())
    assert set(kinds) == {spec.name for spec in FAMILIES}
    assert result[names.PACKETS] == {} and result[names.IPS_BLACKLIST_SIZE] == {}
    assert result[names.DNS_BLOCKED_DOMAINS] == {}  # no DNS: not even the zero series


def test_a_failing_section_is_left_out_and_counted_while_the_rest_is_served() -> None:
    provider = full_provider()
    provider.kernel["xdp_ratelimit"] = FailingMidway()  # fails after FIREWALL_METRICS was read
    provider.broken = {"ips_stats"}
    registry = build_registry(provider)
    for expected in (1, 2):
        result, _ = scrape_text(generate_latest(registry).decode())
        assert result[names.PACKETS] == {}  # no half-read section
        assert result[names.RINGBUF_EVENTS] == {}
        assert result[names.IPS_BLOCKS] == {}
        assert value(result, names.COLLECT_ERRORS, section="kernel") == expected
        assert value(result, names.COLLECT_ERRORS, section="ips") == expected
        assert value(result, names.RINGBUF_READ, source="xdp-firewall") == 3  # other sections intact


def test_every_alert_pipeline_metric_has_a_row_in_the_table() -> None:
    pipeline_names = {
        v
        for k, v in vars(alert_metrics).items()
        if k.isupper() and isinstance(v, str) and v.startswith("ebpfsentinel_")
    }
    assert pipeline_names and pipeline_names <= set(names.BY_NAME)


def test_docs_table_is_generated_from_the_family_table() -> None:
    assert reference.generated_block(DOCS.read_text()) == reference.render(), (
        "docs/metrics.md is stale: run `python -m sentinel_agent.metrics.reference docs/metrics.md`"
    )


def test_cpu_percent_covers_the_time_since_the_previous_sample() -> None:
    clock = iter([100.0, 101.0, 103.0, 103.0])
    cpu = iter([5.0, 5.5, 7.5, 7.5])
    sampler = ProcessSampler(cpu_seconds=lambda: next(cpu), clock=lambda: next(clock))
    assert sampler.sample().cpu_percent == pytest.approx(50.0)  # 0.5 s of CPU in 1 s
    assert sampler.sample().cpu_percent == pytest.approx(100.0)  # 2 s in 2 s: one core
    assert sampler.sample().cpu_percent == 0.0  # no time elapsed: no division by zero


def test_process_figures_match_proc() -> None:
    sample = ProcessSampler().sample()
    assert sample.threads >= threading.active_count()
    assert abs(sample.open_fds - len(os.listdir("/proc/self/fd"))) <= 1  # the listing's own fd
    rss_pages = int(Path("/proc/self/statm").read_text().split()[1])
    assert abs(sample.memory_bytes - rss_pages * os.sysconf("SC_PAGE_SIZE")) < 8 * 1024 * 1024


# -- exposition on real listeners ----------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(serve_until: object, port: int) -> Iterator[str]:
    """Run ``serve_until(stop_trigger)`` in its own loop and thread until the block ends."""
    stop = threading.Event()

    def main() -> None:
        async def trigger() -> None:
            await asyncio.get_running_loop().run_in_executor(None, stop.wait)

        asyncio.run(serve_until(trigger))  # type: ignore[operator]

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def get(url: str, accept: str = "") -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read().decode()


def test_metrics_port_listener_serves_only_metrics_in_both_formats() -> None:
    registry = build_registry(full_provider())
    port = free_port()
    with running(lambda trigger: serve_metrics(registry, "127.0.0.1", port, trigger), port) as base:
        status, content_type, body = get(f"{base}/metrics")
        assert status == 200 and content_type.startswith("text/plain")
        assert value(scrape_text(body)[0], names.IPS_BLOCKS) == 5
        status, content_type, body = get(f"{base}/metrics", accept="application/openmetrics-text")
        assert status == 200 and content_type.startswith("application/openmetrics-text")
        assert body.endswith("# EOF\n")
        assert get(f"{base}/healthz")[0] == 404


def test_metrics_route_in_another_app_and_a_busy_port_is_survived() -> None:
    registry = build_registry(FakeProvider())
    app = Starlette(routes=[metrics_route(registry)])
    port = free_port()

    async def rest(trigger: object) -> None:
        await serve(app, listener_config("127.0.0.1", port), shutdown_trigger=trigger)  # type: ignore[arg-type]

    with running(rest, port) as base:
        status, _, body = get(f"{base}/metrics")
        assert status == 200 and names.PROGRAM_STATUS in body

        async def busy() -> None:  # the same port again: logged, not raised
            await serve_metrics(registry, "127.0.0.1", port, asyncio.Event().wait)

        asyncio.run(asyncio.wait_for(busy(), timeout=10))
        assert get(f"{base}/metrics")[0] == 200
