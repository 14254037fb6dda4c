"""Threat-intel feeds end to end: the agent fetches plaintext and STIX feeds over HTTP, loads the
IOCs into tc_threatintel, and a refresh over REST swaps them.

    root netns                                           lab netns
    feed server on 127.0.0.1 (this process)
    [agent] TC tc_threatintel on host_if  <== veth ==>   peer_if: .2 (clean), .3 .4 .5 (IOCs)
    UDP receiver on host_ip:PORT (counts per source)     UDP datagrams from each address

Loopback feed URLs are allowed by ``threatintel.allow_networks`` (the SSRF guard refuses them
otherwise).
"""

import json
import socket
import sys
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _agent import AgentProcess, agent_yaml, free_port, wait_until

from integration.fixtures.feed_server import FeedServer
from sentinel_agent.lab import VethLab

SEND = r"""
import socket, sys
src, dst, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
for i in range(count):
    s.sendto(b"probe %d" % i, (dst, port))
"""
COUNT = 20


class UdpCounter:
    """Counts datagrams per source address arriving at ``host:port`` (what TC let through)."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.settimeout(0.2)
        self.seen: Counter[str] = Counter()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                _, (src, _port) = self.sock.recvfrom(2048)
            except TimeoutError:
                continue
            with self._lock:
                self.seen[src] += 1

    def count(self, src: str) -> int:
        with self._lock:
            return self.seen[src]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def stix(*addresses: str) -> bytes:
    objects: list[dict[str, Any]] = [
        {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--00000000-0000-4000-8000-00000000000{i}",
            "pattern": f"[ipv4-addr:value = '{a}']",
            "pattern_type": "stix",
            "valid_from": "2024-01-01T00:00:00Z",
            "indicator_types": ["command-and-control"],
            "confidence": 90,
        }
        for i, a in enumerate(addresses)
    ]
    return json.dumps({"type": "bundle", "id": "bundle--1", "objects": objects}).encode()


class Rig:
    def __init__(self, lab: VethLab, server: FeedServer, tmp_path: Path, mode: str) -> None:
        self.lab = lab
        self.server = server
        self.addr = {n: f"198.18.{lab.subnet}.{n}" for n in (2, 3, 4, 5)}
        for n in (3, 4, 5):
            lab.ns("ip", "addr", "add", f"{self.addr[n]}/24", "dev", lab.peer_if)
        self.port = 20000 + free_port() % 10000
        self.http_port = free_port()
        config = tmp_path / "agent.yaml"
        config.write_text(
            agent_yaml(
                lab.host_if,
                self.http_port,
                f"""firewall: {{enabled: false}}
ratelimit: {{enabled: false}}
ids: {{enabled: false}}
dlp: {{enabled: false}}
dns: {{enabled: false}}
threatintel:
  mode: {mode}
  allow_networks: [127.0.0.0/8]
  feeds:
    - {{id: plain, name: Plain list, url: "{server.url("/plain.txt")}", format: plaintext}}
    - {{id: stix, name: STIX bundle, url: "{server.url("/bundle.json")}", format: stix}}
