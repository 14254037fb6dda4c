"""AlertRouter: dedup → throttle → routes, each stop counted; state survives a route reload."""

import ipaddress
from dataclasses import replace

import pytest

from sentinel_application.alerting import (
    DEFAULT_ROUTES,
    AlertRouter,
    DedupFilter,
    DropReason,
    Route,
    RouteTable,
    Throttle,
    routes_from_config,
)
from sentinel_domain.alert import Alert, Component
from sentinel_domain.common import MitreRef, Severity
from sentinel_infrastructure.config.alerting import AlertingSection, RouteSection
from sentinel_testkit.contracts.alert_spool import sample_alert

A = ipaddress.ip_address
LOG = Route("all", "log")


def alert(rule: str = "r1", src: str = "198.18.0.1", dport: int = 22, **changes: object) -> Alert:
    base = sample_alert(1, rule_id=rule, src=A(src), dst=A("203.0.113.10"), dst_port=dport, protocol=6)
    return replace(base, **changes)  # type: ignore[arg-type]


def router(dedup: float = 60, window: float = 300, most: int = 100, by: tuple[str, ...] = ("rule", "source"),
           routes: tuple[Route, ...] = (LOG,)) -> AlertRouter:  # fmt: skip
    return AlertRouter(DedupFilter(dedup), Throttle(window, most, by), RouteTable(routes))


# -- dedup ------------------------------------------------------------------------------------------
def test_same_key_within_the_window_is_a_duplicate_and_the_source_port_is_not_part_of_it() -> None:
    dedup = DedupFilter(60)
    assert dedup.is_duplicate(alert(src_port=1111), 0.0) is False
    assert dedup.is_duplicate(alert(src_port=2222), 59.9) is True


@pytest.mark.parametrize(
    "changed",
    [
        {"rule_id": "r2"},
        {"src": A("198.18.0.2")},
        {"dst": A("203.0.113.11")},
        {"dst_port": 23},
        {"protocol": 17},
        {"src": A("2001:db8::1"), "dst": A("2001:db8::2")},
    ],
    ids=["rule", "src", "dst", "dst_port", "protocol", "ipv6"],
)
def test_each_key_field_separates_duplicates(changed: dict[str, object]) -> None:
    dedup = DedupFilter(60)
    assert dedup.is_duplicate(alert(), 0.0) is False
    assert dedup.is_duplicate(replace(alert(), **changed), 1.0) is False  # type: ignore[arg-type]


def test_ipv6_addresses_differing_only_in_their_low_words_are_different_keys() -> None:
    dedup = DedupFilter(60)
    assert dedup.is_duplicate(alert(src="2001:db8::1"), 0.0) is False
    assert dedup.is_duplicate(alert(src="2001:db8::2"), 0.0) is False


def test_a_continuing_attack_notifies_once_per_window() -> None:
    dedup = DedupFilter(10)
    verdicts = [dedup.is_duplicate(alert(), float(t)) for t in range(0, 31)]
    assert [t for t, dup in enumerate(verdicts) if not dup] == [0, 10, 20, 30]


def test_window_zero_disables_dedup_and_memory_is_bounded() -> None:
    assert not any(DedupFilter(0).is_duplicate(alert(), 0.0) for _ in range(3))
    dedup = DedupFilter(60, max_keys=3)
    for i in range(10):
        dedup.is_duplicate(alert(rule=f"r{i}"), 0.0)
    assert len(dedup) == 3
    assert dedup.is_duplicate(alert(rule="r9"), 1.0) is True  # the newest keys are kept


# -- throttle ---------------------------------------------------------------------------------------
def test_token_bucket_allows_the_burst_then_one_per_refill_interval() -> None:
    throttle = Throttle(window=10, max_alerts=5)  # 0.5 tokens per second
    assert [throttle.allow(alert(), 0.0) for _ in range(6)] == [True] * 5 + [False]
    assert throttle.allow(alert(), 1.0) is False  # half a token
    assert throttle.allow(alert(), 2.0) is True
    assert throttle.allow(alert(), 2.0) is False


@pytest.mark.parametrize(
    ("by", "other_rule", "other_source"),
    [
        (("rule", "source"), True, True),
        (("rule",), True, False),
        (("source",), False, True),
        ((), False, False),
    ],
)
def test_throttle_keys_follow_the_configured_fields(
    by: tuple[str, ...], other_rule: bool, other_source: bool
) -> None:
    throttle = Throttle(window=60, max_alerts=1, by=by)
    assert throttle.allow(alert(), 0.0) is True
    assert throttle.allow(alert(rule="r2"), 0.0) is other_rule
    assert throttle.allow(alert(rule="r3", src="198.18.0.9"), 0.0) is (other_rule or other_source)


