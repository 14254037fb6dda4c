"""The routes of ``sentinel_agent.rest.more`` in-process, over a stand-in runtime built from a real
validated config, the real engines and services, and in-memory fakes for the kernel maps."""

import ipaddress
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from sentinel_agent.rest.more import more_routes
from sentinel_agent.runtime import ProgramState
from sentinel_application.dns_service import DnsService
from sentinel_application.ips_enforcement import IpsEnforcer
from sentinel_domain.alert.mitre import coverage
from sentinel_domain.dns import DnsCache
from sentinel_domain.ips import IpsEngine
from sentinel_domain.reputation import ReputationEngine
from sentinel_domain.threatintel import Ioc, IocKind, ThreatType
from sentinel_infrastructure.config import load_config
from sentinel_testkit.fakes.alert_sink import InMemoryAlertSink
from sentinel_testkit.fakes.audit_log import InMemoryAuditLog
from sentinel_testkit.fakes.blocklist import InMemoryBlocklist
from sentinel_testkit.fakes.ratelimit_map import InMemoryRateLimitMap
from sentinel_testkit.fakes.rule_store import InMemoryRuleStore

CONFIG = """\
agent:
  interfaces: [lo]
  data_dir: {data}
ids:
  rules:
    - id: ids-ssh
      severity: high
      protocol: tcp
      dst_port: 22
      description: ssh brute force
      threshold: {{type: threshold, count: 5, window_secs: 60}}
ips:
  mode: block
  max_blacklist_size: 3
  whitelist: [10.9.0.0/16]
  rules:
    - {{id: ips-web, severity: critical, protocol: tcp, dst_port: 80, pattern: evil, mode: block}}
dlp:
  patterns:
    - {{id: dlp-pii-email, name: Email, regex: 'x@y', severity: low, data_type: pii, enabled: false}}
ratelimit:
  enabled: true
  rules:
    - {{id: rl-one, rate: 10, burst: 20, src_ip: 10.1.0.1}}
threatintel:
  feeds:
    - id: feed-a
      name: Feed A
      url: "https://feeds.example.com/a.txt"
      auth_header: "Authorization: Bearer s3cret"
dns:
  blocklist:
    domains: [bad.example, "*.evil.example"]
  reputation:
    enabled: true
l7:
  enabled: true
  ports: [80]
  rules:
    - {{id: l7-b, priority: 20, action: deny, protocol: tls, sni: "*.bad.example"}}
    - {{id: l7-a, priority: 10, action: deny, protocol: http, method: POST, path: /admin}}
alerting:
  smtp: {{host: smtp.example.com, password: hunter2, from_address: a@example.com}}
  routes:
    - name: hook
      destination: webhook
      min_severity: low
      webhook_url: "https://hooks.example.com/x"
      webhook_headers: {{X-Token: abc}}
auth:
  api_key_salt: pepper
  api_keys: [{{name: ops, key: topsecret, role: admin}}]
management:
  operator_managed: true
  operator_endpoint: https://operator.example.com
"""


