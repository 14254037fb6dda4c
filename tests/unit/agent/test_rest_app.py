"""The REST app in-process: the OpenAPI document generated from the endpoint registry, the bundled
Swagger UI, error bodies, security headers, CORS and the per-IP rate limits.

The runtime is the stand-in of ``test_rest_more_routes`` (a real validated config, the real
engines and services, in-memory fakes for the kernel maps)."""

import re
import tempfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
from schemathesis.specs.openapi.definitions import OPENAPI_30, OPENAPI_31
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from test_rest_more_routes import fake_runtime

from sentinel_agent.rest.app import build_app
from sentinel_agent.rest.limits import Gcra
from sentinel_application.alert_broadcast import AlertBroadcast
from sentinel_application.firewall_rules import FirewallRuleService, FirewallSettings
from sentinel_domain.threatintel import Ioc, IocKind, ThreatType
from sentinel_testkit.fakes.audit_log import InMemoryAuditLog
from sentinel_testkit.fakes.rule_store import InMemoryRuleStore


def runtime(tmp: Path, swagger: bool = True, **agent: Any) -> SimpleNamespace:
    rt = fake_runtime(tmp)
    rt.loaded.config.agent.swagger_ui = swagger
    for key, value in agent.items():
        setattr(rt.loaded.config.agent.api_rate_limit, key, value)
    rt.alert_store = None
    rt.rules = None
    rt.broadcast = AlertBroadcast()
    rt.readiness = lambda: {"status": "ready", "ebpf_loaded": True}
    rt.ready = lambda: True
    rt.detection.loaded_iocs.append(Ioc(IocKind.URL, "http://bad.example/x", "feed-a", 80, ThreatType.C2))
    return rt


async def legacy_refresh(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "message": "refreshing"})


async def broken(_: Request) -> JSONResponse:
    raise RuntimeError("secret engine detail /etc/shadow")


LEGACY = [
    ("/api/v1/legacy/refresh", legacy_refresh, ["POST"]),
    ("/api/v1/broken", broken, ["GET"]),
]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(build_app(runtime(tmp_path), extra_routes=LEGACY)) as test_client:  # type: ignore[arg-type]
        yield test_client


