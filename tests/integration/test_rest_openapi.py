"""Property test of the live REST API against its own OpenAPI document (schemathesis).

A real agent on a VethLab serves ``/api-docs/openapi.json`` (``agent.swagger_ui: true``) with the
engines the API drives switched on. Schemathesis generates requests for every operation (valid
and invalid inputs) and checks that no answer is a server error, every status code is documented
and every body matches its documented schema.

``run_schemathesis(base_url, headers)`` is the reusable part: runs with credentials (admin key,
viewer key) are one more call with their headers.

Left out: ``GET /api/v1/alerts/stream`` (an endless SSE stream; its 400/503 answers and frames are
tested in test_rest_sse.py).
"""

import contextlib
import time
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from _agent import AgentProcess, agent_yaml, free_port
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from integration.fixtures.feed_server import FeedServer
from sentinel_agent.lab import VethLab

pytestmark = pytest.mark.privileged

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
SKIP = {("GET", "/api/v1/alerts/stream")}
EXAMPLES = 6  # per operation: ~45 operations, well within a minute
YAML = """  swagger_ui: true
firewall:
  mode: block
  rules:
    - {{id: deny-peer-icmp, priority: 10, action: deny, protocol: icmp, src_ip: "{peer}/32"}}
ips:
  enabled: true
  mode: block
  rules:
    - {{id: ips-web, severity: critical, protocol: tcp, dst_port: 80, pattern: evil, mode: block}}
ratelimit:
  enabled: true
  rules:
    - {{id: rl-one, rate: 10, burst: 20, src_ip: 10.1.0.1}}
dns:
  blocklist:
    domains: ["*.evil.example"]
  reputation:
    enabled: true
l7:
  enabled: true
  ports: [80]
  rules:
    - {{id: l7-admin, priority: 10, action: deny, protocol: http, method: POST, path: /admin}}
ids:
  enabled: true
  rules:
    - {{id: ids-ssh, severity: high, protocol: tcp, dst_port: 22, description: ssh}}
threatintel:
  enabled: true
  allow_networks: [127.0.0.0/8]
  feeds:
    - {{id: local, name: Local list, url: "{feed}", format: plaintext}}
dlp:
  enabled: false
"""


def run_schemathesis(
    base_url: str, headers: dict[str, str] | None = None, examples: int = EXAMPLES
) -> tuple[list[str], int]:
    """(failures, requests made) for every operation of the document at ``base_url``, with valid
    inputs and with invalid ones (where the operation has inputs to get wrong)."""
    schema = schemathesis.openapi.from_url(f"{base_url}/api-docs/openapi.json", headers=headers or {})
    failures: list[str] = []
    calls = 0
    operations = [r.ok() for r in schema.get_all_operations()]
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        for operation in operations:
            if (operation.method.upper(), operation.path) not in SKIP:
                failure, made = _exercise(operation, mode, base_url, headers, examples)
                calls += made
                if failure:
                    failures.append(f"{mode.value} {operation.method.upper()} {operation.path}: {failure}")
    return failures, calls


def _exercise(
    operation: Any, mode: GenerationMode, base_url: str, headers: dict[str, str] | None, examples: int
) -> tuple[str, int]:
    calls = 0

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def exercise(case: Any) -> None:
        nonlocal calls
        calls += 1
        case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=20)

    try:
        exercise()
    except Unsatisfiable:  # nothing to get wrong (no parameters, no body): no negative case
        return "", calls
    except (Exception, BaseExceptionGroup) as exc:  # FailureGroup; the other operations still run
        return str(exc)[:1500], calls
    return "", calls


def test_live_api_conforms_to_its_openapi_document(tmp_path: Path) -> None:
    with VethLab(prefix="oas") as lab, contextlib.closing(FeedServer()) as feeds:
        port = free_port()
        config = tmp_path / "agent.yaml"
        feed = feeds.serve("/ips.txt", b"203.0.113.9\n198.51.100.0/30\n")
        body = YAML.format(peer=lab.peer_ip, feed=feed)
        config.write_text(agent_yaml(lab.host_if, port, "", tmp_path / "data").rstrip("\n") + "\n" + body)
        with AgentProcess(config, port, tmp_path / "agent.log", ready_timeout=60) as agent:
            assert lab.ping_from_peer(lab.host_ip, count=2) == 0  # a few real alerts to list
            status, doc = agent.get("/api-docs/openapi.json")
            assert status == 200
            operations = sum(len(item) for item in doc["paths"].values())
            started = time.monotonic()
            failures, calls = run_schemathesis(f"http://127.0.0.1:{port}")
            assert not failures, "\n\n".join(failures)
            assert calls >= operations  # every operation was exercised at least once
            assert agent.get("/healthz")[0] == 200  # and the agent is still serving
            elapsed = time.monotonic() - started
            print(f"schemathesis: {calls} requests over {operations} operations in {elapsed:.1f}s")


AUTH = """auth:
  enabled: true
  api_keys:
    - {name: schemathesis-admin, key: sk-oas-admin-5b0e, role: admin}
    - {name: schemathesis-viewer, key: sk-oas-viewer-9c4d, role: viewer}
"""


def test_live_api_conforms_with_admin_and_viewer_keys(tmp_path: Path) -> None:
    """The same property with auth on, as admin and as a viewer: every viewer write answers the
    documented 403 INSUFFICIENT_ROLE (docs/auth.md); without credentials the API answers 401."""
    with VethLab(prefix="oaa") as lab:
        port = free_port()
        config = tmp_path / "agent.yaml"
        body = YAML.format(peer=lab.peer_ip, feed="http://127.0.0.1:9/none.txt")
        text = agent_yaml(lab.host_if, port, "", tmp_path / "data").rstrip("\n") + "\n" + body + AUTH
        config.write_text(text)
        config.chmod(0o600)  # it holds API keys
        with AgentProcess(config, port, tmp_path / "agent.log", ready_timeout=60) as agent:
            viewer = {"X-API-Key": "sk-oas-viewer-9c4d"}
            assert agent.get("/api/v1/agent/status")[0] == 401
            status, answer = agent.request("POST", "/api/v1/config/reload", None, viewer)
            assert (status, answer["error"]["code"]) == (403, "INSUFFICIENT_ROLE")
            for headers in ({"X-API-Key": "sk-oas-admin-5b0e"}, viewer):
                failures, calls = run_schemathesis(f"http://127.0.0.1:{port}", headers, examples=2)
                assert not failures, "\n\n".join(failures)
                assert calls > 0