def fake_runtime(tmp_path: Path) -> SimpleNamespace:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(data=tmp_path / "data"))
    path.chmod(0o600)
    loaded = load_config(path)
    rules = loaded.detection
    assert rules is not None
    kernel_blocklist = InMemoryBlocklist()
    dns = DnsService(
        rules.dns_patterns,
        rules.dns_policy,
        kernel_blocklist,
        InMemoryAlertSink(),
        time.time,
        DnsCache(1000, 60),
        reputation=ReputationEngine(rules.reputation),
    )
    ratelimit = InMemoryRateLimitMap()
    ratelimit.apply(loaded.ratelimit_policies)
    detection = SimpleNamespace(
        ips=IpsEnforcer(IpsEngine(rules.ips_policy), kernel_blocklist, time.time),
        dns=dns,
        ids_engine=object(),
        loaded_iocs=[
            Ioc(IocKind.IP, "203.0.113.7", "feed-a", 90, ThreatType.MALWARE),
            Ioc(IocKind.DOMAIN, "c2.example", "feed-a"),
        ],
    )
    programs = {
        "xdp_firewall": ProgramState("xdp_firewall", loaded=True),
        "tc_dns": ProgramState(
            "tc_dns",
            loaded=True,
            attach_blocked=[{"program": "tc_dns", "interface": "eth9", "reason": "no such device"}],
        ),
        "uprobe_dlp": ProgramState("uprobe_dlp", error="verifier rejected\nline 2"),
    }
    return SimpleNamespace(
        loaded=loaded,
        version="9.9.9",
        started_at=time.monotonic() - 5,
        programs=programs,
        detection=detection,
        ratelimit=ratelimit,
        rule_store=InMemoryRuleStore(),
        audit=InMemoryAuditLog(),
        kernel_blocklist=kernel_blocklist,
    )


@pytest.fixture
def runtime(tmp_path: Path) -> SimpleNamespace:
    return fake_runtime(tmp_path)


@pytest.fixture
def client(runtime: SimpleNamespace) -> Iterator[TestClient]:
    app = Starlette(routes=[Route(p, h, methods=m) for p, h, m in more_routes(runtime)])
    with TestClient(app) as test_client:
        yield test_client


def error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])


# -- status, config, MITRE --------------------------------------------------------------------
def test_identity_reports_version_uptime_and_management(client: TestClient) -> None:
    body = client.get("/api/v1/agent/identity").json()
    assert body["version"] == "9.9.9"
    assert body["uptime_seconds"] >= 5
    assert body["hostname"]
    assert body["operator_managed"] is True
    assert body["operator_endpoint"] == "https://operator.example.com"


def test_ebpf_status_lists_programs_and_blocked_attachments(client: TestClient) -> None:
    body = client.get("/api/v1/ebpf/status").json()
    assert {p["name"]: p["loaded"] for p in body["programs"]} == {
        "xdp_firewall": True,
        "tc_dns": True,
        "uprobe_dlp": False,
    }
    assert {
        "program": "tc_dns",
        "interface": "eth9",
        "reason": "no such device",
        "nested_xdp": False,
    } in body["attach_blocked"]
    dlp = [b for b in body["attach_blocked"] if b["program"] == "uprobe_dlp"]
    assert dlp == [
        {"program": "uprobe_dlp", "interface": "*", "reason": "verifier rejected", "nested_xdp": False}
    ]


def test_config_masks_every_secret(client: TestClient) -> None:
    response = client.get("/api/v1/config")
    assert response.status_code == 200
    text = response.text
    for secret in ("hunter2", "topsecret", "pepper", "s3cret", '"abc"'):
        assert secret not in text
    body = response.json()
    assert body["alerting"]["smtp"]["password"] == "***"
    assert body["alerting"]["routes"][0]["webhook_headers"] == {"X-Token": "***"}
    assert body["auth"]["api_keys"][0] == {"name": "ops", "key": "***", "role": "admin", "namespaces": []}
    assert body["auth"]["api_key_salt"] == "***"
    assert body["threatintel"]["feeds"][0]["auth_header"] == "***"
    assert body["agent"]["interfaces"] == ["lo"]  # non-secrets untouched
    assert "enterprise" not in body


def test_mitre_coverage_matches_the_domain_tables(client: TestClient) -> None:
    body = client.get("/api/v1/mitre/coverage").json()
    rows = coverage()
    assert body["attack_version"] == "v18"
    assert body["total_techniques"] == len({r.technique_id for r in rows})
    pairs = {(t["component"], t["technique_id"]) for t in body["techniques"]}
    assert pairs == {(r.component, r.technique_id) for r in rows}
    assert len(pairs) == len(body["techniques"])
    tactics = {t["tactic"]: t for t in body["by_tactic"]}
    assert set(tactics) == {r.tactic for r in rows}
    exfil = tactics["exfiltration"]
    assert exfil["components"] == ["dlp"]
    assert exfil["covered_techniques"] == len({r.technique_id for r in rows if r.tactic == "exfiltration"})


