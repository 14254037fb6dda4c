"""REST changes take effect on real traffic within 1 s of the response (issue 9 / contract §2.2).

One agent (XDP firewall → rate limiter, IPS blacklist, tc_dns, tc_ids with the L7 firewall) on a
veth lab; each rule family is created, listed and deleted over HTTP, and after each response a
probe checks that the datapath follows within a 1 s deadline (polled; a correctness deadline).

    root netns                                          lab netns
    [agent] XDP + TC on host_if   <== veth ==>   raw SYNs (any source address), HTTP client,
    AF_PACKET receiver, TCP sink, DNS responder        DNS stub (sockets made via setns)
"""

import json
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from _agent import AGENT, AgentProcess, agent_yaml, free_port, wait_until
from _dns import Responder
from _netns import SynProbe, in_netns

from sentinel_agent.lab import VethLab

pytestmark = pytest.mark.privileged
DEADLINE = 1.0  # seconds from the API response to the datapath showing the change


class Sink:
    """Accepts TCP connections on ``host:port``; keeps what each connection sent (bounded)."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_server((host, port))
        self.sock.settimeout(0.2)
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                data = b""
                try:
                    while len(data) < 65536 and (chunk := conn.recv(4096)):
                        data += chunk
                except OSError:
                    pass
                self.received.append(data)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def resolve_from_peer(lab: VethLab, name: str, ident: int) -> None:
    """One A query for ``name`` from the namespace to host_ip:53; returns once the answer is in."""
    sock: socket.socket = in_netns(lab.netns, lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    with sock:
        sock.settimeout(3)
        qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
        sock.sendto(
            struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + qname + b"\0\1\0\1", (lab.host_ip, 53)
        )
        assert len(sock.recv(512)) > 12


def http_from_peer(lab: VethLab, port: int, path: str) -> None:
    """A plain HTTP/1.1 request from the namespace to host_ip:port (the sink reads it)."""
    sock: socket.socket = in_netns(lab.netns, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    with sock:
        sock.settimeout(3)
        sock.connect((lab.host_ip, port))
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: victim.example\r\n\r\n".encode())


def l7_alerts(agent: AgentProcess, rule_id: str) -> list[dict[str, Any]]:
    return [a for a in agent.events("alert") if a.get("component") == "l7" and a.get("rule_id") == rule_id]


def crud(agent: AgentProcess, path: str, body: dict[str, Any], key: str = "id") -> Any:
    """POST ``body`` to ``path`` (201) and check the list (GET) shows it; returns the created body."""
    status, created = agent.request("POST", path, body)
    assert status in (200, 201), created
    listed = agent.get(path)[1]
    assert any(item.get(key) == body[key] for item in listed), listed
    return created


def test_rest_changes_reach_the_datapath_within_one_second(tmp_path: Path) -> None:
    with VethLab(prefix="rke") as lab:
        port, l7_port, dport = free_port(), 18000 + free_port() % 1000, 9097
        config = tmp_path / "agent.yaml"
        body = f"""firewall:
  mode: block
ratelimit:
  enabled: true
  default_rate: 1000000
  default_burst: 1000000
ips:
  mode: block  # blacklist entries are enforced in XDP only in block mode
dns:
  blocklist:
    action: block
l7:
  enabled: true
  ports: [{l7_port}]
threatintel:
  enabled: false
dlp:
  enabled: false
