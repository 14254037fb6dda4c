"""``ebpfsentinel-agent replay``: a capture through the real programs (BPF_PROG_TEST_RUN) gives
the verdicts and alerts the live agent gives for the same packets on the wire.

    root netns                                              lab netns
    replay subprocess (nothing attached)
    then [agent] XDP fw -> ratelimit, TC ti/ids/dns on host_if  <== veth ==>  scapy sendp(peer_if)
    AF_PACKET socket on host_if: which frames XDP let through

The capture (scapy ``wrpcap``, real MACs of the lab) holds, in order:
  1 TCP SYN to an open port                      -> pass
  2 TCP SYN to the denied port                   -> drop (firewall rule), firewall alert
  3 TCP segment "GET /etc/passwd" (IDS rule)     -> pass, IDS alert
  4 DNS query for ads.evil.example               -> pass
  5 DNS response: ads.evil.example A 203.0.113.7 -> pass, DNS alert, 203.0.113.7 blocked in XDP
  6 TCP SYN from 203.0.113.7                     -> drop (blocklist), firewall alert
  7,8 UDP from a rate-limited host, 1 ms apart   -> pass, then drop (rate limit), ratelimit alert
"""

import http.server
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from _agent import AGENT, AgentProcess, agent_yaml, free_port, wait_until
from _traffic import ETH_P_ALL, PACKET_OUTGOING, mac_of

from sentinel_agent.lab import VethLab

pytestmark = pytest.mark.privileged

BLOCKED = "203.0.113.7"
EXPECTED_VERDICTS = ["pass", "drop", "pass", "pass", "pass", "drop", "pass", "drop"]
EXPECTED_DROPPED_BY = [None, "xdp_firewall", None, None, None, "xdp_firewall", None, "xdp_ratelimit"]
# (packet index, component, rule_id, action)
EXPECTED_ALERTS = [
    (2, "firewall", "deny-9301", "block"),
    (3, "ids", "ids-passwd", "alert"),
    (5, "dns", "dns-blocklist:*.evil.example", "alert"),
    (6, "firewall", "ips-blocklist", "block"),
    (8, "ratelimit", "rl-limited", "block"),
]
# Alert fields compared between replay and the live agent (ids and timestamps differ by nature).
COMPARED = (
    "component",
    "severity",
    "rule_id",
    "action",
    "src_addr",
    "dst_addr",
    "src_port",
    "dst_port",
    "protocol",
    "message",
    "matched_domain",
)


def config_body(lab: VethLab) -> str:
    limited = f"198.18.{lab.subnet}.60"
    return f"""firewall:
  mode: block
  rules:
    - {{id: deny-9301, priority: 10, action: deny, protocol: tcp, dst_port: 9301}}
ids:
  rules:
    - {{id: ids-passwd, severity: high, protocol: tcp, dst_port: 9302, pattern: "/etc/passwd"}}
dns:
  blocklist:
    domains: ["*.evil.example"]
    action: block
ratelimit:
  enabled: true
  rules:
    - {{id: rl-limited, rate: 1, burst: 1, src_ip: "{limited}/32", algorithm: token_bucket}}
dlp:
  enabled: false
"""


def write_capture(lab: VethLab, path: Path, pcapng: bool = False) -> list[bytes]:
    """The scenario as a capture with the lab's addresses and MACs; returns the frames."""
    from scapy.all import DNS, DNSQR, DNSRR, IP, TCP, UDP, Ether, Raw, wrpcap, wrpcapng

    peer_mac = lab.ns("cat", f"/sys/class/net/{lab.peer_if}/address").stdout.strip()
    eth = Ether(src=peer_mac, dst=_colons(mac_of(lab.host_if)))
    peer, host, limited = lab.peer_ip, lab.host_ip, f"198.18.{lab.subnet}.60"
    name = "ads.evil.example"
    packets = [
        eth / IP(src=peer, dst=host, id=1) / TCP(sport=40001, dport=9300, flags="S"),
        eth / IP(src=peer, dst=host, id=2) / TCP(sport=40002, dport=9301, flags="S"),
        eth
        / IP(src=peer, dst=host, id=3)
        / TCP(sport=40003, dport=9302, flags="PA")
        / Raw(b"GET /etc/passwd HTTP/1.0\r\n\r\n"),
        eth
        / IP(src=peer, dst=host, id=4)
        / UDP(sport=40004, dport=53)
        / DNS(id=7, rd=1, qd=DNSQR(qname=name)),
        eth
        / IP(src=peer, dst=host, id=5)
        / UDP(sport=53, dport=40004)
        / DNS(id=7, qr=1, ra=1, qd=DNSQR(qname=name), an=DNSRR(rrname=name, rdata=BLOCKED, ttl=60)),
        eth / IP(src=BLOCKED, dst=host, id=6) / TCP(sport=40006, dport=9300, flags="S"),
        eth / IP(src=limited, dst=host, id=7) / UDP(sport=40007, dport=9400) / Raw(b"x"),
        eth / IP(src=limited, dst=host, id=8) / UDP(sport=40008, dport=9400) / Raw(b"y"),
    ]
    base = 1_750_000_000.0
    for i, p in enumerate(packets):
        p.time = base + i * 0.01 if i < 7 else base + 0.061  # 7 and 8: 1 ms apart
    if pcapng:
        wrpcapng(str(path), packets)
    else:
        wrpcap(str(path), packets)
    return [bytes(p) for p in packets]


