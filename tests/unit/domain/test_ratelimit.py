"""Rate limiter: policy parsing, selection and the exact per-algorithm sequences (contract §6.2)."""

import ipaddress

import pytest

from sentinel_domain.common import ValidationError
from sentinel_domain.ratelimit import (
    MAX_RULES,
    Algorithm,
    RateLimitAction,
    RateLimiter,
    RateLimitError,
    RateLimiterState,
    RateLimitPolicy,
    RateLimitPolicySet,
    decide,
    parse_action,
    parse_algorithm,
)

MS = 1_000_000
S = 1_000_000_000
SRC = ipaddress.ip_address("192.0.2.1")


def run(policy: RateLimitPolicy, times: list[int], state: RateLimiterState | None = None) -> list[bool]:
    st = state if state is not None else RateLimiterState()
    return [decide(st, policy, SRC, t).passed for t in times]


def pol(algo: Algorithm, rate: int, burst: int = 1, action: RateLimitAction = RateLimitAction.DROP):
    return RateLimitPolicy("p", rate, burst, None, action, algo)


# (name, policy, timestamps, expected pass/drop sequence)
SEQUENCES = [
    (
        "token bucket: fresh leaves burst-1, then one token per ns_per_token",
        pol(Algorithm.TOKEN_BUCKET, rate=2, burst=3),
        [0, 0, 0, 0, 499 * MS, 500 * MS, 500 * MS, 1000 * MS],
        [True, True, True, False, False, True, False, True],
    ),
    (
        # ns_per_token = 333_333_333. At 400 ms one token; `last` moves to 333_333_333, not 400 ms,
        # so at 700 ms 366 ms have accrued: a second token (the contract's `last = now` would drop).
        "token bucket keeps the fractional refill time",
        pol(Algorithm.TOKEN_BUCKET, rate=3, burst=1),
        [0, 400 * MS, 700 * MS, 700 * MS],
        [True, True, True, False],
    ),
    (
        "token bucket refill is capped at burst",
        pol(Algorithm.TOKEN_BUCKET, rate=1000, burst=2),
        [0, 0, 0, 100 * S, 100 * S, 100 * S],
        [True, True, False, True, True, False],
    ),
    (
        "fixed window: rate per 1 s window anchored at the first packet",
        pol(Algorithm.FIXED_WINDOW, rate=2),
        [0, 1, 2, S - 1, S, S + 1, S + 2, 3 * S],
        [True, True, False, False, True, True, False, True],
    ),
    (
        # slot 0 holds 2; at 200 ms we are in slot 1 and the window total is still 2; at 1000 ms
        # (7 slots after slot_start = 125 ms) slot 0 is reused and cleared.
        "sliding window: 8 slots of 125 ms",
        pol(Algorithm.SLIDING_WINDOW, rate=2),
        [0, 100 * MS, 200 * MS, 999 * MS, 1000 * MS, 1050 * MS, 1100 * MS],
        [True, True, False, False, True, True, False],
    ),
    (
        "sliding window: a stale window (>= 8 slots) is cleared",
        pol(Algorithm.SLIDING_WINDOW, rate=1),
        [0, 10 * MS, 5 * S, 5 * S + 1],
        [True, False, True, False],
    ),
    (
        # rate 1/s, capacity 2. Packets at 0.5 s and 0.9 s drain nothing and must not reset the
        # drain clock: at 1.0 s one packet has drained.
        "leaky bucket: sub-token packets do not stall the drain",
        pol(Algorithm.LEAKY_BUCKET, rate=1, burst=2),
        [0, 0, 0, 500 * MS, 900 * MS, 1000 * MS, 1000 * MS],
        [True, True, False, False, False, True, False],
    ),
    (
        # rate 3/s, capacity 3: at 400 ms one packet drained (1.2 units), the 0.2 remainder is kept
        # (last = 400 ms - 66_666_666 ns), so at 700 ms another has drained.
        "leaky bucket keeps the fractional drain",
        pol(Algorithm.LEAKY_BUCKET, rate=3, burst=3),
        [0, 0, 0, 0, 400 * MS, 400 * MS, 700 * MS, 700 * MS],
        [True, True, True, False, True, False, True, False],
    ),
    (
        "leaky bucket empties after 10 s",
        pol(Algorithm.LEAKY_BUCKET, rate=1, burst=50),
        [0] * 51 + [10 * S] + [10 * S] * 50,
        [True] * 50 + [False] + [True] * 50 + [False],
    ),
    (
        "clock stepping back refills nothing",
        pol(Algorithm.TOKEN_BUCKET, rate=1, burst=1),
        [5 * S, 1 * S, 5 * S + 1],
        [True, False, False],
    ),
]


