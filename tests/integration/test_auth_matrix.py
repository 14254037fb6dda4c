"""Authentication and the role matrix on a live agent (contract §2.0, §9).

A real identity provider on loopback (tests' http.server) serves a JWKS of RSA keys generated
here; the agent verifies RS256 tokens against it, and API keys from its config. Every case is one
request against the running agent; the IdP counts JWKS fetches.

    root netns                          lab netns
    [agent] XDP on host_if  <== veth ==>  peer_if
"""

import base64
import hashlib
import hmac
import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from _agent import AGENT, AgentProcess, free_port

from sentinel_agent.grpc_api._generated import alerts_pb2, alerts_pb2_grpc
from sentinel_agent.lab import VethLab
from sentinel_testkit.fakes.identity_provider import IdentityProvider, SigningKey, identity_provider

pytestmark = pytest.mark.privileged

ISSUER, AUDIENCE = "https://idp.test", "sentinel"
ADMIN_KEY, OPERATOR_KEY, VIEWER_KEY = "sk-admin-6c1f0e", "sk-team-a-93be77", "sk-dash-0d52aa"
K1, K2, K3 = SigningKey.rsa("k1"), SigningKey.rsa("k2"), SigningKey.rsa("k3")
ATTACKER = SigningKey.rsa("k1")  # claims the trusted kid
GRPC_PORT = free_port()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(
    key: SigningKey,
    role: str = "admin",
    lifetime: int = 300,
    header: dict[str, Any] | None = None,
    **extra: Any,
) -> str:
    now = int(time.time())
    body = {
        "sub": f"{role}-user",
        "role": role,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + lifetime,
    }
    return key.sign({**body, **extra}, header)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def api_key(value: str) -> dict[str, str]:
    return {"X-API-Key": value}


def config_text(lab: VethLab, http: int, metrics: int, data: Path, jwks_url: str, grpc_port: int = 0) -> str:
    return f"""agent:
  interfaces: [{lab.host_if}]
  http_port: {http}
  grpc_port: {grpc_port or free_port()}
  metrics_port: {metrics}
  data_dir: {data}
auth:
  enabled: true
  api_keys:
    - {{name: ops-admin, key: {ADMIN_KEY}, role: admin}}
    - {{name: team-a-ci, key: {OPERATOR_KEY}, role: operator, namespaces: [team-a]}}
    - {{name: dashboard, key: {VIEWER_KEY}, role: viewer}}
  jwt:
    algorithm: RS256
    jwks_url: {jwks_url}
    issuer: {ISSUER}
    audience: {AUDIENCE}
dlp:
  enabled: false
"""


def raw_get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AgentProcess, IdentityProvider, int]]:
    tmp = tmp_path_factory.mktemp("auth")
    with VethLab(prefix="aut") as lab, identity_provider([K1]) as idp:
        http, metrics = free_port(), free_port()
        config = tmp / "agent.yaml"
        config.write_text(config_text(lab, http, metrics, tmp / "data", idp.jwks_url, GRPC_PORT))
        config.chmod(0o600)
        with PatientAgent(config, http, tmp / "agent.log") as agent:
            yield agent, idp, metrics


class PatientAgent(AgentProcess):  # type: ignore[misc]  # _agent is untyped for mypy
    """AgentProcess with a 90 s readiness deadline: on a loaded 2-core machine the agent's start
    (imports, BPF verification, attach) can take longer than the helper's 20 s."""

    def __enter__(self) -> "PatientAgent":
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"agent exited: {self.log_path.read_text()[-2000:]}")
            try:
                if self.get("/readyz")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"agent not ready: {self.log_path.read_text()[-2000:]}")


def _code(result: tuple[int, Any]) -> tuple[int, str | None]:
    status, body = result
    return status, (body or {}).get("error", {}).get("code") if isinstance(body, dict) else None


