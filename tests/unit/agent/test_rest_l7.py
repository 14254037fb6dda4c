"""``POST``/``DELETE /api/v1/firewall/l7-rules`` in-process over the real L7RuleService (contract
§2.2, §2.3): 201 L7RuleResponse, 400 VALIDATION_ERROR, 409 DUPLICATE_RULE, 204, 404 RULE_NOT_FOUND;
the GET list shows the API's rules next to the YAML's."""

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from sentinel_agent.rest.detection import detection_routes
from sentinel_agent.rest.l7 import l7_routes
from sentinel_application.l7_rules import L7RuleService, L7Settings
from sentinel_domain.l7 import L7Engine
from sentinel_testkit.fakes.audit_log import InMemoryAuditLog
from sentinel_testkit.fakes.rule_store import InMemoryRuleStore

YAML = ({"id": "yaml-tls", "priority": 20, "action": "deny", "protocol": "tls", "sni": "*.bad.example"},)
PATH = "/api/v1/firewall/l7-rules"


@pytest.fixture
def runtime() -> SimpleNamespace:
    engines: list[L7Engine] = []
    service = L7RuleService(
        L7Settings(YAML), engines.append, lambda: 1, InMemoryRuleStore(), InMemoryAuditLog()
    )
    service.install()
    return SimpleNamespace(l7_rules=service, engines=engines, loaded=None)


@pytest.fixture
def client(runtime: SimpleNamespace) -> Iterator[TestClient]:
    specs = [*detection_routes(runtime), *l7_routes(runtime)]
    with TestClient(Starlette(routes=[Route(p, h, methods=m) for p, h, m in specs])) as test_client:
        yield test_client


def code(response: Any) -> str:
    return str(response.json()["error"]["code"])


def test_create_list_delete(client: TestClient, runtime: SimpleNamespace) -> None:
    body = {"id": "api-grpc", "priority": 3, "action": "reject", "protocol": "grpc", "service": "pkg.Admin"}
    created = client.post(PATH, json={**body, "dst_ip": "10.0.0.0/8", "dst_port": 50051})
    assert created.status_code == 201
    assert created.json() == {
        "id": "api-grpc",
        "priority": 3,
        "action": "reject",
        "matcher": {"protocol": "grpc", "service_pattern": "pkg.Admin", "method_pattern": None},
        "dst_ip": "10.0.0.0/8",
        "dst_port": 50051,
        "enabled": True,
    }
    assert [r["id"] for r in client.get(PATH).json()] == ["api-grpc", "yaml-tls"]
    assert [r.id for r in runtime.engines[-1].rules] == ["api-grpc", "yaml-tls"]
    assert client.delete(f"{PATH}/api-grpc").status_code == 204
    assert [r["id"] for r in client.get(PATH).json()] == ["yaml-tls"]
    missing = client.delete(f"{PATH}/api-grpc")
    assert missing.status_code == 404 and code(missing) == "RULE_NOT_FOUND"


@pytest.mark.parametrize(
    "body",
    [
        {"id": "x", "priority": 1, "action": "deny"},  # protocol missing
        {"id": "x", "priority": 1, "action": "deny", "protocol": "ssh"},  # not an API protocol
        {"id": "x", "priority": 1, "action": "deny", "protocol": "http", "dst_port": "80-90"},  # single int
        {"id": "x", "priority": 1, "action": "deny", "protocol": "http", "sni": "a.example"},  # wrong matcher
        {"id": "x", "priority": 1, "action": "deny", "protocol": "http", "colour": "red"},  # unknown field
        {"id": "x", "priority": 0, "action": "deny", "protocol": "http"},  # priority ≥ 1
        {"id": "x", "priority": 1, "action": "drop", "protocol": "http"},  # action
        {"id": "x", "priority": 1, "action": "deny", "protocol": "tls", "sni": "*.a.*"},  # domain matcher
    ],
)
def test_invalid_requests_are_400_and_change_nothing(
    client: TestClient, runtime: SimpleNamespace, body: dict[str, Any]
) -> None:
    response = client.post(PATH, json=body)
    assert response.status_code == 400 and code(response) == "VALIDATION_ERROR"
    assert len(runtime.engines) == 1


def test_duplicate_id_is_409(client: TestClient) -> None:
    response = client.post(PATH, json={"id": "yaml-tls", "priority": 1, "action": "deny", "protocol": "ftp"})
    assert response.status_code == 409 and code(response) == "DUPLICATE_RULE"