@pytest.mark.parametrize(("name", "policy", "times", "expected"), SEQUENCES, ids=[c[0] for c in SEQUENCES])
def test_algorithm_sequences(name: str, policy: RateLimitPolicy, times: list[int], expected: list[bool]):
    assert run(policy, times) == expected


def test_fixed_window_exact_state():
    state = RateLimiterState()
    policy = pol(Algorithm.FIXED_WINDOW, rate=5)
    for t in (10, 20, 30):
        decide(state, policy, SRC, t)
    algo, bucket = state.buckets[SRC]
    assert algo is Algorithm.FIXED_WINDOW
    assert (bucket.count, bucket.window_start_ns) == (3, 10)  # type: ignore[union-attr]


def test_sliding_window_total_is_sum_of_slots():
    state = RateLimiterState()
    policy = pol(Algorithm.SLIDING_WINDOW, rate=100)
    for t in range(0, 3 * S, 37 * MS):
        decide(state, policy, SRC, t)
    _, bucket = state.buckets[SRC]
    assert bucket.window_total == sum(bucket.slots)  # type: ignore[union-attr]


def test_algorithm_change_starts_a_fresh_bucket_and_passes():
    state = RateLimiterState()
    strict = pol(Algorithm.TOKEN_BUCKET, rate=1, burst=1)
    assert run(strict, [0, 0], state) == [True, False]
    windowed = pol(Algorithm.FIXED_WINDOW, rate=1)
    assert decide(state, windowed, SRC, 1).passed
    assert not decide(state, windowed, SRC, 2).passed
    # same algorithm, new parameters: the bucket is kept (no fresh pass)
    assert not decide(state, pol(Algorithm.FIXED_WINDOW, rate=1, burst=9), SRC, 3).passed


def test_action_pass_reports_but_does_not_drop():
    policy = pol(Algorithm.TOKEN_BUCKET, rate=1, burst=1, action=RateLimitAction.PASS)
    state = RateLimiterState()
    first, second = decide(state, policy, SRC, 0), decide(state, policy, SRC, 0)
    assert first.passed and not first.dropped
    assert not second.passed and not second.dropped
    drop = pol(Algorithm.TOKEN_BUCKET, rate=1, burst=1)
    decide(state := RateLimiterState(), drop, SRC, 0)
    assert decide(state, drop, SRC, 0).dropped


def test_sources_have_independent_buckets_and_lru_eviction():
    state = RateLimiterState(max_buckets=2)
    policy = pol(Algorithm.TOKEN_BUCKET, rate=1, burst=1)
    a, b, c = (ipaddress.ip_address(f"198.51.100.{i}") for i in (1, 2, 3))
    assert [decide(state, policy, x, 0).passed for x in (a, b, a)] == [True, True, False]
    decide(state, policy, c, 0)  # evicts b (least recently used)
    assert set(state.buckets) == {a, c}
    assert decide(state, policy, b, 0).passed  # b starts afresh