# -- detection reads --------------------------------------------------------------------------
def test_ids_status_and_rules(client: TestClient) -> None:
    assert client.get("/api/v1/ids/status").json() == {"enabled": True, "mode": "alert", "rule_count": 1}
    (rule,) = client.get("/api/v1/ids/rules").json()
    assert rule["id"] == "ids-ssh"
    assert rule["severity"] == "high"
    assert rule["protocol"] == "tcp"
    assert rule["dst_port"] == 22
    assert rule["mode"] == "alert"
    assert rule["threshold"] == {
        "threshold_type": "threshold",
        "count": 5,
        "window_secs": 60,
        "track_by": "src_ip",
    }


def test_ids_without_engine_is_404_service_not_available(client: TestClient, runtime: Any) -> None:
    runtime.detection.ids_engine = None
    for path in ("/api/v1/ids/status", "/api/v1/ids/rules"):
        response = client.get(path)
        assert response.status_code == 404
        assert error_code(response) == "SERVICE_NOT_AVAILABLE"


def test_ips_rules(client: TestClient) -> None:
    (rule,) = client.get("/api/v1/ips/rules").json()
    assert rule["id"] == "ips-web"
    assert rule["pattern"] == "evil"
    assert rule["mode"] == "block"
    assert rule["severity"] == "critical"
    assert rule["dst_port"] == 80


def test_dlp_status_and_patterns_include_builtins_and_overrides(client: TestClient, runtime: Any) -> None:
    patterns = client.get("/api/v1/dlp/patterns").json()
    expected = len(runtime.loaded.detection.dlp_patterns)
    assert len(patterns) == expected
    assert client.get("/api/v1/dlp/status").json() == {
        "enabled": True,
        "mode": "alert",
        "pattern_count": expected,
    }
    email = next(p for p in patterns if p["id"] == "dlp-pii-email")
    assert email["enabled"] is False
    assert set(email) == {"id", "name", "regex", "severity", "data_type", "enabled"}


def test_threatintel_status_iocs_and_feeds(client: TestClient) -> None:
    status = client.get("/api/v1/threatintel/status").json()
    assert status == {"enabled": True, "mode": "alert", "ioc_count": 1, "feed_count": 1}
    assert client.get("/api/v1/threatintel/iocs").json() == [
        {
            "ip": "203.0.113.7",
            "feed_id": "feed-a",
            "confidence": 90,
            "threat_type": "malware",
            "source_feed": "feed-a",
        }
    ]
    (feed,) = client.get("/api/v1/threatintel/feeds").json()
    assert feed["id"] == "feed-a"
    assert feed["format"] == "plaintext"
    assert feed["last_fetched"] is None
    assert "auth_header" not in feed


def test_l7_rules_sorted_by_priority(client: TestClient) -> None:
    rules = client.get("/api/v1/firewall/l7-rules").json()
    assert [r["id"] for r in rules] == ["l7-a", "l7-b"]
    assert rules[0]["matcher"]["protocol"] == "http"
    assert rules[0]["matcher"]["method"] == "POST"
    assert rules[1]["matcher"]["protocol"] == "tls"