def test_rejected_credentials_are_401(live: tuple[AgentProcess, IdentityProvider, int]) -> None:
    agent, idp, _ = live
    assert idp.jwks_requests() == 1  # fetched once at start
    path = "/api/v1/agent/status"
    assert agent.get(path, bearer(token(K1)))[0] == 200
    head = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": "k1"}).encode())
    now = int(time.time())
    claims = {"sub": "x", "role": "admin", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 300}
    payload = _b64(json.dumps(claims).encode())
    hs_head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    hs_sig = hmac.new(K1.public_pem, f"{hs_head}.{payload}".encode(), hashlib.sha256).digest()
    cases = {
        "missing": {},
        "garbage": bearer("garbage"),
        "garbage-jwt-shape": bearer("abc.def.ghi"),
        "expired": bearer(token(K1, lifetime=-3600)),
        "not-yet-valid": bearer(token(K1, nbf=now + 3600)),
        "alg-none": bearer(f"{head}.{payload}."),
        "hs256-with-public-key": bearer(f"{hs_head}.{payload}.{_b64(hs_sig)}"),
        "wrong-iss": bearer(token(K1, iss="https://evil.test")),
        "wrong-aud": bearer(token(K1, aud="someone-else")),
        "jku-attacker": bearer(token(ATTACKER, header={"jku": "http://127.0.0.1:9/evil.json"})),
        "jwk-attacker": bearer(token(ATTACKER, header={"jwk": ATTACKER.jwk()})),
        "x5u-attacker": bearer(token(ATTACKER, header={"x5u": "http://127.0.0.1:9/evil.pem"})),
        "wrong-api-key": api_key("sk-admin-6c1f0f"),
        "malformed-bearer-beside-valid-key": {**bearer(ADMIN_KEY), **api_key(ADMIN_KEY)},
    }
    for name, headers in cases.items():
        assert _code(agent.get(path, headers)) == (401, "AUTHENTICATION_REQUIRED"), name
    assert idp.jwks_requests() == 1  # none of these is an unknown kid: no refetch


def test_jwks_rotation_cooldown_and_outage(live: tuple[AgentProcess, IdentityProvider, int]) -> None:
    agent, idp, _ = live
    path = "/api/v1/agent/status"
    before = idp.jwks_requests()
    idp.rotate(K2)
    assert agent.get(path, bearer(token(K2)))[0] == 200  # unknown kid → one refetch → accepted
    assert idp.jwks_requests() == before + 1
    assert _code(agent.get(path, bearer(token(K3)))) == (401, "AUTHENTICATION_REQUIRED")
    assert _code(agent.get(path, bearer(token(K1)))) == (401, "AUTHENTICATION_REQUIRED")  # rotated out
    assert idp.jwks_requests() == before + 1  # second unknown kid within the 30 s cooldown: no fetch
    idp.down = True
    try:
        assert agent.get(path, bearer(token(K2)))[0] == 200  # cached keys keep working
    finally:
        idp.down = False