def test_longest_prefix_selection():
    rules = RateLimitPolicySet.from_dict(
        {
            "rules": [
                {"id": "wide", "rate": 1, "burst": 1, "src_ip": "10.0.0.0/8"},
                {"id": "mid", "rate": 2, "burst": 2, "src_ip": "10.1.0.0/16"},
                {"id": "host", "rate": 3, "burst": 3, "src_ip": "10.1.2.3"},
                {"id": "off", "rate": 4, "burst": 4, "src_ip": "10.1.2.0/24", "enabled": False},
                {"id": "v6", "rate": 5, "burst": 5, "src_ip": "2001:db8::/32"},
            ]
        }
    )
    cases = {
        "10.1.2.3": "host",
        "10.1.2.4": "mid",
        "10.2.0.0": "wide",
        "11.0.0.1": "default",
        "2001:db8::1": "v6",
        "::ffff:10.1.2.3": "default",
    }
    for addr, expected in cases.items():
        assert rules.select(ipaddress.ip_address(addr)).id == expected, addr


def test_limiter_uses_selected_policy():
    policies = RateLimitPolicySet.from_dict(
        {
            "default_rate": 1,
            "default_burst": 1,
            "rules": [{"id": "vip", "rate": 10, "burst": 3, "src_ip": SRC.exploded}],
        }
    )
    limiter = RateLimiter(policies)
    state = RateLimiterState()
    assert [limiter.check(state, SRC, 0).passed for _ in range(4)] == [True, True, True, False]
    other = ipaddress.ip_address("192.0.2.2")
    decisions = [limiter.check(state, other, 0) for _ in range(2)]
    assert [(d.passed, d.policy_id) for d in decisions] == [(True, "default"), (False, "default")]


def test_defaults_and_aliases():
    empty = RateLimitPolicySet.from_dict({})
    assert (empty.default.rate, empty.default.burst, empty.default.algorithm) == (
        1000,
        2000,
        Algorithm.TOKEN_BUCKET,
    )
    assert empty.default.action is RateLimitAction.DROP
    assert (
        RateLimitPolicySet.from_dict({"default_algorithm": "LeakyBucket"}).default.algorithm
        is Algorithm.LEAKY_BUCKET
    )
    for text, algo in (
        ("token_bucket", Algorithm.TOKEN_BUCKET),
        ("tokenbucket", Algorithm.TOKEN_BUCKET),
        ("fixed_window", Algorithm.FIXED_WINDOW),
        ("FixedWindow", Algorithm.FIXED_WINDOW),
        ("sliding_window", Algorithm.SLIDING_WINDOW),
        ("slidingwindow", Algorithm.SLIDING_WINDOW),
        ("leaky_bucket", Algorithm.LEAKY_BUCKET),
        ("leakybucket", Algorithm.LEAKY_BUCKET),
    ):
        assert parse_algorithm(text) is algo
    for text in ("drop", "DENY", "block"):
        assert parse_action(text) is RateLimitAction.DROP
    for text in ("pass", "Allow"):
        assert parse_action(text) is RateLimitAction.PASS
    rule = RateLimitPolicy.from_dict({"id": "r", "rate": 5, "burst": 7, "src_ip": "10.0.0.1"})
    assert (rule.action, rule.algorithm, rule.enabled, str(rule.src)) == (
        RateLimitAction.DROP,
        Algorithm.TOKEN_BUCKET,
        True,
        "10.0.0.1/32",
    )
    assert RateLimitPolicy.from_dict(rule.to_dict()) == rule


def test_kernel_config_fields():
    def kc(algo: Algorithm) -> tuple[int, int, int, int]:
        k = RateLimitPolicy("k", 300, 40, None, RateLimitAction.PASS, algo).kernel_config()
        return (k.ns_per_token, k.burst, k.action, k.algorithm)

    assert kc(Algorithm.TOKEN_BUCKET) == (3_333_333, 40, 0, 0)
    assert kc(Algorithm.FIXED_WINDOW) == (300, 0, 0, 1)
    assert kc(Algorithm.SLIDING_WINDOW) == (300, 0, 0, 2)
    assert kc(Algorithm.LEAKY_BUCKET) == (300, 40, 0, 3)