# -- IPS blacklist ----------------------------------------------------------------------------
def test_blacklist_add_list_delete_drives_the_kernel_blocklist(client: TestClient, runtime: Any) -> None:
    kernel = runtime.kernel_blocklist
    response = client.post(
        "/api/v1/ips/blacklist", json={"ip": "198.51.100.9", "reason": "scanner", "ttl_secs": 60}
    )
    assert response.status_code == 201
    assert response.json() == {"ip": "198.51.100.9", "reason": "scanner", "ttl_remaining_secs": 60}
    assert kernel.drops_packet_from(ipaddress.ip_address("198.51.100.9"))
    listed = client.get("/api/v1/ips/blacklist").json()
    assert listed == [
        {"ip": "198.51.100.9", "reason": "scanner", "auto_generated": False, "ttl_remaining_secs": 60}
    ]
    assert client.delete("/api/v1/ips/blacklist/198.51.100.9").status_code == 204
    assert not kernel.drops_packet_from(ipaddress.ip_address("198.51.100.9"))
    assert client.get("/api/v1/ips/blacklist").json() == []


def test_blacklist_defaults_and_caps_ttl_and_reason(client: TestClient) -> None:
    body = client.post("/api/v1/ips/blacklist", json={"ip": "2001:db8::5", "ttl_secs": 999_999}).json()
    assert body == {"ip": "2001:db8::5", "reason": "manual-api", "ttl_remaining_secs": 3600}
    subnet = client.post("/api/v1/ips/blacklist", json={"ip": "198.51.100.0/24"})
    assert subnet.status_code == 201
    assert client.delete("/api/v1/ips/blacklist/198.51.100.0/24").status_code == 204


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"ip": "10.9.1.1"}, "IPS_BLACKLIST_ERROR"),  # whitelisted
        ({"ip": "not-an-ip"}, "VALIDATION_ERROR"),
        ({}, "VALIDATION_ERROR"),
        ({"ip": "198.51.100.1", "ttl_secs": 0}, "VALIDATION_ERROR"),
        ({"ip": "198.51.100.1", "ttl_secs": "60"}, "VALIDATION_ERROR"),
        ({"ip": "198.51.100.1", "colour": "red"}, "VALIDATION_ERROR"),
        ({"ip": "198.51.100.1", "reason": "x" * 600}, "VALIDATION_ERROR"),
    ],
)
def test_blacklist_add_refusals(client: TestClient, runtime: Any, body: dict[str, Any], code: str) -> None:
    response = client.post("/api/v1/ips/blacklist", json=body)
    assert response.status_code == 400
    assert error_code(response) == code
    assert runtime.kernel_blocklist.networks() == set()


def test_blacklist_duplicate_and_full_are_refused(client: TestClient) -> None:
    for i in range(3):
        assert client.post("/api/v1/ips/blacklist", json={"ip": f"198.51.100.{i}"}).status_code == 201
    duplicate = client.post("/api/v1/ips/blacklist", json={"ip": "198.51.100.0"})
    assert (duplicate.status_code, error_code(duplicate)) == (400, "IPS_BLACKLIST_ERROR")
    full = client.post("/api/v1/ips/blacklist", json={"ip": "198.51.100.200"})  # max_blacklist_size 3
    assert (full.status_code, error_code(full)) == (400, "IPS_BLACKLIST_ERROR")
    assert "full" in full.json()["error"]["message"]


def test_blacklist_delete_errors(client: TestClient) -> None:
    missing = client.delete("/api/v1/ips/blacklist/198.51.100.77")
    assert (missing.status_code, error_code(missing)) == (404, "IPS_BLACKLIST_ENTRY_NOT_FOUND")
    bad = client.delete("/api/v1/ips/blacklist/nonsense")
    assert (bad.status_code, error_code(bad)) == (400, "VALIDATION_ERROR")


def test_blacklist_body_must_be_json_object(client: TestClient) -> None:
    for content in (b"[1]", b"{not json", b"x" * (65 * 1024)):
        response = client.post("/api/v1/ips/blacklist", content=content)
        assert (response.status_code, error_code(response)) == (400, "VALIDATION_ERROR")


