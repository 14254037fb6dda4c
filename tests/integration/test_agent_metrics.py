"""Prometheus /metrics on a live agent, on http_port and on metrics_port (contract §2.0, §4, §6.7).

    root netns                                          lab netns
    [agent] XDP fw -> ratelimit, TC ids/ti/dns  <== veth ==>  peer: denied pings, a DNS query
    DNS responder on host_ip:53 (ads.evil.example is blocklisted)

Every family documented in docs/metrics.md is scraped from both listeners with its documented
type, and the kernel counters, ring accounting, alert, DNS and reload series move with the
traffic and requests the test makes.
"""

import re
import sys
import urllib.error
import urllib.request
from pathlib import Path

from _agent import AgentProcess, agent_yaml, free_port, wait_until
from _dns import QUERY, Responder
from prometheus_client.parser import text_string_to_metric_families

from sentinel_agent.lab import VethLab

DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
CONFIG = """firewall:
  mode: block
  rules:
    - {{id: deny-peer-icmp, priority: 10, action: deny, protocol: icmp, src_ip: "{peer}/32"}}
ratelimit:
  enabled: true
  default_rate: 100000
  default_burst: 100000
dns:
  blocklist:
    domains: ["*.evil.example"]
    action: block
dlp:
  enabled: false
"""
BY_RULE = "ebpfsentinel_alerts_by_rule_total"
Series = dict[tuple[tuple[str, str], ...], float]


def documented_families() -> dict[str, str]:
    """{family: type} from the generated table of docs/metrics.md."""
    row = re.compile(r"^\| `(ebpfsentinel_\w+)`(?: \*\(ours\)\*)? \| (counter|gauge) \|", re.M)
    return dict(row.findall(DOCS.read_text()))


def scrape(port: int, path: str = "/metrics") -> tuple[int, dict[str, Series], dict[str, str]]:
    """(status, {family as exposed: {labels: value}}, {family: type})."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, {}, {}
    values: dict[str, Series] = {}
    kinds: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        name = f"{family.name}_total" if family.type == "counter" else family.name
        kinds[name] = family.type
        values[name] = {tuple(sorted(s.labels.items())): s.value for s in family.samples}
    return status, values, kinds


def get(values: dict[str, Series], name: str, **labels: str) -> float:
    return values[name].get(tuple(sorted(labels.items())), 0.0)


def packets(values: dict[str, Series], interface: str, action: str) -> float:
    return get(values, "ebpfsentinel_packets_total", interface=interface, action=action)


def test_metrics_on_both_listeners_follow_the_traffic(tmp_path: Path) -> None:
    documented = documented_families()
    assert len(documented) >= 30
    with VethLab(prefix="met") as lab:
        http_port = free_port()
        config = tmp_path / "agent.yaml"
        body = CONFIG.format(peer=lab.peer_ip)
        config.write_text(agent_yaml(lab.host_if, http_port, body, data_dir=tmp_path / "data"))
        configured = re.search(r"metrics_port: (\d+)", config.read_text())
        assert configured is not None
        metrics_port = int(configured.group(1))
        responder = Responder(lab.host_ip, "198.51.100.7")
        try:
            with AgentProcess(config, http_port, tmp_path / "agent.log") as agent:
                _, before, _ = scrape(metrics_port)
                assert lab.ping_from_peer(lab.host_ip, count=3) == 0  # denied in XDP
                out = lab.ns(sys.executable, "-c", QUERY, lab.host_ip, "ads.evil.example", timeout=20)
                assert int(out.stdout.strip()) > 12
                assert agent.request("POST", "/api/v1/config/reload")[0] == 200
                rule_count = agent.get("/api/v1/agent/status")[1]["rule_count"]

                def settled() -> bool:
                    values = scrape(http_port)[1]
                    return (
                        get(values, BY_RULE, component="firewall", rule_id="deny-peer-icmp") == 3
                        and get(values, "ebpfsentinel_dns_blocked_domains_total") >= 1
                        and get(values, "ebpfsentinel_alert_store_entries") >= 4  # stored asynchronously
                    )

                assert wait_until(settled, timeout=15)
                rest_status, rest, rest_kinds = scrape(http_port)
                status, after, kinds = scrape(metrics_port)
                assert (rest_status, status) == (200, 200)
                assert scrape(metrics_port, "/healthz")[0] == 404  # the metrics listener serves /metrics only
        finally:
            responder.close()

    # Every documented family really exists, on both listeners, with its documented type.
    assert {name: rest_kinds.get(name) for name in documented} == documented
    assert {name: kinds.get(name) for name in documented} == documented

    # Kernel per-CPU counters, summed and mirrored with the §6.7 labels, moved with the traffic.
    def moved(interface: str, action: str) -> float:
        return packets(after, interface, action) - packets(before, interface, action)

    assert moved("FIREWALL_METRICS", "dropped") >= 3
    assert moved("FIREWALL_METRICS", "total_seen") > 0
    assert moved("RATELIMIT_METRICS", "total_seen") > 0
    assert packets(after, "RATELIMIT_METRICS", "dropped") == 0  # nothing over a 100k/s limit
    assert packets(after, "DNS_METRICS", "emitted") >= 1
    for interface in ("IDS_METRICS", "THREATINTEL_METRICS"):
        assert packets(after, interface, "total_seen") >= 1
    # A later scrape never shows less than an earlier one (counters are cumulative).
    for labels, value in rest["ebpfsentinel_packets_total"].items():
        assert after["ebpfsentinel_packets_total"][labels] >= value

    # Ring accounting adds up: committed = read (+ in flight), none rejected.
    for source in ("xdp-firewall", "tc-dns"):
        emitted = get(after, "ebpfsentinel_ringbuf_events_total", source=source)
        read = get(after, "ebpfsentinel_ringbuf_events_read_total", source=source)
        assert emitted >= read >= 1, source
        dropped = "ebpfsentinel_ringbuf_events_dropped_total"
        assert get(after, dropped, source=source, reason="decode_failed") == 0, source
    assert get(after, "ebpfsentinel_ringbuf_events_read_total", source="xdp-firewall") >= 3

    for program in ("xdp_firewall", "xdp_ratelimit", "tc_ids", "tc_threatintel", "tc_dns"):
        assert get(after, "ebpfsentinel_ebpf_program_status", program=program) == 1, program
    assert get(after, "ebpfsentinel_rules_loaded", component="firewall") == rule_count >= 1
    assert get(after, "ebpfsentinel_rules_loaded", component="dns") == 1
    assert get(after, "ebpfsentinel_rules_reloads_total", component="config", result="success") == 1

    firewall_alerts = get(
        after, "ebpfsentinel_alerts_total", component="firewall", severity="medium", technique_id="T1046"
    )
    assert firewall_alerts == 3
    assert get(after, "ebpfsentinel_alerts_dropped_total", reason="dedup") >= 2  # same key, one window
    assert get(after, "ebpfsentinel_alert_store_entries") >= 4
    assert get(after, "ebpfsentinel_dns_cache_entries") >= 1
    assert get(after, "ebpfsentinel_dns_injected_ips") == 1
    assert get(after, "ebpfsentinel_ips_blacklist_size") == 0
    assert get(after, "ebpfsentinel_memory_usage_bytes") > 10_000_000
    assert get(after, "ebpfsentinel_thread_count") > 1 and get(after, "ebpfsentinel_open_fds") > 3
    assert after["ebpfsentinel_metrics_collect_errors_total"] == {}  # every section read