def test_document_is_valid_openapi_31_and_its_30_rendering_is_valid_30(client: TestClient) -> None:
    doc = client.get("/api-docs/openapi.json").json()
    assert doc["openapi"] == "3.1.0"
    assert not [e.message for e in jsonschema.Draft202012Validator(OPENAPI_31).iter_errors(doc)]
    for component in doc["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(component)
    legacy = client.get("/api-docs/openapi-3.0.json").json()
    assert legacy["openapi"] == "3.0.3"
    validator = jsonschema.validators.validator_for(OPENAPI_30)(OPENAPI_30)
    assert not [e.message for e in validator.iter_errors(legacy)]
    assert '"type": "null"' not in str(legacy).replace("'", '"')


def test_every_route_of_the_app_is_in_the_document(client: TestClient) -> None:
    doc = client.get("/api-docs/openapi.json").json()
    routes = [r for r in client.app.routes if isinstance(r, Route)]  # type: ignore[attr-defined]
    assert len(routes) >= 40
    for route in routes:
        path = re.sub(r"{(\w+)(:\w+)?}", r"{\1}", route.path)
        for method in route.methods or ():
            if method == "HEAD":
                continue
            assert method.lower() in doc["paths"].get(path, {}), (method, path)


def test_document_declares_limits_errors_and_security(client: TestClient) -> None:
    doc = client.get("/api-docs/openapi.json").json()
    schemas = doc["components"]["schemas"]
    create = schemas["CreateRuleRequest"]
    assert create["properties"]["id"]["maxLength"] == 256
    assert create["properties"]["action"]["maxLength"] == 128
    assert create["properties"]["src_ip"]["anyOf"][0]["maxLength"] == 512
    assert create["additionalProperties"] is False
    assert set(create["required"]) == {"id", "priority", "action"}
    assert set(doc["components"]["securitySchemes"]) == {"bearerAuth", "apiKeyAuth"}
    assert doc["components"]["securitySchemes"]["apiKeyAuth"]["name"] == "X-API-Key"
    post = doc["paths"]["/api/v1/firewall/rules"]["post"]
    assert {"201", "400", "401", "403", "409", "429", "500"} <= set(post["responses"])
    assert post["responses"]["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert post["responses"]["429"]["headers"]["Retry-After"]["schema"]["minimum"] == 1
    assert post["security"] == [{"bearerAuth": []}, {"apiKeyAuth": []}, {}]
    alerts = doc["paths"]["/api/v1/alerts"]["get"]
    limit = next(p for p in alerts["parameters"] if p["name"] == "limit")
    assert limit["schema"] == {"type": "integer", "minimum": 0, "maximum": 1000, "default": 100}
    path_id = doc["paths"]["/api/v1/firewall/rules/{id}"]["delete"]["parameters"][0]
    assert (path_id["in"], path_id["required"], path_id["schema"]["maxLength"]) == ("path", True, 256)
    assert "security" not in doc["paths"]["/healthz"]["get"]
    stream = doc["paths"]["/api/v1/alerts/stream"]["get"]
    assert "text/event-stream" in stream["responses"]["200"]["content"]


def test_routes_registered_the_old_way_are_documented_generically(client: TestClient) -> None:
    doc = client.get("/api-docs/openapi.json").json()
    refresh = doc["paths"]["/api/v1/legacy/refresh"]["post"]
    assert refresh["summary"] == "legacy refresh"
    assert "2XX" in refresh["responses"] and "500" in refresh["responses"]
    assert client.post("/api/v1/legacy/refresh").json()["status"] == "ok"


def test_documented_responses_match_their_schemas(client: TestClient) -> None:
    """A few live answers validated against the document's own schemas."""
    doc = client.get("/api-docs/openapi.json").json()
    for path in ("/api/v1/mitre/coverage", "/api/v1/ips/rules", "/api/v1/threatintel/feeds", "/readyz"):
        schema = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        rooted = {**schema, "components": doc["components"]}  # the $refs point into the document
        jsonschema.Draft202012Validator(rooted).validate(client.get(path).json())
    bad = {**doc["paths"]["/readyz"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator({**bad, "components": doc["components"]}).validate({"status": "?"})


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def test_swagger_ui_is_served_from_the_bundled_assets(client: TestClient) -> None:
    page = client.get("/swagger-ui")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    parser = _Assets()
    parser.feed(page.text)
    assert len(parser.urls) >= 5
    for url in parser.urls:
        assert not url.startswith(("http://", "https://", "//")), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 0
    initializer = client.get("/swagger-ui/swagger-initializer.js").text
    assert "/api-docs/openapi-3.0.json" in initializer and "petstore" not in initializer
    assert "validatorUrl: null" in initializer
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/swagger-ui/../../etc/passwd").status_code == 404
    assert client.get("/swagger-ui/index.j2").status_code == 404


def test_docs_are_404_when_swagger_ui_is_off(tmp_path: Path) -> None:
    with TestClient(build_app(runtime(tmp_path, swagger=False))) as off:  # type: ignore[arg-type]
        for path in ("/api-docs/openapi.json", "/swagger-ui", "/swagger-ui/swagger-ui.css"):
            response = off.get(path)
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "NOT_FOUND"


def test_errors_have_the_contract_body_and_no_details(client: TestClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "NOT_FOUND")
    wrong_method = client.put("/api/v1/firewall/rules")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    failed = client.get("/api/v1/broken")
    assert failed.status_code == 500
    assert failed.json() == {"error": {"code": "INTERNAL_ERROR", "message": "internal error"}}
    assert "shadow" not in failed.text


def test_a_rule_change_the_full_store_cannot_keep_answers_503(tmp_path: Path) -> None:
    rt, store = runtime(tmp_path), InMemoryRuleStore()
    rt.rules = FirewallRuleService(FirewallSettings(), lambda _: None, lambda: 1, store, InMemoryAuditLog())
    store.full = True
    with TestClient(build_app(rt)) as client:  # type: ignore[arg-type]
        refused = client.post("/api/v1/firewall/rules", json={"id": "r1", "priority": 5, "action": "deny"})
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert "storage is full" in refused.json()["error"]["message"]
        assert client.get("/api/v1/firewall/rules").json() == []


def test_security_headers_on_every_response(client: TestClient) -> None:
    for response in (client.get("/healthz"), client.get("/nope"), client.get("/api/v1/broken")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["content-security-policy"] == "frame-ancestors 'none'"
        assert "strict-transport-security" not in response.headers


def test_hsts_when_tls_is_on(tmp_path: Path) -> None:
    rt = runtime(tmp_path)
    rt.loaded.config.agent.tls.enabled = True
    with TestClient(build_app(rt)) as tls:  # type: ignore[arg-type]
        assert "max-age=" in tls.get("/healthz").headers["strict-transport-security"]


def test_cors_allows_only_localhost_origins(client: TestClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "X-API-Key"}
    for origin in ("http://localhost:3000", "https://127.0.0.1", "http://[::1]:8080"):
        ok = client.options("/api/v1/firewall/rules", headers={"Origin": origin, **preflight})
        assert ok.status_code == 200, origin
        assert ok.headers["access-control-allow-origin"] == origin
        assert ok.headers["access-control-max-age"] == "3600"
    for origin in ("http://localhost.evil.com", "http://evil.com", "http://127.0.0.1.nip.io"):
        refused = client.options("/api/v1/firewall/rules", headers={"Origin": origin, **preflight})
        assert refused.status_code == 400, origin
        assert "access-control-allow-origin" not in refused.headers
        simple = client.get("/healthz", headers={"Origin": origin})
        assert "access-control-allow-origin" not in simple.headers


def test_gcra_burst_then_one_per_period() -> None:
    limiter = Gcra(period=4.0, burst=3)
    assert [limiter.check("a", 100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.check("a", 100.0) == pytest.approx(4.0)
    assert limiter.check("b", 100.0) == 0.0  # another key has its own bucket
    assert limiter.check("a", 103.9) > 0
    assert limiter.check("a", 104.0) == 0.0  # one token back after a period
    assert limiter.check("a", 104.0) > 0
    assert limiter.check("a", 116.0) == 0.0  # three periods later: three tokens
    assert limiter.check("a", 116.0) == 0.0
    assert limiter.check("a", 116.0) == 0.0
    assert limiter.check("a", 116.0) > 0


def test_gcra_forgets_idle_keys_to_stay_bounded() -> None:
    limiter = Gcra(period=1.0, burst=1, max_keys=10)
    for i in range(50):
        limiter.check(f"k{i}", float(i))
    assert len(limiter._tat) <= 10


def test_rate_limit_for_non_loopback_peers(tmp_path: Path) -> None:
    """TestClient's peer ("testclient") is not loopback: the limits apply to it."""
    app = build_app(runtime(tmp_path, write_burst=2, write_per_second=1))  # type: ignore[arg-type]
    with TestClient(app) as c:
        body = {"id": "x", "rate": 1, "burst": 1, "src_ip": "nonsense"}
        assert [c.post("/api/v1/ratelimit/rules", json=body).status_code for _ in range(2)] == [400, 400]
        limited = c.post("/api/v1/ratelimit/rules", json=body)
        assert limited.status_code == 429
        assert limited.text == "Too Many Requests"
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.headers["x-frame-options"] == "DENY"
        assert c.get("/api/v1/ratelimit/rules").status_code == 200  # reads: their own group
        assert c.get("/healthz").status_code == 200  # public routes are never limited
        statuses = [c.get("/api/v1/dlp/status").status_code for _ in range(200)]
        assert statuses.count(429) >= 1 and statuses[:198].count(429) == 0


def test_loopback_is_exempt_unless_configured(tmp_path: Path) -> None:
    rt = runtime(tmp_path, write_burst=1)
    app = build_app(rt)  # type: ignore[arg-type]
    with TestClient(app, client=("127.0.0.1", 5000)) as c:
        body = {"id": "x", "rate": 1, "burst": 1, "src_ip": "nonsense"}
        assert {c.post("/api/v1/ratelimit/rules", json=body).status_code for _ in range(5)} == {400}
    strict = build_app(runtime(Path(tempfile.mkdtemp()), write_burst=1, exempt_loopback=False))  # type: ignore[arg-type]
    with TestClient(strict, client=("127.0.0.1", 5000)) as c:
        body = {"id": "x", "rate": 1, "burst": 1, "src_ip": "nonsense"}
        assert [c.post("/api/v1/ratelimit/rules", json=body).status_code for _ in range(2)] == [400, 429]


def test_metrics_group_burst_is_ten(tmp_path: Path) -> None:
    from prometheus_client import CollectorRegistry

    app = build_app(runtime(tmp_path), metrics=CollectorRegistry())  # type: ignore[arg-type]
    with TestClient(app) as c:
        statuses = [c.get("/metrics").status_code for _ in range(11)]
        assert statuses == [200] * 10 + [429]


def test_threatintel_urls_lists_the_url_indicators(client: TestClient) -> None:
    assert client.get("/api/v1/threatintel/urls").json() == [
        {"url": "http://bad.example/x", "feed_id": "feed-a", "confidence": 80, "threat_type": "c2"}
    ]
    assert client.get("/api/v1/threatintel/iocs").json()[0]["ip"] == "203.0.113.7"  # addresses only


def test_routes_other_modules_register_as_tuples_are_documented_precisely(client: TestClient) -> None:
    doc = client.get("/api-docs/openapi.json").json()
    create = doc["paths"]["/api/v1/firewall/l7-rules"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/CreateL7RuleRequest"
    )
    assert create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/L7RuleResponse"
    )
    l7 = doc["components"]["schemas"]["CreateL7RuleRequest"]
    assert set(l7["required"]) == {"id", "priority", "action", "protocol"}
    assert l7["properties"]["sni"]["anyOf"][0]["maxLength"] == 512
    assert "204" in doc["paths"]["/api/v1/firewall/l7-rules/{id}"]["delete"]["responses"]
    refresh = doc["paths"]["/api/v1/threatintel/feeds/refresh"]["post"]
    assert refresh["requestBody"]["required"] is False
    assert {"200", "400", "403", "503"} <= set(refresh["responses"])
    assert "403" not in doc["paths"]["/api/v1/threatintel/feeds"]["get"]["responses"]


def test_bodies_over_64_kib_are_refused_whether_announced_or_streamed(client: TestClient) -> None:
    big = b'{"ip": "' + b"1" * (65 * 1024) + b'"}'
    announced = client.post("/api/v1/ips/blacklist", content=big)
    assert (announced.status_code, announced.json()["error"]["code"]) == (400, "VALIDATION_ERROR")

    def chunks() -> Any:
        for _ in range(70):
            yield b" " * 1024

    streamed = client.post("/api/v1/domains/blocklist", content=chunks())  # chunked: no length
    assert streamed.status_code == 400 and "larger than 65536" in streamed.json()["error"]["message"]
    refresh = client.post("/api/v1/threatintel/feeds/refresh", content=chunks())
    assert refresh.status_code == 400


def test_patch_ips_rule_mode_rebuilds_the_engine(client: TestClient) -> None:
    from sentinel_domain.ids import IdsEngine, RuleMode

    app_runtime = client.app.state.runtime  # type: ignore[attr-defined]
    assert client.get("/api/v1/ips/rules").json()[0]["mode"] == "block"
    patched = client.patch("/api/v1/ips/rules/ips-web", json={"mode": "alert"})
    assert patched.status_code == 200
    assert (patched.json()["id"], patched.json()["mode"]) == ("ips-web", "alert")
    assert client.get("/api/v1/ips/rules").json()[0]["mode"] == "alert"
    engine = app_runtime.detection.ids_engine
    assert isinstance(engine, IdsEngine)  # a new engine, built from the changed rule set
    assert next(r for r in engine.rules if r.id == "ips-web").mode is RuleMode.ALERT
    missing = client.patch("/api/v1/ips/rules/nope", json={"mode": "block"})
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "IPS_RULE_NOT_FOUND")
    for body in ({"mode": "drop"}, {}, {"mode": "block", "x": 1}):
        bad = client.patch("/api/v1/ips/rules/ips-web", json=body)
        assert (bad.status_code, bad.json()["error"]["code"]) == (400, "VALIDATION_ERROR")