def test_domain_blocks_are_blacklist_entries_caused_by_dns(client: TestClient, runtime: Any) -> None:
    ips = runtime.detection.ips
    ips.add_manual(ipaddress.ip_address("192.0.2.10"), 120, "dns-blocklist: bad.example")
    ips.add_manual(ipaddress.ip_address("192.0.2.11"), 120, "reputation: dga.example")
    ips.add_manual(ipaddress.ip_address("192.0.2.12"), 120, "manual-api")
    blocks = client.get("/api/v1/ips/domain-blocks").json()
    assert blocks == [
        {
            "ip": "192.0.2.10",
            "domain": "bad.example",
            "source": "dns-blocklist",
            "reason": "dns-blocklist: bad.example",
            "ttl_remaining_secs": 120,
        },
        {
            "ip": "192.0.2.11",
            "domain": "dga.example",
            "source": "reputation",
            "reason": "reputation: dga.example",
            "ttl_remaining_secs": 120,
        },
    ]


def test_ips_writes_without_enforcer_are_503_and_reads_empty(client: TestClient, runtime: Any) -> None:
    runtime.detection.ips = None
    assert client.get("/api/v1/ips/blacklist").json() == []
    response = client.post("/api/v1/ips/blacklist", json={"ip": "198.51.100.1"})
    assert (response.status_code, error_code(response)) == (503, "SERVICE_UNAVAILABLE")


# -- rate limit -------------------------------------------------------------------------------
def test_ratelimit_rules_create_list_delete_apply_to_the_map(client: TestClient, runtime: Any) -> None:
    assert client.get("/api/v1/ratelimit/rules").json() == [
        {
            "id": "rl-one",
            "rate": 10,
            "burst": 20,
            "action": "drop",
            "algorithm": "token_bucket",
            "src_ip": "10.1.0.1",
            "enabled": True,
        }
    ]
    created = client.post(
        "/api/v1/ratelimit/rules", json={"id": "rl-two", "rate": 5, "burst": 5, "src_ip": "10.2.0.0/16"}
    )
    assert created.status_code == 201
    assert created.json()["src_ip"] == "10.2.0.0/16"
    assert created.json()["algorithm"] == "token_bucket"
    decision = runtime.ratelimit.decide(ipaddress.ip_address("10.2.3.4"), 1)
    assert decision.policy_id == "rl-two"
    assert runtime.rule_store.get("ratelimit", "rl-two").rule["rate"] == 5
    assert [r["id"] for r in client.get("/api/v1/ratelimit/rules").json()] == ["rl-one", "rl-two"]
    assert client.delete("/api/v1/ratelimit/rules/rl-one").status_code == 204
    assert runtime.ratelimit.decide(ipaddress.ip_address("10.1.0.1"), 2).policy_id != "rl-one"
    assert runtime.rule_store.get("ratelimit", "rl-one").is_tombstone


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"id": "rl-one", "rate": 1, "burst": 1, "src_ip": "10.7.0.1"}, 409, "DUPLICATE_RULE"),
        ({"id": "x", "rate": 1, "burst": 1, "src_ip": "10.1.0.1"}, 400, "VALIDATION_ERROR"),  # src taken
        ({"id": "x", "rate": 0, "burst": 1, "src_ip": "10.7.0.1"}, 400, "VALIDATION_ERROR"),
        ({"id": "x", "rate": 1, "burst": 1, "src_ip": "nonsense"}, 400, "VALIDATION_ERROR"),
        ({"id": "x", "rate": 1, "burst": 1}, 400, "VALIDATION_ERROR"),
        (
            {"id": "x", "rate": 1, "burst": 1, "src_ip": "10.7.0.1", "algorithm": "syn_cookie"},
            400,
            "VALIDATION_ERROR",
        ),
        ({"id": "x", "rate": 1.5, "burst": 1, "src_ip": "10.7.0.1"}, 400, "VALIDATION_ERROR"),
        ({"id": "x", "rate": 1, "burst": 1, "src_ip": "10.7.0.1", "tenant": 3}, 400, "VALIDATION_ERROR"),
    ],
)
def test_ratelimit_create_refusals(client: TestClient, body: dict[str, Any], status: int, code: str) -> None:
    response = client.post("/api/v1/ratelimit/rules", json=body)
    assert (response.status_code, error_code(response)) == (status, code)
    assert [r["id"] for r in client.get("/api/v1/ratelimit/rules").json()] == ["rl-one"]


