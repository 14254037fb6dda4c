"""Every in-scope ``ebpfsentinel-agent`` subcommand (contract §5) against one live agent, in both
output modes, plus the error paths and their exit codes (docs/cli.md).

    root netns                                   lab netns
    feed server on 127.0.0.1 (IOC list)
    [agent] XDP firewall + TC ids/threatintel/dns  <== veth ==>  peer_if
            on host_if                                  (denied pings → firewall alerts,
                                                         SYNs to the IDS port → ids alerts)

``-o json`` output must equal what the REST API returns for the same call (writes: the change is
visible over REST afterwards); ``-o table`` output must be non-empty, fit 80 columns and show the
key values. CLI calls are subprocesses run in a small thread pool to keep the file fast.
"""

import json
import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _agent import AGENT, AgentProcess, agent_yaml, free_port, wait_until
from _dns import QUERY, Responder

from integration.fixtures.feed_server import FeedServer
from sentinel_agent.lab import VethLab

IDS_PORT = 5999
IOCS = ("203.0.113.7", "198.51.100.9")
ADMIN_KEY = "cli-admin-key-0123456789abcdef"
VIEWER_KEY = "cli-viewer-key-0123456789abcdef"
CONFIG = """firewall:
  mode: block
  rules:
    - {{id: deny-peer, priority: 10, action: deny, protocol: icmp, src_ip: "{peer}/32"}}
ratelimit:
  enabled: true
  rules:
    - {{id: rl-one, rate: 10, burst: 20, src_ip: 10.1.0.1}}
ids:
  enabled: true
  rules:
    - {{id: ids-probe, severity: high, protocol: tcp, dst_port: {ids_port}, pattern: cli-probe}}
ips:
  enabled: true
  rules:
    - {{id: ips-web, severity: critical, protocol: tcp, dst_port: 80, pattern: evil, mode: alert}}
dns:
  blocklist:
    domains: ["*.evil.example", "bad.example"]
  reputation:
    enabled: true
l7:
  enabled: true
  ports: [80]
  rules:
    - {{id: l7-admin, priority: 10, action: deny, protocol: http, method: POST, path: /admin}}
threatintel:
  enabled: true
  allow_networks: [127.0.0.0/8]
  feeds:
    - {{id: local, name: Local list, url: "{feed}", format: plaintext}}
dlp:
  enabled: true
"""
SEND = (
    "import socket,sys\n"
    "s=socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)\n"
    "s.sendall(b'cli-probe payload\\r\\n'); s.close()\n"
)
DOMAIN = "www.cli-test.example"
ANSWER = "192.0.2.80"
# Fields that change between two calls (clocks, TTL countdowns); everything else must be equal.
VOLATILE = {"uptime_seconds", "ttl_remaining_secs", "timestamp_ns", "last_fetched", "at"}


def cli(*args: str, port: int, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("EBPFSENTINEL_")}
    full_env.update({"EBPFSENTINEL_PORT": str(port), "COLUMNS": "80", **(env or {})})
    return subprocess.run(
        [AGENT, *args], capture_output=True, text=True, timeout=60, env=full_env, check=False
    )


def stable(data: Any) -> Any:
    """``data`` without the volatile fields, recursively (scores decay: 3 decimals kept)."""
    if isinstance(data, dict):
        return {k: stable(v) for k, v in data.items() if k not in VOLATILE}
    if isinstance(data, list):
        return [stable(v) for v in data]
    if isinstance(data, float):
        return round(data, 3)
    return data