def test_role_matrix(live: tuple[AgentProcess, IdentityProvider, int]) -> None:
    agent, idp, _ = live
    idp.rotate(K2)
    admin, viewer = bearer(token(K2)), bearer(token(K2, role="viewer"))
    operator = bearer(token(K2, role="operator", namespaces=["team-a"]))
    rules = "/api/v1/firewall/rules"

    def rule(rule_id: str, scope: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"id": rule_id, "priority": 200, "action": "deny", "protocol": "udp"}
        body["dst_port"] = 40000 + len(rule_id)
        return body if scope is None else {**body, "scope": scope}

    assert _code(agent.request("POST", rules, rule("v1", "namespace:team-a"), viewer)) == (
        403,
        "INSUFFICIENT_ROLE",
    )
    assert _code(agent.request("POST", rules, rule("v2", None), api_key(VIEWER_KEY))) == (
        403,
        "INSUFFICIENT_ROLE",
    )
    assert agent.request("POST", rules, rule("op-a", "namespace:team-a"), operator)[0] == 201
    assert agent.request("POST", rules, rule("op-a2", "namespace:team-a"), api_key(OPERATOR_KEY))[0] == 201
    assert _code(agent.request("POST", rules, rule("op-b", "namespace:team-b"), operator)) == (
        403,
        "NAMESPACE_FORBIDDEN",
    )
    assert _code(agent.request("POST", rules, rule("op-g", None), operator)) == (403, "INSUFFICIENT_ROLE")
    assert _code(agent.request("POST", rules, rule("op-i", "interface:eth0"), operator)) == (
        403,
        "INSUFFICIENT_ROLE",
    )
    assert agent.request("POST", rules, rule("adm-g", None), admin)[0] == 201
    assert agent.request("POST", rules, rule("adm-b", "namespace:team-b"), api_key(ADMIN_KEY))[0] == 201
    # deletes are judged by the stored rule's scope
    assert _code(agent.request("DELETE", f"{rules}/adm-g", None, operator)) == (403, "INSUFFICIENT_ROLE")
    assert _code(agent.request("DELETE", f"{rules}/adm-b", None, operator)) == (403, "NAMESPACE_FORBIDDEN")
    assert _code(agent.request("DELETE", f"{rules}/op-a", None, viewer)) == (403, "INSUFFICIENT_ROLE")
    assert agent.request("DELETE", f"{rules}/op-a", None, operator)[0] == 204
    assert agent.request("DELETE", f"{rules}/adm-g", None, admin)[0] == 204
    ids = {r["id"] for r in agent.get(rules, viewer)[1]}
    assert {"op-a2", "adm-b"} <= ids and not {"v1", "v2", "op-b", "op-g", "op-i", "op-a", "adm-g"} & ids
    # every other write: operator yes, viewer no
    blacklist = {"ip": "198.51.100.77", "reason": "auth test"}
    assert _code(agent.request("POST", "/api/v1/ips/blacklist", blacklist, viewer)) == (
        403,
        "INSUFFICIENT_ROLE",
    )
    assert agent.request("POST", "/api/v1/ips/blacklist", blacklist, api_key(OPERATOR_KEY))[0] == 201
    assert agent.request("DELETE", "/api/v1/ips/blacklist/198.51.100.77", None, operator)[0] == 204


def test_api_keys_public_health_config_dump_and_metrics(
    live: tuple[AgentProcess, IdentityProvider, int],
) -> None:
    agent, _, metrics_port = live
    assert agent.get("/api/v1/agent/status", api_key(VIEWER_KEY))[0] == 200
    assert agent.get("/healthz") == (200, {"status": "ok"})
    assert agent.get("/readyz")[0] == 200
    status, raw = raw_get(agent.port, "/api/v1/config", api_key(VIEWER_KEY))
    assert status == 200
    for secret in (ADMIN_KEY, OPERATOR_KEY, VIEWER_KEY):
        assert secret.encode() not in raw
    dumped = json.loads(raw)["auth"]["api_keys"]
    assert [k["key"] for k in dumped] == ["***"] * 3 and dumped[1]["namespaces"] == ["team-a"]
    for port in (agent.port, metrics_port):
        status, body = raw_get(port, "/metrics")
        assert status == 401 and json.loads(body)["error"]["code"] == "AUTHENTICATION_REQUIRED"
        status, body = raw_get(port, "/metrics", api_key(VIEWER_KEY))
        assert status == 200 and b"# HELP" in body