def test_idle_buckets_are_forgotten_and_the_key_count_is_bounded() -> None:
    throttle = Throttle(window=10, max_alerts=1, max_keys=4)
    for i in range(50):
        throttle.allow(alert(src=f"198.18.1.{i}"), float(i) / 100)
    assert len(throttle) == 4
    throttle.allow(alert(src="198.18.2.1"), 100.0)
    assert len(throttle) == 1


@pytest.mark.parametrize(
    ("window", "most", "by"),
    [(-1, 1, ("rule",)), (1, 0, ("rule",)), (1, 1, ("port",))],
    ids=["window", "max", "by"],
)
def test_invalid_throttle_settings_are_refused(window: float, most: int, by: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        Throttle(window, most, by)


def test_a_negative_dedup_window_is_refused() -> None:
    with pytest.raises(ValueError):
        DedupFilter(-1)


# -- routes -----------------------------------------------------------------------------------------
def test_routes_match_on_severity_component_and_tactic() -> None:
    credential = MitreRef("T1110", "Brute Force", "credential-access")
    route = Route(
        "soc", "webhook", Severity.HIGH, frozenset({"ids", "firewall"}), frozenset({"credential-access"})
    )
    good = alert(severity=Severity.HIGH, component=Component.IDS, mitre=credential)
    assert route.matches(good)
    assert route.matches(replace(good, severity=Severity.CRITICAL))
    assert not route.matches(replace(good, severity=Severity.MEDIUM))
    assert not route.matches(replace(good, component=Component.DLP))
    assert not route.matches(replace(good, mitre=None))
    assert not route.matches(replace(good, mitre=MitreRef("T1046", "Network Service Scanning", "discovery")))


def test_fallback_routes_take_only_what_no_ordinary_route_took() -> None:
    table = RouteTable([Route("pager", "webhook", Severity.CRITICAL), Route("rest", "log", fallback=True)])
    assert [r.name for r in table.match(alert(severity=Severity.CRITICAL))] == ["pager"]
    assert [r.name for r in table.match(alert(severity=Severity.LOW))] == ["rest"]


def test_route_definitions_are_checked() -> None:
    with pytest.raises(ValueError, match="destination"):
        Route("x", "pigeon")
    with pytest.raises(ValueError, match="non-empty"):
        Route("", "log")
    with pytest.raises(ValueError, match="duplicate"):
        RouteTable([LOG, LOG])


def test_config_without_routes_gives_the_contract_default_route() -> None:
    section = AlertingSection()
    assert routes_from_config(section).routes == DEFAULT_ROUTES
    assert (Route("default-log", "log", Severity.LOW),) == DEFAULT_ROUTES
    custom = AlertingSection(
        routes=[RouteSection(name="ids", destination="log", min_severity="warning", event_types=["ids"])]
    )
    assert routes_from_config(custom).routes == (Route("ids", "log", Severity.MEDIUM, frozenset({"ids"})),)


# -- the router -------------------------------------------------------------------------------------
def test_router_order_is_dedup_then_throttle_then_routes_and_counts_each_stop() -> None:
    r = router(dedup=60, window=60, most=1, routes=(Route("high", "log", Severity.HIGH),))
    low = alert(severity=Severity.LOW)
    assert r.decide(low, 0.0).dropped is DropReason.NO_ROUTE  # passed dedup and throttle first
    assert r.decide(low, 1.0).dropped is DropReason.DEDUP
    assert r.decide(alert(dport=23, severity=Severity.HIGH), 2.0).dropped is DropReason.THROTTLE
    decision = r.decide(alert(rule="r2", severity=Severity.HIGH), 3.0)
    assert decision.dropped is None and [x.name for x in decision.routes] == ["high"]
    assert dict(r.dropped) == {DropReason.NO_ROUTE: 1, DropReason.DEDUP: 1, DropReason.THROTTLE: 1}
    assert r.routed == 1


def test_a_throttled_alert_still_records_its_dedup_key() -> None:
    r = router(dedup=60, window=60, most=1)
    assert r.decide(alert(dport=1), 0.0).dropped is None
    assert r.decide(alert(dport=2), 0.0).dropped is DropReason.THROTTLE
    assert r.decide(alert(dport=2), 0.0).dropped is DropReason.DEDUP


def test_disabled_alerting_notifies_nobody() -> None:
    r = router()
    r.enabled = False
    assert r.decide(alert(), 0.0).dropped is DropReason.NO_ROUTE


def test_replacing_routes_keeps_dedup_and_throttle_state() -> None:
    r = router(dedup=60)
    assert r.decide(alert(), 0.0).dropped is None
    r.replace_routes(RouteTable([Route("other", "webhook")]))
    assert r.decide(alert(), 1.0).dropped is DropReason.DEDUP
    assert [x.name for x in r.decide(alert(rule="new"), 1.0).routes] == ["other"]