def _colons(mac: str) -> str:
    return ":".join(mac[i : i + 2] for i in range(0, 12, 2))


def replay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AGENT, "replay", *args], check=False, capture_output=True, text=True, timeout=120)


def replay_json(capture: Path, config: Path) -> dict[str, Any]:
    result = replay(str(capture), "-c", str(config), "-o", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def assert_expected(doc: dict[str, Any]) -> None:
    packets = doc["packets"]
    assert [p["verdict"] for p in packets] == EXPECTED_VERDICTS
    assert [p["decided_by"] for p in packets] == EXPECTED_DROPPED_BY
    found = [(p["index"], a["component"], a["rule_id"], a["action"]) for p in packets for a in p["alerts"]]
    assert found == EXPECTED_ALERTS
    assert {"program": "xdp_firewall", "rule_id": "deny-9301", "action": "drop"} in packets[1]["rule_hits"]
    assert {"program": "xdp_ratelimit", "rule_id": "rl-limited", "action": "drop"} in packets[7]["rule_hits"]
    assert doc["summary"]["verdicts"] == {"drop": 3, "pass": 5}
    assert doc["programs"] == ["xdp_firewall", "xdp_ratelimit", "tc_threatintel", "tc_ids", "tc_dns"]


def comparable(alerts: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(tuple(json.dumps(a.get(k), sort_keys=True) for k in COMPARED) for a in alerts)


SENDER = r"""
import sys
from scapy.all import rdpcap, sendp
packets = rdpcap(sys.argv[1])
iface = sys.argv[2]
print("ready", flush=True)
for line in sys.stdin:
    sendp([packets[int(i) - 1] for i in line.split()], iface=iface, verbose=False)
    print("sent", flush=True)
"""


class Arrivals:
    """Inbound frames on ``interface`` (AF_PACKET sees what XDP passed), collected in a thread."""

    def __init__(self, interface: str) -> None:
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((interface, 0))
        self.sock.settimeout(0.1)
        self.frames: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                frame, addr = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            if addr[2] != PACKET_OUTGOING:
                self.frames.append(frame)

    def seen(self, frame: bytes) -> bool:
        return any(f == frame for f in list(self.frames))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def live_alerts(agent: AgentProcess) -> list[dict[str, Any]]:
    status, body = agent.get("/api/v1/alerts?limit=1000")
    assert status == 200, body
    return list(body["alerts"])


def test_replay_gives_the_live_agents_verdicts_and_alerts(tmp_path: Path) -> None:
    with VethLab(prefix="rpl") as lab:
        http_port = free_port()
        config = tmp_path / "agent.yaml"
        config.write_text(agent_yaml(lab.host_if, http_port, config_body(lab), tmp_path / "data"))
        capture = tmp_path / "scenario.pcap"
        frames = write_capture(lab, capture)

        doc = replay_json(capture, config)
        assert_expected(doc)
        replayed = [a for p in doc["packets"] for a in p["alerts"]]
        assert {a["src_addr"][0] for a in replayed if a["component"] == "ratelimit"} != {0}

        # The same packets on the wire, through the real agent.
        with AgentProcess(config, http_port, tmp_path / "agent.log", ready_timeout=60) as agent:
            arrivals = Arrivals(lab.host_if)
            sender = subprocess.Popen(
                ["ip", "netns", "exec", lab.netns, sys.executable, "-c", SENDER, str(capture), lab.peer_if],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            try:
                assert sender.stdout is not None and sender.stdin is not None
                assert sender.stdout.readline().strip() == "ready"
                expected_alerts = 0
                for group in ([1], [2], [3], [4], [5], [6], [7, 8]):  # 7 and 8 back to back
                    sender.stdin.write(" ".join(map(str, group)) + "\n")
                    sender.stdin.flush()
                    assert sender.stdout.readline().strip() == "sent"
                    expected_alerts += sum(len(doc["packets"][i - 1]["alerts"]) for i in group)
                    assert wait_until(lambda n=expected_alerts: len(live_alerts(agent)) >= n, timeout=10)
                    for i in group:
                        if EXPECTED_VERDICTS[i - 1] == "pass":
                            assert wait_until(lambda i=i: arrivals.seen(frames[i - 1]), timeout=5), i
                    time.sleep(0.3)  # let late arrivals of dropped frames (there must be none) show
                    for i in group:
                        assert arrivals.seen(frames[i - 1]) == (EXPECTED_VERDICTS[i - 1] == "pass"), i
            finally:
                if sender.stdin is not None:
                    sender.stdin.close()
                sender.wait(timeout=20)
                arrivals.close()
            live = live_alerts(agent)
            assert comparable(live) == comparable(replayed)


def test_pcapng_replays_like_pcap(tmp_path: Path) -> None:
    with VethLab(prefix="rpn") as lab:
        config = tmp_path / "agent.yaml"
        config.write_text(agent_yaml(lab.host_if, free_port(), config_body(lab), tmp_path / "data"))
        capture = tmp_path / "scenario.pcapng"
        write_capture(lab, capture, pcapng=True)
        assert capture.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"
        assert_expected(replay_json(capture, config))


class _Feed(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"# test feed\n203.0.113.99\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_threat_intel_feeds_are_fetched_and_enforced_by_tc_threatintel(tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Feed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/plain.txt"
        config = tmp_path / "agent.yaml"
        body = f"""threatintel:
  mode: block
  allow_networks: [127.0.0.0/8]
  feeds:
    - {{id: plain, name: Plain list, url: "{url}", format: plaintext}}
dlp:
  enabled: false
"""
        config.write_text(agent_yaml("replay0", free_port(), body, tmp_path / "data"))
        from scapy.all import IP, UDP, Ether, wrpcap

        eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        capture = tmp_path / "ti.pcap"
        wrpcap(
            str(capture),
            [
                eth / IP(src="203.0.113.99", dst="198.51.100.1") / UDP(sport=1000, dport=2000),
                eth / IP(src="203.0.113.98", dst="198.51.100.1") / UDP(sport=1000, dport=2000),
            ],
        )
        result = replay(str(capture), "-c", str(config), "-o", "json")
        assert result.returncode == 0, result.stderr
        assert "1 feed(s) refreshed: 1 ok, 0 failed; 1 IOCs loaded" in result.stderr
        packets = json.loads(result.stdout)["packets"]
        assert [(p["verdict"], p["decided_by"]) for p in packets] == [
            ("drop", "tc_threatintel"),
            ("pass", None),
        ]
        assert [(a["component"], a["rule_id"], a["action"]) for a in packets[0]["alerts"]] == [
            ("threatintel", "ti-plain", "block")
        ]
        assert packets[0]["rule_hits"] == [
            {"program": "tc_threatintel", "rule_id": "ti-plain", "action": "drop"}
        ]
    finally:
        server.shutdown()
        server.server_close()


def test_a_truncated_capture_is_a_clear_error_without_a_traceback(tmp_path: Path) -> None:
    from scapy.all import IP, TCP, Ether, wrpcap

    path = tmp_path / "cut.pcap"
    eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")  # explicit: no ARP lookup
    wrpcap(str(path), [eth / IP() / TCP(), eth / IP() / TCP()])
    path.write_bytes(path.read_bytes()[:-10])
    result = replay(str(path), "-o", "json")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"replay: {path}: truncated pcap capture after packet 1: "
        "the file ends 10 bytes short of a complete record"
    )
    assert result.stdout == ""