"""
        config.write_text(agent_yaml(lab.host_if, port, body, data_dir=tmp_path / "data"))
        probe = SynProbe(lab, dport)
        sink = Sink(lab.host_ip, l7_port)
        resolved = lab.peer_address(77)  # the DNS answer: probed as a (raw) source address
        responder = Responder(lab.host_ip, resolved)
        peer = lab.peer_ip
        try:
            with AgentProcess(config, port, tmp_path / "agent.log") as agent:
                assert probe.until(peer, arriving=True, budget=5) is not None  # XDP attached, passing

                # -- firewall deny rule ------------------------------------------------------
                rule = {"id": "rke-deny", "priority": 5, "action": "deny", "protocol": "tcp", "src_ip": peer}
                crud(agent, "/api/v1/firewall/rules", rule)
                assert probe.until(peer, arriving=False, budget=DEADLINE) is not None
                assert probe.burst(peer, 20) == 0
                assert agent.request("DELETE", "/api/v1/firewall/rules/rke-deny")[0] == 204
                assert probe.until(peer, arriving=True, budget=DEADLINE) is not None

                # -- rate-limit rule: a burst is cut to the rule's burst -------------------------
                # The peer already has a token bucket (default policy, a million tokens): xdp_ratelimit
                # clamps it to the new rule's burst at the rule's next refill tick, 1/rate s later
                # (100 ms here), so the first burst right after the 201 may still pass whole.
                assert probe.burst(peer, 60) == 60
                limit = {"id": "rke-rl", "rate": 10, "burst": 5, "src_ip": f"{peer}/32"}
                crud(agent, "/api/v1/ratelimit/rules", limit)
                start = time.monotonic()
                cut = False
                while not cut and time.monotonic() - start <= DEADLINE:
                    cut = probe.burst(peer, 60, settle=0.1) <= 5 + 2
                assert cut
                assert agent.request("DELETE", "/api/v1/ratelimit/rules/rke-rl")[0] == 204
                start = time.monotonic()
                whole = False
                while not whole and time.monotonic() - start <= DEADLINE:
                    whole = probe.burst(peer, 60, settle=0.1) == 60
                assert whole

                # -- IPS blacklist: the source is dropped in XDP -------------------------------
                crud(agent, "/api/v1/ips/blacklist", {"ip": peer, "reason": "rke test"}, key="ip")
                assert probe.until(peer, arriving=False, budget=DEADLINE) is not None
                assert probe.burst(peer, 20) == 0
                assert agent.request("DELETE", f"/api/v1/ips/blacklist/{peer}")[0] == 204
                assert probe.until(peer, arriving=True, budget=DEADLINE) is not None

                # -- L7 deny rule on an HTTP path: detection only (contract §7.7) -----------------
                # "block" for L7 is an alert with action block (component l7) and an audit "drop";
                # the kernel only copies the payload, so the request itself still reaches the server.
                l7 = {"id": "rke-l7", "priority": 1, "action": "deny", "protocol": "http", "path": "/secret"}
                status, created = agent.request("POST", "/api/v1/firewall/l7-rules", l7)
                assert status == 201 and created["matcher"]["path_pattern"] == "/secret"
                assert "rke-l7" in [r["id"] for r in agent.get("/api/v1/firewall/l7-rules")[1]]
                http_from_peer(lab, l7_port, "/secret/keys")
                assert wait_until(lambda: l7_alerts(agent, "rke-l7"), timeout=DEADLINE, step=0.02)
                alert = l7_alerts(agent, "rke-l7")[0]
                assert (alert["action"], alert["src_ip"], alert["dst_port"]) == ("Block", peer, l7_port)
                assert wait_until(lambda: any(b"/secret/keys" in r for r in sink.received), timeout=3)
                assert agent.request("DELETE", "/api/v1/firewall/l7-rules/rke-l7")[0] == 204
                assert agent.request("DELETE", "/api/v1/firewall/l7-rules/rke-l7")[0] == 404
                http_from_peer(lab, l7_port, "/secret/again")  # no rule now: served, not alerted
                assert wait_until(lambda: any(b"/secret/again" in r for r in sink.received), timeout=3)
                time.sleep(DEADLINE)  # the consumer had the time it had above to report a match
                assert len(l7_alerts(agent, "rke-l7")) == 1

                # -- domain blocklist: an answer for the domain gets its address blocked ----------
                resolve_from_peer(lab, "ok.rke.example", 1)  # not blocklisted: its answer blocks nothing
                assert probe.until(resolved, arriving=True, budget=DEADLINE) is not None
                status, added = agent.request(
                    "POST", "/api/v1/domains/blocklist", {"domain": "bad.rke.example"}
                )
                assert (status, added) == (200, {"domain": "bad.rke.example", "added": True})
                assert any(p["pattern"] == "bad.rke.example" for p in agent.get("/api/v1/dns/blocklist")[1])
                resolve_from_peer(lab, "bad.rke.example", 2)
                assert probe.until(resolved, arriving=False, budget=DEADLINE) is not None
                assert probe.burst(resolved, 20) == 0
                cached = agent.get("/api/v1/dns/cache?domain=bad.rke.example")[1]["entries"]
                assert [(e["ips"], e["is_blocked"]) for e in cached] == [([resolved], True)]
                assert agent.get("/api/v1/dns/status")[1]["blocklist_ips_injected"] >= 1
                assert probe.arrives(peer)  # only the resolved address is blocked
                status, removed = agent.request("DELETE", "/api/v1/domains/blocklist/bad.rke.example")
                assert (status, removed) == (200, {"domain": "bad.rke.example", "removed": True})
                assert all(p["pattern"] != "bad.rke.example" for p in agent.get("/api/v1/dns/blocklist")[1])

                # an L7 rule added through the API is kept in LMDB (next block: after a restart)
                kept = {
                    "id": "rke-kept",
                    "priority": 2,
                    "action": "reject",
                    "protocol": "tls",
                    "sni": "*.x.example",
                }
                assert agent.request("POST", "/api/v1/firewall/l7-rules", kept)[0] == 201

            with AgentProcess(config, port, tmp_path / "agent2.log") as agent:
                listed = {r["id"]: r for r in agent.get("/api/v1/firewall/l7-rules")[1]}
                assert set(listed) == {"rke-kept"}  # rke-l7 stayed deleted
                assert listed["rke-kept"]["matcher"] == {"protocol": "tls", "sni_pattern": "*.x.example"}
                history = agent.get("/api/v1/audit/rules/rke-l7/history")[1]["entries"]
                assert [(e["action"], e["actor"]) for e in history] == [
                    ("rule_removed", "api"),
                    ("rule_added", "api"),
                ]
                assert all(e["component"] == "l7" for e in history)
                status, body = agent.request("POST", "/api/v1/config/reload")  # the YAML has no l7 rules
                assert (status, body["status"]) == (200, "ok")
                assert [r["id"] for r in agent.get("/api/v1/firewall/l7-rules")[1]] == ["rke-kept"]

                # the CLI's `l7 add` / `l7 delete` drive the same routes
                def cli(*args: str) -> subprocess.CompletedProcess[str]:
                    command = [AGENT, "--host", "127.0.0.1", "--port", str(port), "-o", "json", *args]
                    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

                rule = {
                    "id": "rke-cli",
                    "priority": 3,
                    "action": "deny",
                    "protocol": "ftp",
                    "command": "DELE",
                }
                added = cli("l7", "add", "--json", json.dumps(rule))
                assert added.returncode == 0, added.stderr
                assert json.loads(added.stdout)["matcher"] == {"protocol": "ftp", "command": "DELE"}
                assert cli("l7", "delete", "rke-cli").returncode == 0
                assert [r["id"] for r in json.loads(cli("l7", "list").stdout)] == ["rke-kept"]
        finally:
            probe.close()
            sink.close()
            responder.close()
