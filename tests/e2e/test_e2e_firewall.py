"""The firewall and rate limiter end to end: YAML, REST, signals, real packets, /metrics.

    attacker netns                    root netns: the agent (XDP)             sink netns
    peer 198.18.A.2 (+ .17, ::10) ==> att host_if ── forwarding ── snk host_if ==> peer 198.18.S.2
    raw frames, pings, SYN bursts      AF_PACKET counts what XDP passed          SYN counter (far side)

One agent for the module (the IDS, DNS, threat-intel and DLP programs are off: this module is about
the XDP path); every case uses its own ports or source addresses so the cases stay independent.
"""

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from _lab import (
    AGENT,
    SNIFFER,
    Agent,
    Lab,
    agent_yaml,
    arrivals,
    free_port,
    ipv4_frame,
    mac_of,
    metric,
    send_frames,
    udp_to,
    wait_until,
)

LEAN = "ids: {enabled: false}\nthreatintel: {enabled: false}\ndns: {enabled: false}\ndlp: {enabled: false}\n"
RULES = """firewall:
  mode: block
  rules:
    - {{id: deny-cidr, priority: 10, action: deny, src_ip: "{net}.16/30"}}
    - {{id: deny-range, priority: 11, action: deny, protocol: tcp, dst_port: "7100-7199"}}
    - {{id: deny-udp, priority: 12, action: deny, protocol: udp, dst_port: 7300}}
    - {{id: deny-vlan, priority: 13, action: deny, vlan_id: 100}}
    - {{id: deny-v6, priority: 14, action: deny, protocol: icmpv6, src_ip: "{v6}/128"}}
{extra}ratelimit:
  enabled: true
  default_rate: 100000
  default_burst: 100000
  rules:
    - {{id: syn-cap, rate: 1, burst: 10, src_ip: "{net}.20/32", algorithm: token_bucket}}
alerting:
  dedup_window_secs: 0
  throttle_window_secs: 0
"""
SYN_7600 = "    - {id: yaml-deny-7600, priority: 15, action: deny, protocol: tcp, dst_port: 7600}\n"


@dataclass
class Rig:
    lab: Lab
    agent: Agent
    config: Path
    head: str
    net: str  # the attacker subnet's first three octets
    v6: str  # the attacker's denied IPv6 source

    def write(self, extra: str = "") -> None:
        self.config.write_text(self.head + LEAN + RULES.format(net=self.net, v6=self.v6, extra=extra))

    @property
    def mac(self) -> str:
        return mac_of(self.lab.attacker.host_if)

    def frame(self, proto: int, dport: int, src_host: int = 2, **kw: object) -> bytes:
        return ipv4_frame(self.mac, f"{self.net}.{src_host}", self.lab.attacker.host_ip, proto, dport, **kw)  # type: ignore[arg-type]

    def passed(self, frames: list[bytes], dport: int) -> int:
        """How many of ``frames`` (all to ``dport``) XDP let through."""
        return arrivals(
            self.lab.attacker.host_if, udp_to(dport), lambda: send_frames(self.lab.attacker, frames)
        )

    def ping(self, source: str, target: str, v6: bool = False) -> int:
        cmd = ["ping", "-6" if v6 else "-4", "-n", "-q", "-c", "1", "-W", "1", "-I", source, target]
        out = self.lab.attacker.ns(*cmd, check=False, timeout=10).stdout
        return next(
            (int(line.split(",")[1].split()[0]) for line in out.splitlines() if "received" in line), 0
        )

    def metrics(self) -> str:
        return str(self.agent.text("/metrics"))


LAB_PREFIX = "efw"


