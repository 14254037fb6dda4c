"""The REST auth middleware over a small Starlette app: extraction order, 401/403 bodies, the
role matrix, body replay and public health (pure logic; the live matrix is in integration)."""

import json
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from sentinel_agent.rest.auth import AuthMiddleware
from sentinel_domain.access import Principal, Role
from sentinel_testkit.fakes.authenticator import TableAuthenticator

JWT = {"a.b.admin": Principal("adm", Role.ADMIN), "a.b.viewer": Principal("view", Role.VIEWER)}
KEYS = {"k-op": Principal("op", Role.OPERATOR, frozenset({"team-a"})), "k-view": Principal("v", Role.VIEWER)}
STORED = {"r-a": "namespace:team-a", "r-b": "namespace:team-b", "r-g": "global"}


def _who(request: Request) -> Any:
    principal = getattr(request.state, "principal", None)
    return principal.subject if principal else None


async def echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse({"who": _who(request), "body": body.decode()}, status_code=201)


async def ok(request: Request) -> Response:
    return JSONResponse({"who": _who(request)})


def client(metrics_auth_required: bool = True, enabled: bool = True) -> TestClient:
    routes = [
        Route("/healthz", ok),
        Route("/metrics", ok),
        Route("/api/v1/agent/status", ok),
        Route("/api/v1/firewall/rules", echo, methods=["POST"]),
        Route("/api/v1/firewall/rules/{id}", ok, methods=["DELETE"]),
        Route("/api/v1/ips/blacklist", echo, methods=["POST"]),
    ]
    auth = TableAuthenticator(JWT, KEYS) if enabled else None
    layer = Middleware(
        AuthMiddleware,
        authenticator=auth,
        metrics_auth_required=metrics_auth_required,
        rule_scope=STORED.get,
    )
    return TestClient(Starlette(routes=routes, middleware=[layer]))


def _error(response: Any) -> tuple[int, str, str]:
    err = response.json()["error"]
    return response.status_code, err["code"], err["message"]


def test_missing_malformed_and_wrong_credentials_are_401() -> None:
    c = client()
    assert _error(c.get("/api/v1/agent/status")) == (
        401,
        "AUTHENTICATION_REQUIRED",
        "authentication required: provide Bearer token or X-API-Key",
    )
    # a Bearer without the JWT shape is refused, even with a valid API key beside it
    r = c.get("/api/v1/agent/status", headers={"Authorization": "Bearer k-op", "X-API-Key": "k-op"})
    assert _error(r) == (401, "AUTHENTICATION_REQUIRED", "malformed Bearer token")
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert c.get("/api/v1/agent/status", headers={"X-API-Key": "nope"}).status_code == 401


def test_bearer_first_then_api_key_and_principal_in_state() -> None:
    c = client()
    both = {"Authorization": "Bearer a.b.admin", "X-API-Key": "k-view"}
    assert c.get("/api/v1/agent/status", headers=both).json() == {"who": "adm"}
    assert c.get("/api/v1/agent/status", headers={"X-API-Key": "k-op"}).json() == {"who": "op"}
    basic = {"Authorization": "Basic Zm9vOmJhcg==", "X-API-Key": "k-op"}  # not Bearer: key used
    assert c.get("/api/v1/agent/status", headers=basic).json() == {"who": "op"}


def test_health_public_metrics_guarded_when_required() -> None:
    assert client().get("/healthz").json() == {"who": None}
    assert client().get("/metrics").status_code == 401
    assert client().get("/metrics", headers={"X-API-Key": "k-view"}).status_code == 200
    assert client(metrics_auth_required=False).get("/metrics").status_code == 200


def test_auth_disabled_lets_everything_through() -> None:
    c = client(enabled=False)
    assert c.post("/api/v1/firewall/rules", json={"id": "x"}).status_code == 201


@pytest.mark.parametrize(
    ("creds", "body", "expected"),
    [
        ({"Authorization": "Bearer a.b.viewer"}, {"scope": "namespace:team-a"}, (403, "INSUFFICIENT_ROLE")),
        ({"X-API-Key": "k-op"}, {"scope": "namespace:team-a"}, (201, None)),
        ({"X-API-Key": "k-op"}, {"scope": {"namespace": "team-a"}}, (201, None)),
        ({"X-API-Key": "k-op"}, {"scope": "namespace:team-b"}, (403, "NAMESPACE_FORBIDDEN")),
        ({"X-API-Key": "k-op"}, {}, (403, "INSUFFICIENT_ROLE")),  # default scope is global
        ({"X-API-Key": "k-op"}, {"scope": "interface:eth0"}, (403, "INSUFFICIENT_ROLE")),
        ({"Authorization": "Bearer a.b.admin"}, {"scope": "global"}, (201, None)),
    ],
)
def test_firewall_rule_create_matrix(
    creds: dict[str, str], body: dict[str, Any], expected: tuple[int, str | None]
) -> None:
    r = client().post("/api/v1/firewall/rules", headers=creds, json={"id": "r1", **body})
    assert r.status_code == expected[0]
    if expected[1]:
        assert r.json()["error"]["code"] == expected[1]
    else:  # the app saw the whole body
        assert json.loads(r.json()["body"]) == {"id": "r1", **body}


def test_unparseable_body_reaches_the_app_and_oversized_is_refused() -> None:
    c = client()
    r = c.post("/api/v1/firewall/rules", headers={"X-API-Key": "k-op"}, content=b"{nope")
    assert r.status_code == 201 and r.json()["body"] == "{nope"  # the real app answers 400
    big = json.dumps({"id": "x", "pad": "a" * 70_000}).encode()
    r = c.post("/api/v1/firewall/rules", headers={"Authorization": "Bearer a.b.admin"}, content=big)
    assert _error(r)[:2] == (400, "VALIDATION_ERROR")


def test_firewall_rule_delete_by_stored_scope() -> None:
    c = client()
    op = {"X-API-Key": "k-op"}
    assert c.delete("/api/v1/firewall/rules/r-a", headers=op).status_code == 200
    assert _error(c.delete("/api/v1/firewall/rules/r-b", headers=op))[1] == "NAMESPACE_FORBIDDEN"
    assert _error(c.delete("/api/v1/firewall/rules/r-g", headers=op))[1] == "INSUFFICIENT_ROLE"
    assert c.delete("/api/v1/firewall/rules/missing", headers=op).status_code == 200  # app: 404
    assert (
        c.delete("/api/v1/firewall/rules/r-g", headers={"Authorization": "Bearer a.b.admin"}).status_code
        == 200
    )


def test_other_writes_need_operator() -> None:
    c = client()
    assert _error(c.post("/api/v1/ips/blacklist", headers={"X-API-Key": "k-view"}, json={}))[1] == (
        "INSUFFICIENT_ROLE"
    )
    assert (
        c.post("/api/v1/ips/blacklist", headers={"X-API-Key": "k-op"}, json={"ip": "1.2.3.4"}).status_code
        == 201
    )


def test_non_ascii_api_key_matches_its_utf8_bytes() -> None:
    auth = TableAuthenticator(api_keys={"clé-ü": Principal("u", Role.VIEWER)})
    app = Starlette(
        routes=[Route("/api/v1/agent/status", ok)],
        middleware=[Middleware(AuthMiddleware, authenticator=auth)],
    )
    response = TestClient(app).get("/api/v1/agent/status", headers={"X-API-Key": "clé-ü".encode()})
    assert response.json() == {"who": "u"}
