"""The ``ebpfsentinel-agent`` client subcommands against a real agent (contract §5).

root netns                          lab netns
[agent] XDP on host_if  <== veth ==>  peer_if  (denied pings → firewall alerts)

Many commands run as subprocesses in both output modes (test_cli_every_command.py covers every
one); error paths check the documented exit codes (docs/cli.md): 1 usage/validation,
2 unreachable, 3 auth, 4 not found.
"""

import http.server
import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

from _agent import AGENT, AgentProcess, agent_yaml, free_port, wait_until

from sentinel_agent.lab import VethLab

DENY = """firewall:
  mode: block
  rules:
    - {{id: deny-peer, priority: 10, action: deny, protocol: icmp, src_ip: "{peer}/32"}}
dlp:
  enabled: false
"""


def cli(
    *args: str, port: int | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("EBPFSENTINEL_")}
    full_env.update(env or {})
    if port is not None:
        full_env["EBPFSENTINEL_PORT"] = str(port)
    full_env["COLUMNS"] = "80"
    return subprocess.run(
        [AGENT, *args], capture_output=True, text=True, timeout=60, env=full_env, check=False
    )


def ok_json(*args: str, port: int) -> Any:
    result = cli(*args, "-o", "json", port=port)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def ok_table(*args: str, port: int) -> str:
    result = cli(*args, port=port)
    assert result.returncode == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 80, result.stdout
    return result.stdout


def test_client_commands_against_the_real_agent(tmp_path: Path) -> None:
    with VethLab(prefix="cli") as lab:
        port = free_port()
        config = tmp_path / "agent.yaml"
        config.write_text(
            agent_yaml(lab.host_if, port, DENY.format(peer=lab.peer_ip), data_dir=tmp_path / "d")
        )
        with AgentProcess(config, port, tmp_path / "agent.log") as agent:
            assert lab.ping_from_peer(lab.host_ip, count=2) == 0
            assert wait_until(lambda: len(agent.get("/api/v1/alerts?component=firewall")[1]["alerts"]) == 2)

            # status / health / metrics
            status = ok_json("status", port=port)
            assert status == agent.get("/api/v1/agent/status")[1] | {
                "uptime_seconds": status["uptime_seconds"]
            }
            assert status["firewall_mode"] == "block"
            assert "firewall_mode" in ok_table("status", port=port)
            health = ok_json("health", port=port)
            assert health["healthz"] == {"status": "ok"} and health["readyz"]["status"] == "ready"
            assert "ready" in ok_table("health", port=port)
            raw = cli("metrics", port=port)
            assert raw.returncode == 0 and "# TYPE" in raw.stdout
            samples = ok_json("metrics", port=port)
            assert samples and {"name", "labels", "value"} == set(samples[0])
            assert samples == sorted(samples, key=lambda s: (s["name"], sorted(s["labels"].items())))

            # firewall list / add / delete, global flags before the subcommand, env host
            rules = ok_json("firewall", "list", port=port)
            assert "deny-peer" in [r["id"] for r in rules]
            assert "deny-peer" in ok_table("firewall", "list", port=port)
            body = json.dumps(
                {"id": "cli-web", "priority": 20, "action": "deny", "protocol": "tcp", "dst_port": 8081}
            )
            created = ok_json("firewall", "add", "--json", body, port=port)
            assert (created["id"], created["dst_port"]) == ("cli-web", "8081")
            dup = cli("firewall", "add", "--json", body, port=port)
            assert dup.returncode == 1 and "409 DUPLICATE_RULE" in dup.stderr
            bad = cli(
                "firewall", "add", "--json", '{"id": "x", "priority": 5, "action": "explode"}', port=port
            )
            assert bad.returncode == 1 and "400 VALIDATION_ERROR" in bad.stderr
            listed = cli(
                "-o", "json", "--port", str(port), "firewall", "list", env={"EBPFSENTINEL_HOST": "127.0.0.1"}
            )
            assert "cli-web" in [r["id"] for r in json.loads(listed.stdout)]
            assert ok_json("firewall", "delete", "cli-web", port=port) == {"deleted": "cli-web"}
            missing = cli("firewall", "delete", "cli-web", port=port)
            assert missing.returncode == 4 and "404 RULE_NOT_FOUND" in missing.stderr
            assert "deleted firewall rule 'nope'" not in ok_table("firewall", "list", port=port)

            # alerts list / stats / mark-fp
            listed = ok_json("alerts", "list", "--component", "firewall", "--limit", "5", port=port)
            assert listed == agent.get("/api/v1/alerts?component=firewall&limit=5")[1]
            assert [a["rule_id"] for a in listed["alerts"]] == ["deny-peer", "deny-peer"]
            table = ok_table("alerts", "list", "--severity", "medium", port=port)
            assert "deny-peer" in table and lab.peer_ip in table
            assert ok_json("alerts", "list", "--severity", "high", port=port)["alerts"] == []
            stats = ok_json("alerts", "stats", port=port)
            assert stats["by_rule"] == {"deny-peer": 2} and stats["by_severity"] == {"medium": 2}
            assert stats["by_component"] == {"firewall": 2} and stats["analyzed"] == 2
            assert "deny-peer" in ok_table("alerts", "stats", "--limit", "1", port=port)
            newest = listed["alerts"][0]["id"]
            assert ok_json("alerts", "mark-fp", newest, port=port) == {"alert_id": newest, "marked": True}
            assert "false positive" in ok_table("alerts", "mark-fp", newest, port=port)
            assert ok_json("alerts", "stats", port=port)["false_positives"] == 1
            nofp = cli("alerts", "mark-fp", "no-such-alert", port=port)
            assert nofp.returncode == 4 and "ALERT_NOT_FOUND" in nofp.stderr
            badsev = cli("alerts", "list", "--severity", "loud", port=port)
            assert badsev.returncode == 1 and "INVALID_SEVERITY" in badsev.stderr

            # audit: the add/delete above were recorded
            logs = ok_json("audit", "logs", "--limit", "50", port=port)
            assert {"rule_added", "rule_removed"} <= {
                e["action"] for e in logs["entries"] if e["rule_id"] == "cli-web"
            }
            assert "cli-web" in ok_table("audit", "logs", port=port)
            history = ok_json("audit", "history", "cli-web", port=port)
            assert history["rule_id"] == "cli-web" and len(history["entries"]) >= 2
            ok_table("audit", "history", "cli-web", port=port)

            # watch, bounded by the test hook
            lines = cli(
                "watch", "-i", "0.1", "--iterations", "2", "--component", "firewall", "-o", "json", port=port
            )
            assert lines.returncode == 0, lines.stderr
            snaps = [json.loads(line) for line in lines.stdout.splitlines()]
            assert [s["iteration"] for s in snaps] == [1, 2]
            assert snaps[-1]["by_severity"] == {"medium": 2} and len(snaps[-1]["newest"]) == 2
            live = ok_table("watch", "-i", "0.1", "--iterations", "2", port=port)
            assert "deny-peer" in live and "medium" in live

            # every endpoint exists: the JSON is the API's document for the same call
            for args, path in (
                (("mitre", "coverage"), "/api/v1/mitre/coverage"),
                (("dns", "blocklist"), "/api/v1/dns/blocklist"),
                (("ips", "list"), "/api/v1/ips/rules"),
                (("threatintel", "status"), "/api/v1/threatintel/status"),
            ):
                assert ok_json(*args, port=port) == agent.get(path)[1], args
            identity = ok_json("identity", port=port)
            assert identity == agent.get("/api/v1/agent/identity")[1] | {
                "uptime_seconds": identity["uptime_seconds"]
            }

    # agent gone → exit 2 with a clear message
    gone = cli("status", port=port)
    assert gone.returncode == 2 and f"127.0.0.1:{port}" in gone.stderr and "refused" in gone.stderr


