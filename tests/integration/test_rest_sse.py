"""``GET /api/v1/alerts/stream`` (contract §2.4) on a real agent with real firewall alerts.

root netns                          lab netns
[agent] XDP on host_if  <== veth ==>  peer_if  (denied pings and SYNs to 23 → firewall alerts)

Pings map to MITRE tactic ``discovery`` (T1046), SYNs to port 23 to ``lateral-movement``
(T1021); every firewall alert is ``medium`` (port 22 is avoided: anti-lockout allows it).
"""

import contextlib
import http.client
import re
import socket
import threading
from pathlib import Path
from typing import Any

import msgspec
import pytest
from _agent import AgentProcess, agent_yaml, free_port, wait_until
from _traffic import send_syns

from sentinel_agent.lab import VethLab

pytestmark = pytest.mark.privileged

RULES = """firewall:
  mode: block
  rules:
    - {{id: deny-ping, priority: 10, action: deny, protocol: icmp, src_ip: "{peer}/32"}}
    - {{id: deny-telnet, priority: 20, action: deny, protocol: tcp, src_ip: "{peer}/32", dst_port: 23}}
dlp:
  enabled: false
"""
ALERT_KEYS = {"id", "timestamp_ns", "component", "severity", "rule_id", "action", "src_addr", "dst_addr"}


class SseClient:
    """One SSE connection read on a thread: frames (dicts of field → value) and comments."""

    def __init__(self, port: int, query: str = "", last_id: str | None = None) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        headers = {"Accept": "text/event-stream"}
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        self.conn.request("GET", f"/api/v1/alerts/stream{query}", headers=headers)
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.frames: list[dict[str, str]] = []
        self.comments: list[str] = []
        self.ended = threading.Event()
        self.clean_end = False
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()
        else:
            self.body = msgspec.json.decode(self.response.read())
            self.ended.set()

    def _read(self) -> None:
        frame: dict[str, str] = {}
        try:
            while True:
                line = self.response.readline()
                if not line:
                    self.clean_end = True
                    return
                text = line.decode().rstrip("\n")
                if not text:
                    if frame:
                        self.frames.append(frame)
                    frame = {}
                elif text.startswith(":"):
                    self.comments.append(text)
                else:
                    key, _, value = text.partition(": ")
                    frame[key] = value
        except Exception:  # the connection was closed under the reader (close(), or a test failure)
            return
        finally:
            self.ended.set()

    def alerts(self) -> list[dict[str, Any]]:
        return [msgspec.json.decode(f["data"]) for f in self.frames]

    def ids(self) -> list[str]:
        return [f["id"] for f in self.frames]

    def close(self) -> None:
        if self.conn.sock is not None:
            with contextlib.suppress(OSError):
                self.conn.sock.shutdown(socket.SHUT_RDWR)
        self.conn.close()
        self.ended.wait(5)


def subscribers(agent: AgentProcess) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", agent.port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    match = re.search(r"^ebpfsentinel_alerts_sse_subscribers (\S+)$", text, re.M)
    assert match, "gauge missing"
    return float(match.group(1))


def test_filtered_streams_replay_and_clean_shutdown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EBPFSENTINEL_SSE_KEEPALIVE_SECS", "1")
    with VethLab(prefix="sse") as lab:
        port = free_port()
        config = tmp_path / "agent.yaml"
        config.write_text(agent_yaml(lab.host_if, port, RULES.format(peer=lab.peer_ip), tmp_path / "data"))
        with AgentProcess(config, port, tmp_path / "agent.log", ready_timeout=60) as agent:
            bad = SseClient(port, "?severity_min=urgent")
            assert (bad.status, bad.body["error"]["code"]) == (400, "INVALID_SEVERITY")

            telnet_only = SseClient(port, "?mitre_tactic=LATERAL-Movement")
            high_only = SseClient(port, "?severity_min=high")
            firewall = SseClient(port, "?component=Firewall&severity_min=medium")
            everything = SseClient(port)
            assert all(c.status == 200 for c in (telnet_only, high_only, firewall, everything))
            assert wait_until(lambda: subscribers(agent) == 4, timeout=10)

            assert lab.ping_from_peer(lab.host_ip, count=2) == 0
            send_syns(lab, 3, 23)
            assert wait_until(lambda: len(everything.frames) >= 5, timeout=15), everything.ids()
            assert wait_until(lambda: len(firewall.frames) >= 5, timeout=5)

            alerts = everything.alerts()
            assert len(alerts) == 5
            assert {f["event"] for f in everything.frames} == {"alert"}
            assert [a["id"] for a in alerts] == everything.ids()
            assert all(set(a) >= ALERT_KEYS for a in alerts)
            assert sorted(a["rule_id"] for a in alerts) == ["deny-ping"] * 2 + ["deny-telnet"] * 3

            def stored() -> dict[str, Any]:
                listed = agent.get("/api/v1/alerts?component=firewall&limit=10")[1]["alerts"]
                return {a["id"]: a for a in listed}

            assert wait_until(lambda: len(stored()) == 5, timeout=10)  # the store writes in batches
            by_id = stored()
            assert all(by_id[a["id"]] == a for a in alerts)  # the REST list item, exactly

            assert firewall.ids() == everything.ids()
            assert wait_until(lambda: len(telnet_only.frames) >= 3, timeout=5)
            assert [a["rule_id"] for a in telnet_only.alerts()] == ["deny-telnet"] * 3
            assert {a["mitre_tactic"] for a in telnet_only.alerts()} == {"lateral-movement"}
            assert wait_until(lambda: len(high_only.comments) >= 2, timeout=10)  # keepalives only
            assert high_only.frames == [] and set(high_only.comments) == {":keepalive"}

            # The client goes away; alerts it missed are replayed on reconnect, once each.
            seen = everything.ids()
            everything.close()
            assert wait_until(lambda: subscribers(agent) == 3, timeout=10)
            assert lab.ping_from_peer(lab.host_ip, count=2) == 0
            assert wait_until(lambda: len(firewall.frames) >= 7, timeout=15)
            missed = firewall.ids()[5:]
            resumed = SseClient(port, last_id=seen[-1])
            assert wait_until(lambda: len(resumed.frames) >= 2, timeout=10)
            assert resumed.ids() == missed
            from_second = SseClient(port, last_id=seen[1])
            assert wait_until(lambda: len(from_second.frames) >= 5, timeout=10)
            assert from_second.ids() == [*seen[2:], *missed]
            unknown = SseClient(port, last_id="no-such-alert")
            assert lab.ping_from_peer(lab.host_ip, count=1) == 0
            assert wait_until(lambda: len(firewall.frames) >= 8, timeout=15)
            live = firewall.ids()[7]
            for client in (resumed, from_second, unknown):
                assert wait_until(lambda c=client: live in c.ids(), timeout=10)
            assert wait_until(lambda: len(high_only.comments) >= 3, timeout=10)
            assert resumed.ids() == [*missed, live]  # no duplicates
            assert from_second.ids() == [*seen[2:], *missed, live]
            assert unknown.ids() == [live]  # an unknown id: live alerts only
            assert subscribers(agent) == 6

            # SIGTERM with clients connected: every stream ends and the agent exits cleanly.
            open_streams = (telnet_only, high_only, firewall, resumed, from_second, unknown)
            assert agent.stop() == 0
            for client in open_streams:
                assert client.ended.wait(5)
                assert client.clean_end
                client.close()
