"""``POST /api/v1/threatintel/feeds/refresh`` in-process, over a stand-in runtime holding the real
feed service with the testkit's scripted fetcher and in-memory IOC map."""

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from sentinel_agent.rest.threatintel_feeds import threatintel_feed_routes
from sentinel_application.threatintel_feeds import ThreatIntelFeedService
from sentinel_domain.threatintel import ThreatIntelConfig
from sentinel_testkit.fakes.feed_fetcher import ScriptedFeedFetcher
from sentinel_testkit.fakes.ioc_map import InMemoryIocMap

URL = "http://feeds.test/a.txt"


def client(runtime: Any) -> TestClient:
    routes = [
        Route(path, handler, methods=methods) for path, handler, methods in threatintel_feed_routes(runtime)
    ]
    return TestClient(Starlette(routes=routes))


@pytest.fixture
def service() -> Iterator[tuple[ThreatIntelFeedService, ScriptedFeedFetcher]]:
    fetcher = ScriptedFeedFetcher()
    fetcher.serve(URL, b"203.0.113.7\n")
    cfg = ThreatIntelConfig.from_dict({"feeds": [{"id": "a", "name": "A", "url": URL}]})
    svc = ThreatIntelFeedService(cfg, fetcher, InMemoryIocMap())
    yield svc, fetcher
    svc.stop()


def runtime(svc: ThreatIntelFeedService | None, enabled: bool = True) -> SimpleNamespace:
    section = SimpleNamespace(threatintel=SimpleNamespace(enabled=enabled))
    feeds = SimpleNamespace(service=svc) if svc is not None else None
    return SimpleNamespace(loaded=SimpleNamespace(config=section), detection=SimpleNamespace(feeds=feeds))


def test_refresh_fetches_every_feed_and_says_what_happened(service: Any) -> None:
    svc, fetcher = service
    svc.start()
    with client(runtime(svc)) as http:
        before = len(fetcher.requests)
        response = http.post("/api/v1/threatintel/feeds/refresh", json={"feed_id": "ignored"})
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok" and "1 ok, 0 failed" in body["message"]
        assert len(fetcher.requests) > before
        fetcher.serve(URL, b"", status=500)
        failed = http.post("/api/v1/threatintel/feeds/refresh").json()  # no body at all
        assert failed["status"] == "ok" and "1 failed (a)" in failed["message"]


def test_unknown_fields_are_a_validation_error(service: Any) -> None:
    svc, _ = service
    svc.start()
    with client(runtime(svc)) as http:
        response = http.post("/api/v1/threatintel/feeds/refresh", json={"feed": "a"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("case", ["disabled", "not-loaded", "stopped"])
def test_unavailable_when_threat_intel_cannot_fetch(service: Any, case: str) -> None:
    svc, _ = service
    if case == "disabled":
        svc.start()
        rt = runtime(svc, enabled=False)
    elif case == "not-loaded":
        rt = runtime(None)
    else:
        svc.start()
        svc.stop()
        rt = runtime(svc)
    with client(rt) as http:
        response = http.post("/api/v1/threatintel/feeds/refresh")
    assert response.status_code == 503 and response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
