"""Firewall rules over REST on a live agent: the kernel follows at once, changes persist across
restarts (API rules and deletions of YAML rules), and every change is in the audit trail.

    root netns                          lab netns
    [agent] XDP on host_if  <== veth ==>  peer_if  (pings tell which rule set is live)
"""

import json
from pathlib import Path

from _agent import AgentProcess, agent_yaml, free_port, wait_until

from sentinel_agent.lab import VethLab

YAML = """firewall:
  mode: block
  rules:
    - {id: yaml-allow-udp, priority: 50, action: allow, protocol: udp}
dlp:
  enabled: false
"""


def test_rule_crud_persists_and_is_audited(tmp_path: Path) -> None:
    with VethLab(prefix="fwa") as lab:
        port = free_port()
        config = tmp_path / "agent.yaml"
        config.write_text(agent_yaml(lab.host_if, port, YAML, data_dir=tmp_path / "data"))
        deny = {
            "id": "deny-peer",
            "priority": 10,
            "action": "deny",
            "protocol": "icmp",
            "src_ip": lab.peer_ip,
        }
        with AgentProcess(config, port, tmp_path / "a1.log") as agent:
            assert lab.ping_from_peer(lab.host_ip, count=1) == 1
            status, created = agent.request("POST", "/api/v1/firewall/rules", deny)
            assert status == 201 and created["id"] == "deny-peer" and created["src_ip"] == lab.peer_ip
            assert lab.ping_from_peer(lab.host_ip, count=1) == 0  # effective immediately

            assert (
                agent.request("POST", "/api/v1/firewall/rules", deny)[1]["error"]["code"] == "DUPLICATE_RULE"
            )
            bad = {**deny, "id": "bad", "src_ip": "10.0.0.1/33"}
            status, body = agent.request("POST", "/api/v1/firewall/rules", bad)
            assert (status, body["error"]["code"]) == (400, "VALIDATION_ERROR")
            assert "10.0.0.1/33" in body["error"]["message"]
            status, body = agent.request("DELETE", "/api/v1/firewall/rules/anti-lockout-22")
            assert (status, body["error"]["code"]) == (403, "PERMISSION_DENIED")
            status, body = agent.request("DELETE", "/api/v1/firewall/rules/nope")
            assert (status, body["error"]["code"]) == (404, "RULE_NOT_FOUND")
            assert agent.request("DELETE", "/api/v1/firewall/rules/yaml-allow-udp")[0] == 204

            ids = [r["id"] for r in agent.get("/api/v1/firewall/rules")[1]]
            assert ids[:3] == ["anti-lockout-22", "anti-lockout-8080", "anti-lockout-50051"]
            assert "deny-peer" in ids and "yaml-allow-udp" not in ids

        with AgentProcess(config, port, tmp_path / "a2.log") as agent:  # restart
            ids = [r["id"] for r in agent.get("/api/v1/firewall/rules")[1]]
            assert "deny-peer" in ids and "yaml-allow-udp" not in ids  # both changes survived
            assert lab.ping_from_peer(lab.host_ip, count=1) == 0  # and are enforced
            history = agent.get("/api/v1/audit/rules/deny-peer/history")[1]["entries"]
            assert [(e["action"], e["actor"]) for e in history] == [("rule_added", "api")]
            assert json.loads(history[0]["after"])["src_ip"] == lab.peer_ip
            removed = agent.get("/api/v1/audit/rules/yaml-allow-udp/history")[1]["entries"]
            assert (
                removed[0]["action"] == "rule_removed"
                and json.loads(removed[0]["before"])["protocol"] == "udp"
            )
            logs = agent.get("/api/v1/audit/logs?component=firewall")[1]
            assert logs["total"] >= 2

            assert agent.request("DELETE", "/api/v1/firewall/rules/deny-peer")[0] == 204
            assert wait_until(lambda: lab.ping_from_peer(lab.host_ip, count=1) == 1, timeout=5)