def test_unreachable_jwks_at_start_aborts(tmp_path: Path) -> None:
    with VethLab(prefix="aut") as lab:
        config = tmp_path / "agent.yaml"
        dead = f"http://127.0.0.1:{free_port()}/jwks.json"
        config.write_text(config_text(lab, free_port(), free_port(), tmp_path / "data", dead))
        config.chmod(0o600)
        proc = subprocess.run(
            [AGENT, "-c", str(config)], check=False, capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 1
        assert "authentication setup failed" in proc.stdout + proc.stderr


def test_grpc_stream_needs_credentials(live: tuple[AgentProcess, IdentityProvider, int]) -> None:
    """Any valid credential may stream (the call stays open until its deadline); none or bad
    ones end it with UNAUTHENTICATED at once."""
    _, idp, _ = live
    idp.rotate(K2)

    def outcome(metadata: list[tuple[str, str]]) -> grpc.StatusCode:
        with grpc.insecure_channel(f"127.0.0.1:{GRPC_PORT}") as channel:
            stub = alerts_pb2_grpc.AlertStreamServiceStub(channel)  # type: ignore[no-untyped-call]
            call = stub.StreamAlerts(alerts_pb2.StreamAlertsRequest(), timeout=1.5, metadata=metadata)
            with pytest.raises(grpc.RpcError):
                for _ in call:
                    pass
            return call.code()

    assert outcome([]) == grpc.StatusCode.UNAUTHENTICATED
    assert outcome([("x-api-key", "sk-wrong")]) == grpc.StatusCode.UNAUTHENTICATED
    assert outcome([("authorization", "Bearer garbage")]) == grpc.StatusCode.UNAUTHENTICATED
    assert (
        outcome([("authorization", f"Bearer {token(K2, lifetime=-3600)}")]) == grpc.StatusCode.UNAUTHENTICATED
    )
    assert outcome([("x-api-key", VIEWER_KEY)]) == grpc.StatusCode.DEADLINE_EXCEEDED
    assert (
        outcome([("authorization", f"Bearer {token(K2, role='viewer')}")])
        == grpc.StatusCode.DEADLINE_EXCEEDED
    )


def test_cli_token_against_the_live_agent(live: tuple[AgentProcess, IdentityProvider, int]) -> None:
    """The CLI's --token / EBPFSENTINEL_TOKEN is verified by the agent; 401/403 exit 3."""
    agent, idp, _ = live
    idp.rotate(K2)

    def cli(*args: str, token_value: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {"PATH": "/usr/bin:/bin", "EBPFSENTINEL_PORT": str(agent.port)}
        if token_value is not None:
            env["EBPFSENTINEL_TOKEN"] = token_value
        return subprocess.run(
            [AGENT, *args], capture_output=True, text=True, timeout=60, env=env, check=False
        )

    assert cli("status", token_value=token(K2, role="viewer")).returncode == 0
    missing = cli("status")
    assert missing.returncode == 3 and "401 AUTHENTICATION_REQUIRED" in missing.stderr
    rule = json.dumps(
        {"id": "cli-rule", "priority": 300, "action": "deny", "protocol": "udp", "dst_port": 40999}
    )
    viewer = cli("firewall", "add", "--json", rule, token_value=token(K2, role="viewer"))
    assert viewer.returncode == 3 and "403 INSUFFICIENT_ROLE" in viewer.stderr
    assert cli("firewall", "add", "--json", rule, token_value=token(K2)).returncode == 0
    assert cli("firewall", "delete", "cli-rule", token_value=token(K2)).returncode == 0


def test_oidc_discovery_with_eddsa_and_public_metrics(tmp_path: Path) -> None:
    """``oidc.issuer`` only: the agent reads the discovery document, then the JWKS it names, and
    verifies Ed25519 tokens; ``metrics_auth_required: false`` leaves /metrics open."""
    ed = SigningKey.ed25519("ed-1")
    with VethLab(prefix="aut") as lab, identity_provider([ed]) as idp:
        http = free_port()
        config = tmp_path / "agent.yaml"
        config.write_text(
            f"agent:\n  interfaces: [{lab.host_if}]\n  http_port: {http}\n  grpc_port: {free_port()}\n"
            f"  metrics_port: {free_port()}\n  data_dir: {tmp_path / 'data'}\n"
            f"auth:\n  enabled: true\n  metrics_auth_required: false\n"
            f"  oidc:\n    issuer: {idp.issuer}\n    audience: {AUDIENCE}\n"
            "dlp:\n  enabled: false\n"
        )
        config.chmod(0o600)
        with PatientAgent(config, http, tmp_path / "agent.log") as agent:
            assert idp.requests == {"/.well-known/openid-configuration": 1, "/jwks.json": 1}
            now = int(time.time())
            claims = {
                "sub": "oidc-user",
                "role": "viewer",
                "iss": idp.issuer,
                "aud": AUDIENCE,
                "exp": now + 300,
            }
            assert agent.get("/api/v1/agent/status", bearer(ed.sign(claims)))[0] == 200
            assert _code(agent.request("DELETE", "/api/v1/dns/cache", None, bearer(ed.sign(claims)))) == (
                403,
                "INSUFFICIENT_ROLE",
            )
            assert agent.get("/api/v1/agent/status", bearer(ed.sign({**claims, "iss": ISSUER})))[0] == 401
            assert agent.get("/api/v1/agent/status", bearer(token(K1)))[0] == 401  # an RSA key it never saw
            assert raw_get(agent.port, "/metrics")[0] == 200
            assert agent.get("/api/v1/agent/status")[0] == 401