""",
            )
        )
        self.config = config

    def send(self, n: int, count: int = COUNT) -> None:
        self.lab.ns(sys.executable, "-c", SEND, self.addr[n], self.lab.host_ip, str(self.port), str(count))

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.http_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            return str(response.read().decode())


@pytest.fixture
def lab() -> Iterator[VethLab]:
    with VethLab(prefix="tif") as lab:
        yield lab


@pytest.fixture
def server() -> Iterator[FeedServer]:
    s = FeedServer()
    yield s
    s.close()


def ti_alerts(agent: AgentProcess) -> list[dict[str, Any]]:
    return [a for a in agent.events("alert") if a.get("component") == "threatintel"]


def iocs(agent: AgentProcess) -> dict[str, str]:
    return {i["ip"]: i["feed_id"] for i in agent.get("/api/v1/threatintel/iocs")[1]}


def fetched(agent: AgentProcess) -> dict[str, Any]:
    return {f["id"]: f["last_fetched"] for f in agent.get("/api/v1/threatintel/feeds")[1]}


def test_feeds_are_fetched_alerted_on_refreshed_and_failures_keep_the_last_copy(
    lab: VethLab, server: FeedServer, tmp_path: Path
) -> None:
    rig = Rig(lab, server, tmp_path, "alert")
    a = rig.addr
    server.serve("/plain.txt", f"# plaintext feed\n{a[3]}\n".encode())
    server.serve("/bundle.json", stix(a[5]))
    with AgentProcess(rig.config, rig.http_port, tmp_path / "agent.log") as agent:
        assert wait_until(lambda: len(iocs(agent)) == 2, timeout=15), agent.log_path.read_text()[-3000:]
        assert iocs(agent) == {a[3]: "plain", a[5]: "stix"}
        assert all(fetched(agent).values())
        assert agent.get("/api/v1/threatintel/status")[1]["ioc_count"] == 2

        for n in (2, 3, 5):
            rig.send(n, 3)
        assert wait_until(lambda: {x["src_ip"] for x in ti_alerts(agent)} >= {a[3], a[5]}, timeout=10)
        by_source = {x["src_ip"]: x["rule_id"] for x in ti_alerts(agent)}
        assert by_source == {a[3]: "ti-plain", a[5]: "ti-stix"}  # the clean .2 raised nothing

        # The plaintext feed now lists .4 instead of .3; a refresh over REST applies it.
        server.serve("/plain.txt", f"{a[4]}\n".encode())
        before = fetched(agent)["plain"]
        status, body = agent.request("POST", "/api/v1/threatintel/feeds/refresh", {"feed_id": "plain"})
        assert status == 200 and body["status"] == "ok" and "2 ok, 0 failed" in body["message"]
        assert fetched(agent)["plain"] >= before
        seen = len(ti_alerts(agent))
        rig.send(3, 3)
        rig.send(4, 3)
        assert wait_until(lambda: any(x["src_ip"] == a[4] for x in ti_alerts(agent)[seen:]), timeout=10)
        rig.send(5, 1)  # a marker behind them: once its alert is in, .3's would be too
        assert wait_until(lambda: any(x["src_ip"] == a[5] for x in ti_alerts(agent)[seen:]), timeout=10)
        assert a[3] not in {x["src_ip"] for x in ti_alerts(agent)[seen:]}

        # A failing feed (HTTP 500, then garbage) keeps its last good copy and counts failures.
        for broken in ((b"oops", 500), (b"\x00\x01garbage\xff\n" * 10, 200)):
            server.serve("/plain.txt", broken[0], status=broken[1])
            status, body = agent.request("POST", "/api/v1/threatintel/feeds/refresh")
            assert status == 200 and "1 failed (plain)" in body["message"], body
        assert iocs(agent) == {a[4]: "plain", a[5]: "stix"}
        seen = len(ti_alerts(agent))
        rig.send(4, 2)
        assert wait_until(lambda: any(x["src_ip"] == a[4] for x in ti_alerts(agent)[seen:]), timeout=10)
        text = rig.metrics()
        assert 'ebpfsentinel_rules_reloads_total{component="plain",result="failure"} 2.0' in text
        assert 'ebpfsentinel_rules_reloads_total{component="stix",result="success"}' in text
        assert 'ebpfsentinel_threatintel_matches_total{feed="plain"}' in text
        assert 'ebpfsentinel_rules_loaded{component="threatintel"} 2.0' in text
        failures = [r for r in agent.events("threat-intel feed failed") if r.get("feed") == "plain"]
        assert len(failures) == 2 and "500" in failures[0]["error"]

        # A config reload that drops the STIX feed and points "plain" elsewhere applies at once.
        server.serve("/other.txt", f"{a[3]}\n".encode())
        text = rig.config.read_text()
        text = text.replace("/plain.txt", "/other.txt")
        rig.config.write_text(text[: text.index("    - {id: stix")])
        status, body = agent.request("POST", "/api/v1/config/reload")
        assert status == 200, body
        assert wait_until(lambda: iocs(agent) == {a[3]: "plain"}, timeout=10), iocs(agent)
        assert [f["id"] for f in agent.get("/api/v1/threatintel/feeds")[1]] == ["plain"]


def test_block_mode_drops_ioc_traffic_and_a_refresh_moves_the_block(
    lab: VethLab, server: FeedServer, tmp_path: Path
) -> None:
    rig = Rig(lab, server, tmp_path, "block")
    a = rig.addr
    server.serve("/plain.txt", f"{a[3]}\n".encode())
    server.serve("/bundle.json", stix(a[5]))
    counter = UdpCounter(lab.host_ip, rig.port)
    try:
        with AgentProcess(rig.config, rig.http_port, tmp_path / "agent.log") as agent:
            assert wait_until(lambda: len(iocs(agent)) == 2, timeout=15), agent.log_path.read_text()[-3000:]
            for n in (2, 3, 4, 5):
                rig.send(n)
            assert wait_until(
                lambda: counter.count(a[2]) == COUNT and counter.count(a[4]) == COUNT, timeout=10
            )
            assert counter.count(a[3]) == 0 and counter.count(a[5]) == 0

            server.serve("/plain.txt", f"{a[4]}\n".encode())
            status, body = agent.request("POST", "/api/v1/threatintel/feeds/refresh")
            assert status == 200 and body["status"] == "ok"
            for n in (3, 4, 2):
                rig.send(n)
            assert wait_until(lambda: counter.count(a[2]) == 2 * COUNT, timeout=10)
            assert wait_until(lambda: counter.count(a[3]) == COUNT, timeout=5)
            assert counter.count(a[4]) == COUNT  # only the datagrams sent before the refresh
            dropped = [x for x in ti_alerts(agent) if x["action"] == "Block"]
            assert {x["src_ip"] for x in dropped} == {a[3], a[4], a[5]}
    finally:
        counter.close()