def test_usage_and_validation_errors_exit_1() -> None:
    port = free_port()  # nothing listens: validation must fail before any request
    invalid = cli("firewall", "add", "--json", "{not json", port=port)
    assert invalid.returncode == 1 and "invalid JSON" in invalid.stderr
    array = cli("ratelimit", "add", "--json", "[1]", port=port)
    assert array.returncode == 1 and "JSON object" in array.stderr
    assert cli("firewall", port=port).returncode == 1  # missing verb
    assert cli("alerts", "list", "--limit", "-3", port=port).returncode == 1
    badport = cli("status", env={"EBPFSENTINEL_PORT": "99999"})
    assert badport.returncode == 1 and "invalid port" in badport.stderr


class _AuthStub(http.server.BaseHTTPRequestHandler):
    """A 127.0.0.1 server answering like an agent with auth on: 401 without a token, 403 for one."""

    seen: list[str | None] = []

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization")
        _AuthStub.seen.append(auth)
        if auth is None:
            status, code, msg = 401, "AUTHENTICATION_REQUIRED", "missing credentials"
        else:
            status, code, msg = 403, "INSUFFICIENT_ROLE", "viewer may not do this"
        data = json.dumps({"error": {"code": code, "message": msg}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_auth_errors_exit_3_and_token_is_sent_as_bearer() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AuthStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        denied = cli("status", port=port)
        assert denied.returncode == 3 and "401 AUTHENTICATION_REQUIRED" in denied.stderr
        assert "EBPFSENTINEL_TOKEN" in denied.stderr
        forbidden = cli("firewall", "list", port=port, env={"EBPFSENTINEL_TOKEN": "a.b.c"})
        assert forbidden.returncode == 3 and "403 INSUFFICIENT_ROLE" in forbidden.stderr
        flag = cli("alerts", "list", "--token", "x.y.z", port=port)
        assert flag.returncode == 3
        assert _AuthStub.seen == [None, "Bearer a.b.c", "Bearer x.y.z"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