def test_ratelimit_delete_unknown_is_404(client: TestClient) -> None:
    response = client.delete("/api/v1/ratelimit/rules/nope")
    assert (response.status_code, error_code(response)) == (404, "RULE_NOT_FOUND")


def test_ratelimit_without_map_is_503_for_writes(client: TestClient, runtime: Any) -> None:
    runtime.ratelimit = None
    assert client.get("/api/v1/ratelimit/rules").json() == []
    response = client.post(
        "/api/v1/ratelimit/rules", json={"id": "x", "rate": 1, "burst": 1, "src_ip": "10.7.0.1"}
    )
    assert (response.status_code, error_code(response)) == (503, "SERVICE_UNAVAILABLE")


# -- DNS --------------------------------------------------------------------------------------
def seed_cache(runtime: Any) -> None:
    now = time.time()
    cache = runtime.detection.dns.cache
    cache.record("bad.example", [(ipaddress.ip_address("192.0.2.1"), 300)], now)
    cache.record("www.good.example", [(ipaddress.ip_address("192.0.2.2"), 300)], now)
    cache.record("www.good.example", [(ipaddress.ip_address("2001:db8::2"), 300)], now)
    cache.record("x.evil.example", [(ipaddress.ip_address("192.0.2.1"), 120)], now)
    assert cache.lookup("bad.example", now) is not None
    assert cache.lookup("missing.example", now) is None


def test_dns_cache_lists_filters_and_pages(client: TestClient, runtime: Any) -> None:
    seed_cache(runtime)
    body = client.get("/api/v1/dns/cache").json()
    assert (body["page"], body["page_size"]) == (0, 50)
    by_name = {e["domain"]: e for e in body["entries"]}
    assert set(by_name) == {"bad.example", "www.good.example", "x.evil.example"}
    assert by_name["www.good.example"]["ips"] == ["192.0.2.2", "2001:db8::2"]
    assert by_name["www.good.example"]["query_count"] == 2
    assert by_name["bad.example"]["is_blocked"] and by_name["x.evil.example"]["is_blocked"]
    assert not by_name["www.good.example"]["is_blocked"]
    assert 295 <= by_name["bad.example"]["ttl_remaining_secs"] <= 300
    good = client.get("/api/v1/dns/cache", params={"domain": "GOOD"}).json()["entries"]
    assert [e["domain"] for e in good] == ["www.good.example"]
    reverse = client.get("/api/v1/dns/cache", params={"ip": "192.0.2.1"}).json()["entries"]
    assert sorted(e["domain"] for e in reverse) == ["bad.example", "x.evil.example"]
    paged = client.get("/api/v1/dns/cache", params={"page": 1, "page_size": 2}).json()
    assert len(paged["entries"]) == 1 and paged["page_size"] == 2


@pytest.mark.parametrize("params", [{"page_size": 501}, {"page": -1}, {"page": "x"}, {"ip": "zzz"}])
def test_dns_cache_bad_queries_are_400(client: TestClient, params: dict[str, Any]) -> None:
    response = client.get("/api/v1/dns/cache", params=params)
    assert (response.status_code, error_code(response)) == (400, "VALIDATION_ERROR")


def test_dns_stats_status_and_flush(client: TestClient, runtime: Any) -> None:
    seed_cache(runtime)
    stats = client.get("/api/v1/dns/stats").json()
    assert stats["total_entries"] == 3
    assert (stats["hit_count"], stats["miss_count"]) == (1, 1)
    assert stats["top_queried"][0] == {"domain": "www.good.example", "query_count": 2}
    assert stats["blocklist_pattern_count"] == 2
    status = client.get("/api/v1/dns/status").json()
    assert status["enabled"] is True and status["blocklist_pattern_count"] == 2
    assert client.delete("/api/v1/dns/cache").json() == {"flushed_entries": 3}
    assert client.get("/api/v1/dns/cache").json()["entries"] == []
    assert client.get("/api/v1/dns/stats").json()["hit_count"] == 1  # counters survive a flush


