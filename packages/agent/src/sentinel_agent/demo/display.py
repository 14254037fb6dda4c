"""What the demo shows: a live view (rich) of the steps, their verdicts and alerts, the newest
alerts and the kernel counters; or, with ``--quiet``, only the summary lines."""

import threading
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from sentinel_agent.demo.steps import AgentApi, StepResult

# (label, metric family, labels) shown in the counters panel
COUNTERS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("XDP firewall passed", "ebpfsentinel_packets", {"interface": "FIREWALL_METRICS", "action": "passed"}),
    ("XDP firewall dropped", "ebpfsentinel_packets", {"interface": "FIREWALL_METRICS", "action": "dropped"}),
    (
        "XDP blocklist drops",
        "ebpfsentinel_packets",
        {"interface": "FIREWALL_METRICS", "action": "blocklist_drops"},
    ),
    (
        "XDP rate-limit throttled",
        "ebpfsentinel_packets",
        {"interface": "RATELIMIT_METRICS", "action": "throttled"},
    ),
    (
        "TC IDS payloads inspected",
        "ebpfsentinel_packets",
        {"interface": "IDS_METRICS", "action": "inspected"},
    ),
    (
        "TC threat-intel dropped",
        "ebpfsentinel_packets",
        {"interface": "THREATINTEL_METRICS", "action": "dropped"},
    ),
    ("TC DNS messages captured", "ebpfsentinel_packets", {"interface": "DNS_METRICS", "action": "emitted"}),
    (
        "uprobe DLP SSL_write captures",
        "ebpfsentinel_packets",
        {"interface": "DLP_METRICS", "action": "write_events"},
    ),
    ("IPS blacklist size", "ebpfsentinel_ips_blacklist_size", {}),
    ("alerts raised", "ebpfsentinel_alerts", {}),
    ("alerts delivered by webhook", "ebpfsentinel_alerts_exported", {"destination": "webhook"}),
)


def read_counters(api: AgentApi) -> dict[str, float]:
    """The COUNTERS from ``/metrics`` (summed over matching samples); empty if unreachable."""
    try:
        text = api.text("/metrics")
    except OSError:
        return {}
    values: dict[str, float] = {}
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for label, name, labels in COUNTERS:
        family = families.get(name)
        if family is None:
            continue
        total = 0.0
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            if all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
        values[label] = total
    return values


class Display:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.console = Console(highlight=False)
        self.header = ""
        self.titles: list[str] = []
        self.results: dict[int, StepResult] = {}
        self.current = -1
        self.counters: dict[str, float] = {}
        self.latest: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._live: Live | None = None

    def say(self, text: str) -> None:
        if not self.quiet:
            if self._live is not None:
                self._live.console.print(text)
            else:
                self.console.print(text)

    def start(self, header: str, titles: list[str]) -> None:
        self.header, self.titles = header, titles
        if not self.quiet:
            self._live = Live(self._render(), console=self.console, refresh_per_second=4, transient=False)
            self._live.start()

    def running(self, index: int) -> None:
        with self._lock:
            self.current = index
        self.refresh()

    def done(self, index: int, result: StepResult) -> None:
        with self._lock:
            self.results[index] = result
        self.refresh()

    def update(self, counters: dict[str, float], latest: list[dict[str, Any]]) -> None:
        with self._lock:
            if counters:
                self.counters = counters
            if latest:
                self.latest = latest
        self.refresh()

    def refresh(self) -> None:
        if self._live is not None:
            self._live.update(self._render())

    def stop(self) -> None:
        if self._live is not None:
            self.refresh()
            self._live.stop()
            self._live = None

    def _render(self) -> Group:
        with self._lock:
            steps = Table(title="attacks", expand=True, show_lines=False)
            for column, style in (("#", "dim"), ("step", "bold"), ("verdict", ""), ("alert", ""),
                                  ("MITRE", "cyan"), ("", "")):  # fmt: skip
                steps.add_column(column, style=style)
            for i, title in enumerate(self.titles):
                result = self.results.get(i)
                if result is None:
                    mark = Text("running", style="yellow") if i == self.current else Text("-", style="dim")
                    steps.add_row(str(i + 1), title, "", "", "", mark)
                else:
                    mark = (
                        Text("PASS", style="bold green") if result.passed else Text("FAIL", style="bold red")
                    )
                    verdict = result.verdict + ("\n" + "; ".join(result.problems) if result.problems else "")
                    steps.add_row(str(i + 1), title, verdict, result.alert, result.mitre, mark)
            alerts = Table(title="newest alerts (GET /api/v1/alerts)", expand=True)
            for column in ("component", "severity", "rule", "action", "MITRE"):
                alerts.add_column(column)
            for alert in self.latest[:6]:
                alerts.add_row(
                    str(alert.get("component")),
                    str(alert.get("severity")),
                    str(alert.get("rule_id")),
                    str(alert.get("action")),
                    str(alert.get("mitre_technique_id", "-")),
                )
            counters = Table(title="counters (GET /metrics)", expand=True)
            counters.add_column("counter")
            counters.add_column("value", justify="right")
            for label, _, _ in COUNTERS:
                if label in self.counters:
                    counters.add_row(label, f"{self.counters[label]:,.0f}")
            bottom = Table.grid(expand=True)
            bottom.add_column(ratio=3)
            bottom.add_column(ratio=2)
            bottom.add_row(alerts, counters)
            return Group(Panel(self.header, title="eBPFsentinel demo"), steps, bottom)


def summary_lines(results: list[StepResult]) -> list[str]:
    lines = []
    for i, r in enumerate(results, 1):
        line = f"{'PASS' if r.passed else 'FAIL'} {i}. {r.title}: {r.verdict} | {r.alert} | {r.mitre}"
        if r.problems:
            line += " | problems: " + "; ".join(r.problems)
        lines.append(line)
    return lines
