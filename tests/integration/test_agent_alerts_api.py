"""Alerts are stored (LMDB under agent.data_dir) and queried over REST, and survive a restart.

root netns                          lab netns
[agent] XDP on host_if  <== veth ==>  peer_if  (denied pings → firewall alerts)
"""

import json
from pathlib import Path

from _agent import AgentProcess, agent_yaml, free_port, wait_until

from sentinel_agent.lab import VethLab

DENY = """firewall:
  mode: block
  rules:
    - {{id: deny-peer, priority: 10, action: deny, protocol: icmp, src_ip: "{peer}/32"}}
dlp:
  enabled: false
"""


def test_alert_history_queries_false_positives_and_restart(tmp_path: Path) -> None:
    with VethLab(prefix="api") as lab:
        port = free_port()
        config = tmp_path / "agent.yaml"
        config.write_text(
            agent_yaml(lab.host_if, port, DENY.format(peer=lab.peer_ip), data_dir=tmp_path / "data")
        )
        with AgentProcess(config, port, tmp_path / "agent.log") as agent:
            assert lab.ping_from_peer(lab.host_ip, count=3) == 0

            def firewall_alerts() -> list[dict]:
                return agent.get("/api/v1/alerts?component=firewall&limit=10")[1]["alerts"]

            assert wait_until(lambda: len(firewall_alerts()) == 3, timeout=10)
            alerts = firewall_alerts()
            newest = alerts[0]
            assert newest["timestamp_ns"] >= alerts[-1]["timestamp_ns"]  # newest first
            assert (newest["rule_id"], newest["severity"], newest["action"]) == (
                "deny-peer",
                "medium",
                "block",
            )
            assert newest["src_port"] == 0 and newest["protocol"] == 1 and newest["is_ipv6"] is False
            assert newest["mitre_technique_id"] == "T1046"

            assert agent.get("/api/v1/alerts?component=ids")[1]["alerts"] == []
            assert agent.get("/api/v1/alerts?min_severity=high")[1]["alerts"] == []
            assert len(agent.get("/api/v1/alerts?min_severity=medium&limit=2")[1]["alerts"]) == 2
            status, body = agent.get("/api/v1/alerts?min_severity=loud")
            assert (status, body["error"]["code"]) == (400, "INVALID_SEVERITY")
            status, body = agent.get("/api/v1/alerts?limit=5000")
            assert (status, body["error"]["code"]) == (400, "VALIDATION_ERROR")

            marked = agent.request("POST", f"/api/v1/alerts/{newest['id']}/false-positive")
            assert marked == (200, {"alert_id": newest["id"], "marked": True})
            again = agent.request("POST", f"/api/v1/alerts/{newest['id']}/false-positive")
            assert again[0] == 200  # idempotent
            assert (
                agent.request("POST", "/api/v1/alerts/nope/false-positive")[1]["error"]["code"]
                == "ALERT_NOT_FOUND"
            )
            fps = agent.get("/api/v1/alerts?false_positive=true")[1]["alerts"]
            assert [a["id"] for a in fps] == [newest["id"]]

            status, body = agent.get("/api/v1/agent/status")
            assert status == 200 and body["status"] == "running" and body["firewall_mode"] == "block"

            # Stored: all 3. Notified (default route → EVE file): dedup keeps one per (rule, src,
            # dst, port, proto) per window.
            eve = tmp_path / "data" / "eve.json"
            assert wait_until(lambda: eve.exists() and eve.read_text().strip(), timeout=10)
            lines = [json.loads(line) for line in eve.read_text().splitlines()]
            assert len(lines) == 1
            assert (lines[0]["event_type"], lines[0]["src_ip"]) == ("alert", lab.peer_ip)

        with AgentProcess(config, port, tmp_path / "agent2.log") as agent:  # restart: history kept
            body = agent.get("/api/v1/alerts?component=firewall")[1]
            assert len(body["alerts"]) == 3
            assert [a["false_positive"] for a in body["alerts"]] == [True, False, False]