def test_domain_blocklist_add_list_remove(client: TestClient, runtime: Any) -> None:
    added = client.post("/api/v1/domains/blocklist", json={"domain": "*.Ads.Example"})
    assert added.json() == {"domain": "*.ads.example", "added": True}
    assert client.post("/api/v1/domains/blocklist", json={"domain": "*.ads.example"}).json()["added"] is False
    assert runtime.detection.dns.domains.match("tracker.ads.example") is not None
    listed = client.get("/api/v1/dns/blocklist").json()
    assert {"pattern": "*.ads.example", "action": "block", "match_count": 0} in listed
    assert {p["pattern"] for p in listed} == {"bad.example", "*.evil.example", "*.ads.example"}
    removed = client.delete("/api/v1/domains/blocklist/*.ads.example")
    assert removed.json() == {"domain": "*.ads.example", "removed": True}
    assert runtime.detection.dns.domains.match("tracker.ads.example") is None


def test_domain_blocklist_errors(client: TestClient) -> None:
    for domain in ("bad domain", "*.a.b.c.d.e.f", "a*b.example", ""):
        response = client.post("/api/v1/domains/blocklist", json={"domain": domain})
        assert (response.status_code, error_code(response)) == (400, "INVALID_PATTERN"), domain
    missing = client.delete("/api/v1/domains/blocklist/never.example")
    assert (missing.status_code, error_code(missing)) == (404, "PATTERN_NOT_FOUND")
    # config patterns are not the API's to remove
    config = client.delete("/api/v1/domains/blocklist/bad.example")
    assert (config.status_code, error_code(config)) == (404, "PATTERN_NOT_FOUND")


def test_domain_reputation_sorted_filtered_paged(client: TestClient, runtime: Any) -> None:
    engine = runtime.detection.dns.reputation
    now = time.time()
    engine.observe_blocklist_hit("hit.example", now)
    engine.observe_high_risk_country("risky.example", now)
    body = client.get("/api/v1/domains/reputation").json()
    names = [e["domain"] for e in body["entries"]]
    assert names[:2] == ["hit.example", "risky.example"]
    scores = [e["score"] for e in body["entries"]]
    assert scores == sorted(scores, reverse=True)
    assert "blocklist_hit" in body["entries"][0]["factors"]
    one = client.get("/api/v1/domains/reputation", params={"domain": "risky.example"}).json()["entries"]
    assert [e["domain"] for e in one] == ["risky.example"]
    high = client.get("/api/v1/domains/reputation", params={"min_score": 0.85}).json()["entries"]
    assert [e["domain"] for e in high] == ["hit.example"]
    bad = client.get("/api/v1/domains/reputation", params={"min_score": "high"})
    assert (bad.status_code, error_code(bad)) == (400, "VALIDATION_ERROR")


def test_dns_routes_without_service_are_503(client: TestClient, runtime: Any) -> None:
    runtime.detection.dns = None
    assert client.get("/api/v1/dns/status").json()["enabled"] is False
    for method, path in (
        ("GET", "/api/v1/dns/cache"),
        ("DELETE", "/api/v1/dns/cache"),
        ("GET", "/api/v1/dns/stats"),
        ("GET", "/api/v1/dns/blocklist"),
        ("GET", "/api/v1/domains/reputation"),
        ("DELETE", "/api/v1/domains/blocklist/a.example"),
    ):
        response = client.request(method, path)
        assert (response.status_code, error_code(response)) == (503, "SERVICE_UNAVAILABLE"), path