def _rule(**over: object) -> dict[str, object]:
    base: dict[str, object] = {"id": "r1", "rate": 10, "burst": 10, "src_ip": "10.0.0.1"}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


BAD_RULE_SETS = [
    ("rate zero", [_rule(rate=0)], "rate 0 out of range 1-1000000000"),
    ("rate negative", [_rule(rate=-5)], "rate -5 out of range"),
    ("rate above 1e9", [_rule(rate=1_000_000_001)], "out of range 1-1000000000"),
    ("rate is a bool", [_rule(rate=True)], "rate must be an integer"),
    ("rate is a string", [_rule(rate="10")], "rate must be an integer"),
    ("burst zero", [_rule(burst=0)], "burst 0 out of range"),
    ("rate missing", [_rule(rate=None)], "rate is required"),
    ("src missing", [_rule(src_ip=None)], "src_ip is required"),
    ("src not a CIDR", [_rule(src_ip="10.0.0.300")], "invalid CIDR notation"),
    ("src prefix too long", [_rule(src_ip="10.0.0.0/33")], "prefix length must be 0-32"),
    ("src host bits", [_rule(src_ip="10.0.0.1/8")], "invalid CIDR notation"),
    ("bad algorithm", [_rule(algorithm="syn_cookie")], "field 'algorithm'"),
    ("bad action", [_rule(action="reject")], "field 'action'"),
    ("enabled not bool", [_rule(enabled="yes")], "enabled must be true or false"),
    ("duplicate id", [_rule(), _rule(src_ip="10.0.0.2")], "duplicate rate-limit rule id 'r1'"),
    ("duplicate src", [_rule(), _rule(id="r2", src_ip="10.0.0.1/32")], "already used by rule 'r1'"),
    ("empty id", [_rule(id="")], "id is required"),
]


@pytest.mark.parametrize(("name", "rules", "message"), BAD_RULE_SETS, ids=[c[0] for c in BAD_RULE_SETS])
def test_invalid_rules_are_rejected(name: str, rules: list[dict[str, object]], message: str):
    with pytest.raises(RateLimitError, match=message) as info:
        RateLimitPolicySet.from_dict({"rules": rules})
    assert isinstance(info.value, ValidationError)
    assert str(info.value.field).startswith("rules")


def test_rule_count_limit():
    rules = [_rule(id=f"r{i}", src_ip=str(ipaddress.ip_address(0x0A000000 + i))) for i in range(MAX_RULES)]
    assert len(RateLimitPolicySet.from_dict({"rules": rules}).rules) == MAX_RULES
    rules.append(_rule(id="one-too-many", src_ip="11.0.0.1"))
    with pytest.raises(RateLimitError, match="too many rate-limit rules: 10001 \\(maximum 10000\\)"):
        RateLimitPolicySet.from_dict({"rules": rules})


def test_invalid_defaults_are_rejected():
    with pytest.raises(RateLimitError, match="ratelimit: default_rate 0 out of range"):
        RateLimitPolicySet.from_dict({"default_rate": 0})
    with pytest.raises(RateLimitError, match="default_burst"):
        RateLimitPolicySet.from_dict({"default_burst": -1})
    with pytest.raises(RateLimitError, match="default_algorithm"):
        RateLimitPolicySet.from_dict({"default_algorithm": "nope"})
    with pytest.raises(RateLimitError, match="rules must be a list"):
        RateLimitPolicySet.from_dict({"rules": "x"})


def test_a_lowered_burst_binds_from_the_next_packet() -> None:
    from sentinel_domain.ratelimit._buckets import TokenBucket, step_token_bucket

    bucket = TokenBucket(tokens=10, last_refill_ns=0)  # filled under the old burst of 10
    passed = [step_token_bucket(bucket, ns_per_token=10**9, burst=2, now_ns=1) for _ in range(4)]
    assert passed == [True, True, False, False]
