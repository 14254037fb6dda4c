"""Thresholds (contract §7.3): limit, threshold, both, detection_filter; tracking, windows, bounds."""

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_domain.common import PacketHeader, Protocol, Severity
from sentinel_domain.ids import (
    FlowDirection,
    IdsEngine,
    IdsRule,
    IdsRuleError,
    PayloadEvent,
    Sampling,
    Threshold,
    ThresholdState,
    ThresholdType,
    TrackBy,
    parse_signatures,
)
from sentinel_testkit.fakes import ReferenceMatcher

SEC = 1_000_000_000
A, B, C = (ipaddress.ip_address(f"198.51.100.{i}") for i in (1, 2, 3))
SERVER, OTHER_SERVER = ipaddress.ip_address("10.0.0.5"), ipaddress.ip_address("10.0.0.6")


def hits(threshold: Threshold, n: int, state: ThresholdState | None = None, start: int = 0) -> list[bool]:
    state = state or ThresholdState()
    return [state.hit("r", threshold, A, SERVER, start + i) for i in range(n)]


@pytest.mark.parametrize(
    ("kind", "count", "expected"),
    [
        (ThresholdType.LIMIT, 3, [True, True, True, False, False, False, False]),
        (ThresholdType.THRESHOLD, 3, [False, False, True, False, False, True, False]),
        (ThresholdType.BOTH, 3, [False, False, True, False, False, False, False]),
        (ThresholdType.DETECTION_FILTER, 3, [False, False, False, True, True, True, True]),
        (ThresholdType.THRESHOLD, 1, [True] * 7),
        (ThresholdType.BOTH, 1, [True] + [False] * 6),
    ],
)
def test_types_within_one_window(kind: ThresholdType, count: int, expected: list[bool]) -> None:
    assert hits(Threshold(kind, count, 60), 7) == expected


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(list(ThresholdType)), count=st.integers(1, 10), n=st.integers(0, 60))
def test_alert_counts_in_one_window(kind: ThresholdType, count: int, n: int) -> None:
    fired = sum(hits(Threshold(kind, count, 60), n))
    expected = {
        ThresholdType.LIMIT: min(n, count),
        ThresholdType.THRESHOLD: n // count,
        ThresholdType.BOTH: 1 if n >= count else 0,
        ThresholdType.DETECTION_FILTER: max(0, n - count),
    }[kind]
    assert fired == expected


def test_window_restarts_when_elapsed_reaches_the_window() -> None:
    limit, state = Threshold(ThresholdType.LIMIT, 1, 10), ThresholdState()
    assert state.hit("r", limit, A, SERVER, 0)
    assert not state.hit("r", limit, A, SERVER, 10 * SEC - 1)
    assert state.hit("r", limit, A, SERVER, 10 * SEC)  # elapsed >= window: a new window
    assert not state.hit("r", limit, A, SERVER, 19 * SEC)


@pytest.mark.parametrize(
    ("track", "pairs", "expected"),
    [
        (TrackBy.SRC, [(A, SERVER), (A, OTHER_SERVER), (B, SERVER)], [True, False, True]),
        (TrackBy.DST, [(A, SERVER), (B, SERVER), (A, OTHER_SERVER)], [True, False, True]),
        (TrackBy.BOTH, [(A, SERVER), (A, OTHER_SERVER), (B, SERVER), (A, SERVER)], [True, True, True, False]),
    ],
)
def test_tracking(track: TrackBy, pairs: list[tuple[object, object]], expected: list[bool]) -> None:
    limit, state = Threshold(ThresholdType.LIMIT, 1, 60, track), ThresholdState()
    assert [state.hit("r", limit, src, dst, 0) for src, dst in pairs] == expected  # type: ignore[arg-type]


def test_rules_have_separate_state() -> None:
    limit, state = Threshold(ThresholdType.LIMIT, 1, 60), ThresholdState()
    assert state.hit("r1", limit, A, SERVER, 0) and state.hit("r2", limit, A, SERVER, 0)


def test_sweep_and_memory_bound() -> None:
    limit = Threshold(ThresholdType.LIMIT, 1, 10)
    state = ThresholdState(max_entries=2)
    state.hit("r", limit, A, SERVER, 0)
    state.hit("r", limit, B, SERVER, 5 * SEC)
    assert len(state) == 2
    state.hit("r", limit, C, SERVER, 6 * SEC)  # full, nothing expired: the oldest window goes
    assert len(state) == 2
    assert state.hit("r", limit, A, SERVER, 6 * SEC)  # A was evicted, so it alerts again
    assert state.sweep(16 * SEC) == 2 and len(state) == 0