def check_table(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert result.stdout.strip(), "empty table output"
    too_wide = [line for line in lines if len(line) > 80]
    assert not too_wide, result.stdout
    for value in expected:
        assert value in result.stdout, f"{value!r} missing from:\n{result.stdout}"
    return result.stdout


def check_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@dataclass
class Live:
    agent: AgentProcess
    lab: VethLab
    port: int
    config: Path

    def rest(self, path: str) -> Any:
        status, body = self.agent.get(path)
        assert status == 200, (path, status, body)
        return body

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return cli(*args, port=self.port, env=env)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("cli-every")
    feeds = FeedServer()
    try:
        feed = feeds.serve("/iocs.txt", ("\n".join(IOCS) + "\n").encode())
        with VethLab(prefix="cle") as lab:
            port = free_port()
            config = tmp / "agent.yaml"
            body = CONFIG.format(peer=lab.peer_ip, ids_port=IDS_PORT, feed=feed)
            config.write_text(agent_yaml(lab.host_if, port, body, data_dir=tmp / "data"))
            # the kernel completes the handshake: the payload reaches tc-ids without an accept()
            with (
                socket.create_server((lab.host_ip, IDS_PORT)),
                AgentProcess(config, port, tmp / "agent.log") as agent,
            ):
                assert lab.ping_from_peer(lab.host_ip, count=2) == 0
                lab.ns(sys.executable, "-c", SEND, lab.host_ip, str(IDS_PORT), timeout=20)

                def count(component: str) -> int:
                    return len(agent.get(f"/api/v1/alerts?component={component}")[1]["alerts"])

                assert wait_until(lambda: count("firewall") == 2 and count("ids") >= 1, timeout=15)
                # a resolution seen by tc-dns fills the DNS cache and the reputation tracker
                responder = Responder(lab.host_ip, ANSWER, ttl=600)
                try:
                    lab.ns(sys.executable, "-c", QUERY, lab.host_ip, DOMAIN, timeout=20)
                finally:
                    responder.close()
                cache = f"/api/v1/dns/cache?domain={DOMAIN}"
                assert wait_until(lambda: agent.get(cache)[1]["entries"] != [], timeout=10)
                # an API write, so the audit trail has an entry (config rules are not audited)
                audited = {"id": "cli-audited", "priority": 60, "action": "deny", "protocol": "udp"}
                assert agent.request("POST", "/api/v1/firewall/rules", audited)[0] == 201
                assert wait_until(lambda: agent.get("/api/v1/threatintel/status")[1]["ioc_count"] == 2)
                yield Live(agent, lab, port, config)
    finally:
        feeds.close()


@dataclass(frozen=True)
class Read:
    """A read command: its REST twin and the values its table must show."""

    args: tuple[str, ...]
    path: str | None  # None: compared by ``compare`` only
    shows: Callable[[Any], list[str]]


def ids_of(key: str = "id", under: str | None = None) -> Callable[[Any], list[str]]:
    def values(body: Any) -> list[str]:
        items = body[under] if under else body
        return [str(item[key]) for item in items][:5]

    return values


READS = [
    Read(("status",), "/api/v1/agent/status", lambda b: [b["version"], b["firewall_mode"]]),
    Read(("identity",), "/api/v1/agent/identity", lambda b: [b["hostname"], b["version"]]),
    Read(("firewall", "list"), "/api/v1/firewall/rules", ids_of()),
    Read(("l7", "list"), "/api/v1/firewall/l7-rules", ids_of()),
    Read(("ratelimit", "list"), "/api/v1/ratelimit/rules", lambda b: ["rl-one", "10.1.0.1"]),
    Read(("ips", "list"), "/api/v1/ips/rules", ids_of()),
    Read(("ips", "blacklist"), "/api/v1/ips/blacklist", ids_of("ip")),
    Read(
        ("ips", "domain-blocks"), "/api/v1/ips/domain-blocks", lambda b: ["198.51.100.44", "c2.evil.example"]
    ),
    Read(("threatintel", "status"), "/api/v1/threatintel/status", lambda b: ["ioc_count", "2"]),
    Read(("threatintel", "iocs"), "/api/v1/threatintel/iocs", lambda b: list(IOCS)),
    Read(("threatintel", "feeds"), "/api/v1/threatintel/feeds", lambda b: ["local", "plaintext"]),
    Read(
        ("alerts", "list", "--limit", "50"),
        "/api/v1/alerts?limit=50",
        lambda b: ["deny-peer", "ids-probe", f"{b['total']} stored"],
    ),
    Read(
        ("alerts", "list", "--component", "ids", "--severity", "high", "--limit", "5"),
        "/api/v1/alerts?component=ids&min_severity=high&limit=5&offset=0",
        lambda b: ["ids-probe"],
    ),
    Read(
        ("audit", "logs", "--limit", "20"),
        "/api/v1/audit/logs?limit=20",
        lambda b: ["cli-audited", "rule_added", f"{b['total']} in total"],
    ),
    Read(("dns", "cache"), "/api/v1/dns/cache?page=0&page_size=50", lambda b: [DOMAIN, ANSWER]),
    Read(
        ("dns", "cache", "--ip", ANSWER, "--page-size", "5"),
        f"/api/v1/dns/cache?ip={ANSWER}&page=0&page_size=5",
        lambda b: [DOMAIN],
    ),
    Read(("dns", "stats"), "/api/v1/dns/stats", lambda b: ["total_entries", DOMAIN]),
    Read(("dns", "blocklist"), "/api/v1/dns/blocklist", lambda b: ["*.evil.example", "bad.example"]),
    Read(
        ("domains", "reputation", "--page-size", "20"),
        "/api/v1/domains/reputation?page=0&page_size=20",
        lambda b: ["domain reputation", DOMAIN],
    ),
    Read(
        ("mitre", "coverage"),
        "/api/v1/mitre/coverage",
        lambda b: ["v18", f"{b['total_techniques']} techniques", "T1046"],
    ),
]


def test_read_commands_in_both_modes_match_rest(live: Live) -> None:
    # Content the list commands must show: a manual blacklist entry and a DNS-driven one.
    for entry in (
        {"ip": "192.0.2.55", "reason": "cli test"},
        {"ip": "198.51.100.44", "reason": "dns-blocklist: c2.evil.example"},
    ):
        assert live.agent.request("POST", "/api/v1/ips/blacklist", entry)[0] == 201

    def both(read: Read) -> tuple[Read, subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
        return read, live.run(*read.args, "-o", "json"), live.run(*read.args)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(both, READS))
    for read, as_json, as_table in results:
        got = check_json(as_json)
        assert read.path is not None
        want = live.rest(read.path)
        assert stable(got) == stable(want), read.args
        check_table(as_table, *read.shows(want))
    blacklist = live.rest("/api/v1/ips/blacklist")
    assert {"192.0.2.55", "198.51.100.44"} <= {e["ip"] for e in blacklist}
    assert [(b["ip"], b["domain"], b["source"]) for b in live.rest("/api/v1/ips/domain-blocks")] == [
        ("198.51.100.44", "c2.evil.example", "dns-blocklist")
    ]


def test_version_health_metrics_watch_stats_and_history(live: Live) -> None:
    jobs: dict[str, tuple[str, ...]] = {
        "version": ("version",),
        "version_json": ("-o", "json", "version"),
        "config_test_json": ("-o", "json", "config", "test", "-c", str(live.config)),
        "health_json": ("health", "-o", "json"),
        "health_table": ("health",),
        "metrics_json": ("metrics", "-o", "json"),
        "metrics_table": ("metrics",),
        "watch_json": ("watch", "-i", "0.1", "--iterations", "2", "-o", "json"),
        "watch_table": ("watch", "-i", "0.1", "--iterations", "2", "--component", "firewall"),
        "stats_json": ("alerts", "stats", "-o", "json"),
        "stats_table": ("alerts", "stats"),
        "history_json": ("audit", "history", "cli-audited", "-o", "json"),
        "history_table": ("audit", "history", "cli-audited"),
        "config_test": ("config", "test", "-c", str(live.config)),
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = dict(zip(jobs, pool.map(lambda a: live.run(*a), jobs.values()), strict=True))

    version = check_table(done["version"])
    assert (
        version.startswith("ebpfsentinel-agent ") and live.rest("/api/v1/agent/status")["version"] in version
    )

    health = check_json(done["health_json"])
    assert health == {"healthz": live.rest("/healthz"), "readyz": live.rest("/readyz")}
    check_table(done["health_table"], "ok", "ready")

    samples = check_json(done["metrics_json"])
    names = {s["name"] for s in samples}
    with urllib.request.urlopen(f"http://127.0.0.1:{live.port}/metrics", timeout=15) as resp:
        served = resp.read().decode()
    exposed = {line.split("{")[0].split(" ")[0] for line in served.splitlines() if line and line[0] != "#"}
    assert exposed and exposed <= names
    # metrics table mode is the Prometheus text as served: not a table, so no 80-column rule
    assert done["metrics_table"].returncode == 0 and "# HELP" in done["metrics_table"].stdout

    alerts = live.rest("/api/v1/alerts?limit=1000")["alerts"]
    assert done["watch_json"].returncode == 0, done["watch_json"].stderr  # NDJSON: one object a line
    snaps = [json.loads(line) for line in done["watch_json"].stdout.splitlines()]
    assert [s["iteration"] for s in snaps] == [1, 2]
    assert snaps[-1]["total_stored"] == len(alerts) and snaps[-1]["window"] == len(alerts)
    assert [a["id"] for a in snaps[-1]["newest"]] == [a["id"] for a in alerts[:15]]
    check_table(done["watch_table"], "deny-peer", "medium", "firewall 2")

    stats = check_json(done["stats_json"])
    by_rule: dict[str, int] = {}
    for alert in alerts:
        by_rule[alert["rule_id"]] = by_rule.get(alert["rule_id"], 0) + 1
    assert stats["by_rule"] == by_rule and stats["analyzed"] == len(alerts) == stats["total_stored"]
    assert stats["by_rule"]["deny-peer"] == 2 and stats["by_rule"]["ids-probe"] >= 1
    check_table(done["stats_table"], "deny-peer", "ids-probe", f"{len(alerts)} newest alerts")

    history = check_json(done["history_json"])
    assert stable(history) == stable(live.rest("/api/v1/audit/rules/cli-audited/history?limit=50"))
    assert [e["action"] for e in history["entries"]] == ["rule_added"]
    check_table(done["history_table"], "cli-audited", "rule_added")

    # local commands print the same plain line in both output modes
    assert done["version_json"].stdout == version
    assert done["config_test"].returncode == 0, done["config_test"].stderr  # the path: any width
    assert done["config_test"].stdout == f"configuration OK: {live.config}\n"
    assert done["config_test_json"].stdout == done["config_test"].stdout
    bad = live.config.with_name("bad.yaml")
    bad.write_text(live.config.read_text().replace("mode: block", "mode: explode", 1))
    rejected = live.run("config", "test", "-c", str(bad))
    assert rejected.returncode == 1 and "explode" in rejected.stderr, rejected.stderr


def test_write_commands_in_both_modes_are_visible_over_rest(live: Live) -> None:
    def ids(path: str) -> set[str]:
        return {r["id"] for r in live.rest(path)}

    rule_sets = (
        (
            "firewall",
            "/api/v1/firewall/rules",
            {"priority": 40, "action": "deny", "protocol": "udp", "dst_port": 41000},
        ),
        (
            "l7",
            "/api/v1/firewall/l7-rules",
            {"priority": 40, "action": "deny", "protocol": "http", "path": "/x"},
        ),
    )
    for noun, path, fields in rule_sets:
        for mode, rid in (("json", f"cli-{noun}-j"), ("table", f"cli-{noun}-t")):
            created = live.run(noun, "add", "--json", json.dumps({"id": rid, **fields}), "-o", mode)
            if mode == "json":
                assert check_json(created)["id"] == rid
            else:
                check_table(created, rid)
            assert rid in ids(path)
            deleted = live.run(noun, "delete", rid, "-o", mode)
            if mode == "json":
                assert check_json(deleted) == {"deleted": rid}
            else:
                check_table(deleted, rid)
            assert rid not in ids(path)
    for mode, rid, src in (("json", "cli-rl-j", "10.9.0.1"), ("table", "cli-rl-t", "10.9.0.2")):
        body = json.dumps({"id": rid, "rate": 5, "burst": 9, "src_ip": src})
        created = live.run("ratelimit", "add", "--json", body, "-o", mode)
        rl = {r["id"]: r for r in live.rest("/api/v1/ratelimit/rules")}
        assert (rl[rid]["rate"], rl[rid]["burst"], rl[rid]["src_ip"]) == (5, 9, src)
        if mode == "json":
            assert check_json(created) == rl[rid]
        else:
            check_table(created, rid, src)
        deleted = live.run("ratelimit", "delete", rid, "-o", mode)
        assert deleted.returncode == 0, deleted.stderr
        assert rid not in ids("/api/v1/ratelimit/rules")

    # ips set-mode, both ways
    block = check_json(live.run("ips", "set-mode", "ips-web", "--mode", "block", "-o", "json"))
    now = {r["id"]: r for r in live.rest("/api/v1/ips/rules")}["ips-web"]
    assert block == now and now["mode"] == "block"
    check_table(live.run("ips", "set-mode", "ips-web", "--mode", "alert"), "ips-web", "alert")
    assert {r["id"]: r for r in live.rest("/api/v1/ips/rules")}["ips-web"]["mode"] == "alert"

    # alerts mark-fp, both modes
    first, second = [a["id"] for a in live.rest("/api/v1/alerts?component=firewall")["alerts"]][:2]
    assert check_json(live.run("alerts", "mark-fp", first, "-o", "json")) == {
        "alert_id": first,
        "marked": True,
    }
    check_table(live.run("alerts", "mark-fp", second), second, "false positive")
    flagged = {a["id"] for a in live.rest("/api/v1/alerts?false_positive=true")["alerts"]}
    assert {first, second} <= flagged

    # domains block / unblock, both modes
    def patterns() -> set[str]:
        return {p["pattern"] for p in live.rest("/api/v1/dns/blocklist")}

    added = check_json(live.run("domains", "block", "cli-j.example", "-o", "json"))
    assert added == {"domain": "cli-j.example", "added": True} and "cli-j.example" in patterns()
    check_table(live.run("domains", "block", "*.cli-t.example"), "*.cli-t.example")
    assert "*.cli-t.example" in patterns()
    removed = check_json(live.run("domains", "unblock", "cli-j.example", "-o", "json"))
    assert removed == {"domain": "cli-j.example", "removed": True}
    check_table(live.run("domains", "unblock", "*.cli-t.example"), "*.cli-t.example")
    assert not {"cli-j.example", "*.cli-t.example"} & patterns()

    # dns flush, both modes: the fixture's resolution goes, the second flush finds nothing
    flushed = check_json(live.run("dns", "flush", "-o", "json"))
    assert flushed["flushed_entries"] >= 1
    check_table(live.run("dns", "flush"), "flushed 0 cache entries")
    assert live.rest("/api/v1/dns/stats")["total_entries"] == 0

    # the writes are in the audit trail, and audit history shows them
    history = check_json(live.run("audit", "history", "cli-firewall-j", "-o", "json"))
    assert [e["action"] for e in history["entries"]][:2] in (
        ["rule_removed", "rule_added"],
        ["rule_added", "rule_removed"],
    )


def test_error_paths_exit_codes_and_messages(live: Live) -> None:
    jobs = {
        "fw404": ("firewall", "delete", "no-such-rule"),
        "l7404": ("l7", "delete", "no-such-rule"),
        "rl404": ("ratelimit", "delete", "no-such-rule"),
        "ips404": ("ips", "set-mode", "no-such-rule", "--mode", "block"),
        "fp404": ("alerts", "mark-fp", "no-such-alert"),
        "dom404": ("domains", "unblock", "never-blocked.example"),
        "fw400": ("firewall", "add", "--json", '{"id": "bad", "priority": 5, "action": "explode"}'),
        "l7400": (
            "l7",
            "add",
            "--json",
            '{"id": "bad", "priority": 5, "action": "deny", "protocol": "gopher"}',
        ),
        "rl400": ("ratelimit", "add", "--json", '{"id": "bad", "rate": 0, "burst": 1, "src_ip": "10.2.0.1"}'),
        "dom400": ("domains", "block", "not a domain!"),
        "fw409": ("firewall", "add", "--json", '{"id": "deny-peer", "priority": 77, "action": "deny"}'),
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = dict(zip(jobs, pool.map(lambda a: live.run(*a), jobs.values()), strict=True))
    for name, code in (
        ("fw404", "RULE_NOT_FOUND"),
        ("l7404", "RULE_NOT_FOUND"),
        ("rl404", "RULE_NOT_FOUND"),
        ("ips404", "IPS_RULE_NOT_FOUND"),
        ("fp404", "ALERT_NOT_FOUND"),
        ("dom404", "PATTERN_NOT_FOUND"),
    ):
        result = done[name]
        assert result.returncode == 4, (name, result.stderr)
        assert f"not found (404 {code})" in result.stderr, (name, result.stderr)
        assert result.stdout == ""
    for name, code in (
        ("fw400", "VALIDATION_ERROR"),
        ("l7400", "VALIDATION_ERROR"),
        ("rl400", "VALIDATION_ERROR"),
        ("dom400", "INVALID_PATTERN"),
    ):
        result = done[name]
        assert result.returncode == 1, (name, result.stderr)
        assert f"rejected by the agent (400 {code}): " in result.stderr, (name, result.stderr)
        message = result.stderr.split(f"(400 {code}): ", 1)[1].strip()
        assert len(message) > 5, (name, result.stderr)
    assert done["fw409"].returncode == 1 and "409 DUPLICATE_RULE" in done["fw409"].stderr
    assert "bad" not in {r["id"] for r in live.rest("/api/v1/firewall/rules")}

    # nothing listens on this port → exit 2 with the address
    port = free_port()
    gone = cli("status", port=port)
    assert gone.returncode == 2 and f"127.0.0.1:{port}" in gone.stderr and "refused" in gone.stderr


AUTH_CONFIG = f"""auth:
  enabled: true
  api_keys:
    - {{name: cli-admin, key: {ADMIN_KEY}, role: admin}}
    - {{name: cli-viewer, key: {VIEWER_KEY}, role: viewer}}
dlp:
  enabled: false
"""


def test_auth_errors_against_an_agent_with_api_keys(tmp_path: Path) -> None:
    with VethLab(prefix="cla") as lab:
        port = free_port()
        config = tmp_path / "agent.yaml"
        config.write_text(agent_yaml(lab.host_if, port, AUTH_CONFIG, data_dir=tmp_path / "data"))
        config.chmod(0o600)
        with AgentProcess(config, port, tmp_path / "agent.log"):
            rule = json.dumps({"id": "cli-auth", "priority": 300, "action": "deny", "protocol": "udp"})
            jobs = {
                "none": ("firewall", "list"),
                "viewer_read": ("firewall", "list", "--api-key", VIEWER_KEY, "-o", "json"),
                "viewer_write": ("firewall", "add", "--json", rule, "--api-key", VIEWER_KEY),
                "bad_key": ("status", "--api-key", "wrong-key"),
                "not_jwt": ("status", "--token", ADMIN_KEY),
            }
            with ThreadPoolExecutor(max_workers=4) as pool:
                done = dict(zip(jobs, pool.map(lambda a: cli(*a, port=port), jobs.values()), strict=True))
            none = done["none"]
            assert (
                none.returncode == 3
                and "authentication required (401 AUTHENTICATION_REQUIRED)" in none.stderr
            )
            assert "--api-key" in none.stderr
            assert isinstance(check_json(done["viewer_read"]), list)  # a viewer may read
            viewer = done["viewer_write"]
            assert viewer.returncode == 3 and "permission denied (403 INSUFFICIENT_ROLE)" in viewer.stderr
            assert done["bad_key"].returncode == 3 and "401" in done["bad_key"].stderr
            assert done["not_jwt"].returncode == 3 and "401" in done["not_jwt"].stderr
            # the key from the environment; an admin key may write
            env = {"EBPFSENTINEL_API_KEY": ADMIN_KEY}
            assert (
                check_json(cli("firewall", "add", "--json", rule, "-o", "json", port=port, env=env))["id"]
                == "cli-auth"
            )
            listed = check_json(cli("firewall", "list", "-o", "json", port=port, env=env))
            assert "cli-auth" in {r["id"] for r in listed}
            check_table(cli("firewall", "delete", "cli-auth", port=port, env=env), "cli-auth")