@pytest.fixture(scope="module")
def rig(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    tmp = tmp_path_factory.mktemp("e2e-fw")
    att = lab.attacker
    net = att.peer_ip.rsplit(".", 1)[0]
    v6 = att.peer_ip6.replace("::2", "::10")
    att.ns("ip", "addr", "add", f"{net}.17/24", "dev", att.peer_if)
    att.ns("ip", "-6", "addr", "add", f"{v6}/64", "dev", att.peer_if, "nodad")
    port = free_port()
    config = tmp / "agent.yaml"
    head = agent_yaml(att.host_if, port, data_dir=tmp / "data")
    subject = Rig(lab, None, config, head, net, v6)  # type: ignore[arg-type]
    subject.write()
    with Agent(config, port, tmp / "agent.log") as agent:
        subject.agent = agent
        yield subject


def test_cidr_rule_drops_its_sources_only(rig: Rig) -> None:
    host = rig.lab.attacker.host_ip
    assert rig.ping(f"{rig.net}.2", host) == 1
    assert rig.ping(f"{rig.net}.17", host) == 0


def test_port_range_edges(rig: Rig) -> None:
    ports: Counter[int] = Counter()

    def match(frame: bytes) -> bool:
        if frame[12:14] == b"\x08\x00" and frame[23] == 6:
            ports[int.from_bytes(frame[36:38], "big")] += 1
        return False

    frames = [rig.frame(6, p) for p in (7099, 7100, 7150, 7199, 7200) for _ in range(2)]
    arrivals(rig.lab.attacker.host_if, match, lambda: send_frames(rig.lab.attacker, frames))
    assert ports[7099] == ports[7200] == 2
    assert ports[7100] == ports[7150] == ports[7199] == 0


def test_protocol_decides_on_the_same_port(rig: Rig) -> None:
    assert rig.passed([rig.frame(17, 7300) for _ in range(3)], 7300) == 0
    assert rig.passed([rig.frame(6, 7300) for _ in range(3)], 7300) == 3


def test_vlan_rule_drops_its_tag_only(rig: Rig) -> None:
    """No 8021q module in this kernel, so no VLAN subinterface: the attacker sends tagged frames."""
    assert rig.passed([rig.frame(17, 7401, vlan=100) for _ in range(3)], 7401) == 0
    assert rig.passed([rig.frame(17, 7402, vlan=101) for _ in range(3)], 7402) == 3
    assert rig.passed([rig.frame(17, 7403) for _ in range(3)], 7403) == 3


def test_ipv6_rule(rig: Rig) -> None:
    host6 = rig.lab.attacker.host_ip6
    assert rig.ping(rig.lab.attacker.peer_ip6, host6, v6=True) == 1
    assert rig.ping(rig.v6, host6, v6=True) == 0


def test_rest_rule_takes_effect_and_its_deletion_restores_traffic(rig: Rig) -> None:
    frames = [rig.frame(17, 7500) for _ in range(3)]
    assert rig.passed(frames, 7500) == 3
    rule = {"id": "rest-deny-7500", "priority": 20, "action": "deny", "protocol": "udp", "dst_port": 7500}
    assert rig.agent.request("POST", "/api/v1/firewall/rules", rule)[0] == 201
    assert rig.passed(frames, 7500) == 0
    assert rig.agent.request("DELETE", "/api/v1/firewall/rules/rest-deny-7500")[0] == 204
    assert rig.passed(frames, 7500) == 3


def cli(rig: Rig, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [AGENT, "--port", str(rig.agent.port), "-o", "json", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def test_the_cli_adds_lists_and_deletes_a_rule_that_the_kernel_enforces(rig: Rig) -> None:
    frames = [rig.frame(17, 7550) for _ in range(3)]
    rule = '{"id": "cli-deny-7550", "priority": 21, "action": "deny", "protocol": "udp", "dst_port": 7550}'
    assert cli(rig, "firewall", "add", "--json", rule).returncode == 0
    listed = json.loads(cli(rig, "firewall", "list").stdout)
    assert "cli-deny-7550" in [r["id"] for r in listed]
    assert rig.passed(frames, 7550) == 0
    assert json.loads(cli(rig, "firewall", "delete", "cli-deny-7550").stdout) == {"deleted": "cli-deny-7550"}
    assert rig.passed(frames, 7550) == 3
    assert cli(rig, "config", "test", "-c", str(rig.config)).returncode == 0


def test_yaml_edit_and_sighup_then_invalid_yaml_changes_nothing(rig: Rig) -> None:
    frames = [rig.frame(6, 7600) for _ in range(3)]
    assert rig.passed(frames, 7600) == 3
    reloads = len(rig.agent.events("configuration reloaded"))
    rig.write(SYN_7600)
    rig.agent.signal(signal.SIGHUP)
    assert wait_until(lambda: len(rig.agent.events("configuration reloaded")) > reloads, timeout=15)
    assert wait_until(lambda: rig.passed(frames, 7600) == 0, timeout=5)

    rejected = len(rig.agent.events("configuration reload rejected; the running configuration is kept"))
    rig.config.write_text(rig.config.read_text() + "firewall: [ {id: broken\n")
    rig.agent.signal(signal.SIGHUP)
    assert wait_until(
        lambda: (
            len(rig.agent.events("configuration reload rejected; the running configuration is kept"))
            > rejected
        ),
        timeout=15,
    )
    assert rig.passed(frames, 7600) == 0  # the running rules are untouched
    assert rig.passed([rig.frame(17, 7300)], 7300) == 0
    assert rig.agent.get("/readyz")[0] == 200
    rig.write(SYN_7600)  # leave a valid file behind for the cases after this one


def test_rate_limit_on_a_syn_burst_counted_on_the_far_side(rig: Rig) -> None:
    sink = rig.lab.sink

    def far_side(src_host: int, count: int, dport: int) -> tuple[int, float]:
        """SYNs counted in the sink namespace, and the time their sending took (an upper bound)."""
        cmd = [
            "ip",
            "netns",
            "exec",
            sink.netns,
            sys.executable,
            "-c",
            SNIFFER,
            sink.peer_if,
            "6",
            str(dport),
        ]
        sniffer = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert sniffer.stdout is not None and sniffer.stdout.readline().strip() == "ready"
            frames = [
                ipv4_frame(rig.mac, f"{rig.net}.{src_host}", sink.peer_ip, 6, dport, sport=30000 + i)
                for i in range(count)
            ]
            started = time.monotonic()
            send_frames(rig.lab.attacker, frames)
            elapsed = time.monotonic() - started
            time.sleep(0.5)  # forwarding settles; then closing stdin ends the count
            out, _ = sniffer.communicate(input="", timeout=15)
            return int(out.strip()), elapsed
        finally:
            if sniffer.poll() is None:
                sniffer.kill()
                sniffer.wait()

    assert far_side(2, 30, 7700)[0] == 30  # an unlimited source: every SYN is forwarded
    arrived, elapsed = far_side(20, 60, 7701)  # syn-cap: burst 10, then 1 per second
    assert 10 <= arrived <= 10 + int(elapsed) + 1
    assert wait_until(
        lambda: (
            metric(
                rig.metrics(), "ebpfsentinel_packets_total", interface="RATELIMIT_METRICS", action="throttled"
            )
            >= 60 - arrived
        ),
        timeout=5,
    )


FW = {"interface": "FIREWALL_METRICS"}


def counters(rig: Rig) -> dict[str, float]:
    text = rig.metrics()
    names = ("total_seen", "passed", "dropped", "errors", "events_emitted", "events_dropped")
    return {n: metric(text, "ebpfsentinel_packets_total", action=n, **FW) for n in names}


def test_packet_accountability_seen_equals_passed_plus_dropped(rig: Rig) -> None:
    allowed = [rig.frame(17, 7800) for _ in range(7)]
    denied = [rig.frame(17, 7801, src_host=17) for _ in range(5)]
    good = rig.frame(17, 7802)
    malformed = [
        good[:14] + good[14:30],
        good[:14] + bytes([0x44]) + good[15:],
        good[:16] + b"\x05\xdc" + good[18:],
    ]
    rig.lab.attacker.ns("ip", "neigh", "flush", "all")  # no neighbour probe may cross the count
    before = counters(rig)
    sent = send_frames(rig.lab.attacker, allowed + denied + malformed)
    assert sent == 15

    def delta() -> dict[str, float]:
        after = counters(rig)
        return {k: after[k] - before[k] for k in after}

    assert wait_until(lambda: delta()["total_seen"] >= sent, timeout=5)
    d = delta()
    assert d["total_seen"] == sent
    assert d["total_seen"] == d["passed"] + d["dropped"]
    assert (d["dropped"], d["errors"]) == (5, 3)  # the malformed frames fail open (default pass)


def test_ring_accounting_identity_under_load(rig: Rig) -> None:
    src = {"source": "xdp-firewall"}
    burst = [rig.frame(17, 7900 + i % 50, src_host=18) for i in range(3000)]  # every one denied + reported
    text = rig.metrics()
    emitted0 = metric(text, "ebpfsentinel_ringbuf_events_total", **src)
    lost0 = metric(text, "ebpfsentinel_ringbuf_events_dropped_total", **src)
    fw0 = counters(rig)
    send_frames(rig.lab.attacker, burst)

    def settled() -> bool:
        text = rig.metrics()
        emitted = metric(text, "ebpfsentinel_ringbuf_events_total", **src)
        read = metric(text, "ebpfsentinel_ringbuf_events_read_total", **src)
        return emitted >= emitted0 + 1 and read == emitted

    assert wait_until(settled, timeout=20)
    text = rig.metrics()
    fw1 = counters(rig)
    emitted = metric(text, "ebpfsentinel_ringbuf_events_total", **src) - emitted0
    kernel_lost = (
        sum(
            metric(text, "ebpfsentinel_ringbuf_events_dropped_total", reason=r, **src)
            for r in ("channel_full", "reserve_failed")
        )
        - lost0
    )
    assert fw1["dropped"] - fw0["dropped"] == len(burst)
    assert emitted + kernel_lost == len(burst)  # every denied packet was reported or counted as lost
    assert metric(text, "ebpfsentinel_ringbuf_events_dropped_total", reason="decode_failed", **src) == 0