def event(src: object, payload: bytes = b"login", ts: int = 0) -> PayloadEvent:
    hdr = PacketHeader(src, SERVER, Protocol.TCP, 40000, 22)  # type: ignore[arg-type]
    return PayloadEvent(hdr, payload, ts, FlowDirection.TO_SERVER, True)


def test_engine_fires_signature_thresholds_the_right_number_of_times() -> None:
    text = "\n".join(
        [
            'alert tcp any any -> any 22 (content:"login"; threshold:type threshold, track by_src, count 3, '
            "seconds 60; sid:1;)",
            'alert tcp any any -> any 22 (content:"login"; detection_filter:track by_dst, count 4, '
            "seconds 60; sid:2;)",
            'alert tcp any any -> any 22 (content:"login"; threshold:type both, track by_src, count 2, '
            "seconds 60; sid:3;)",
        ]
    )
    eng, state = IdsEngine(ReferenceMatcher(), signatures=parse_signatures(text).rules), ThresholdState()
    fired: dict[str, int] = {}
    for i in range(10):
        for alert in eng.evaluate(event(A if i % 2 else B), state, i * SEC):
            fired[alert.rule_id] = fired.get(alert.rule_id, 0) + 1
    # per source 5 hits each: threshold(3) → 1 each; both(2) → 1 each; per destination 10 hits: df(4) → 6
    assert fired == {"1": 2, "2": 6, "3": 2}


def test_engine_yaml_threshold_suppression_and_kernel_path() -> None:
    rule = IdsRule(
        "ssh-bf",
        Severity.HIGH,
        protocol=Protocol.TCP,
        dst_port=22,
        threshold=Threshold(ThresholdType.LIMIT, 2, 30),
    )
    eng, state = IdsEngine(ReferenceMatcher(), [rule]), ThresholdState()
    results = [eng.on_kernel_match(0, event(A).header, 0, state, t * SEC) for t in (0, 1, 2, 31)]
    assert [r is not None for r in results] == [True, True, False, True]
    assert results[0] is not None and results[0].mitre.technique_id == "T1110.001"  # rate-based on port 22


# --- sampling (contract §7.3): deterministic per flow --------------------------------------------


def _expected_hash(src: str, dst: str, salted: bool) -> float:
    s, d = int(ipaddress.ip_address(src)), int(ipaddress.ip_address(dst))
    h = ((s ^ d) * 2654435761) & 0xFFFFFFFF
    if salted:
        h = (h + s * 17) & 0xFFFFFFFF
    return h / 0xFFFFFFFF


@pytest.mark.parametrize("mode", ["random", "hash"])
def test_sampling_follows_the_contract_formula(mode: str) -> None:
    sampling = Sampling.from_dict({"mode": mode, "rate": 0.5})
    for i in range(1, 200):
        src, dst = f"198.51.100.{i}", f"10.0.{i}.9"
        expected = _expected_hash(src, dst, salted=mode == "random") < 0.5
        assert sampling.keeps(ipaddress.ip_address(src), ipaddress.ip_address(dst)) is expected


def test_sampling_edges_and_country_rates() -> None:
    assert Sampling().keeps(A, SERVER)
    assert not any(
        Sampling.from_dict({"mode": "hash", "rate": 0}).keeps(A, x) for x in (SERVER, OTHER_SERVER)
    )
    everything = Sampling.from_dict({"mode": "random", "rate": 1.0})
    assert all(everything.keeps(ipaddress.ip_address(f"10.0.0.{i}"), SERVER) for i in range(50))
    by_country = Sampling.from_dict(
        {"mode": "country_based", "high_risk_countries": ["ru"], "high_risk_rate": 1.0, "default_rate": 0.0}
    )
    assert by_country.keeps(A, SERVER, "RU") and not by_country.keeps(A, SERVER, "FR")
    assert not by_country.keeps(A, SERVER)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"mode": "sometimes"}, "sampling.mode"),
        ({"mode": "random"}, "rate is required"),
        ({"mode": "hash", "rate": 1.5}, "expected a number 0-1"),
        ({"mode": "hash", "rate": True}, "expected a number 0-1"),
        ({"mode": "country_based", "high_risk_countries": ["RUS"]}, "2-letter"),
        ({"mode": "country_based", "high_risk_countries": ["AA"] * 251}, "at most 250"),
    ],
)
def test_sampling_validation(data: dict[str, object], message: str) -> None:
    with pytest.raises(IdsRuleError, match=message):
        Sampling.from_dict(data)
