"""ReloadService: storms coalesce, failures change nothing, results are reported."""

import threading

from sentinel_application.reload_service import ReloadResult, ReloadService


def test_a_storm_of_requests_costs_at_most_two_reloads() -> None:
    gate = threading.Event()
    loads: list[int] = []
    applied: list[int] = []

    def load() -> int:
        gate.wait(5)
        loads.append(len(loads) + 1)
        return loads[-1]

    service: ReloadService[int] = ReloadService(load, applied.append)
    try:
        last = service.request("sighup")
        for _ in range(200):
            last = service.request("sighup")
        gate.set()
        assert service.wait(last, 10) == ReloadResult(True, "sighup")
        assert len(loads) <= 2  # one running + one queued, never 201
        assert applied == loads
        assert (service.succeeded, service.failed) == (len(loads), 0)
    finally:
        service.stop()


def test_a_failed_load_changes_nothing_and_is_counted() -> None:
    applied: list[str] = []
    results: list[ReloadResult] = []
    outcomes = iter([ValueError("line 3: bad key"), "v2"])

    def load() -> str:
        item = next(outcomes)
        if isinstance(item, Exception):
            raise item
        return item

    service: ReloadService[str] = ReloadService(load, applied.append, results.append)
    try:
        bad = service.wait(service.request("api"), 5)
        assert bad is not None and not bad.ok and "line 3: bad key" in bad.error
        assert applied == []
        good = service.wait(service.request("file"), 5)
        assert good == ReloadResult(True, "file")
        assert applied == ["v2"]
        assert (service.succeeded, service.failed) == (1, 1)
        assert [r.ok for r in results] == [False, True]
    finally:
        service.stop()


def test_an_apply_failure_is_reported_not_raised() -> None:
    def apply(_: str) -> None:
        raise RuntimeError("map update refused")

    service: ReloadService[str] = ReloadService(lambda: "x", apply)
    try:
        result = service.wait(service.request("sighup"), 5)
        assert result is not None and not result.ok and "map update refused" in result.error
    finally:
        service.stop()
