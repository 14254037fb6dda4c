"""Rate limiter invariants: the pass count over any monotonic timestamp sequence is bounded.

Exact bounds proven per algorithm (T = last - first timestamp; see the engine docstring):
- token bucket:   passed <= burst + T // (1e9 // rate)
- fixed window:   passed <= rate * (T // 1e9 + 1)
- sliding window: passed <= rate * (T // 1e9 + 1)
- leaky bucket:   passed <= burst + rate * T // 1e9 + (T // 10 s) * max(0, burst - 10 * rate)
"""

import ipaddress
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_domain.ratelimit import Algorithm, RateLimiterState, RateLimitPolicy, decide

S = 1_000_000_000
SRC = ipaddress.ip_address("2001:db8::7")


def bound(algo: Algorithm, rate: int, burst: int, span: int) -> int:
    if algo is Algorithm.TOKEN_BUCKET:
        return burst + span // (S // rate)
    if algo in (Algorithm.FIXED_WINDOW, Algorithm.SLIDING_WINDOW):
        return rate * (span // S + 1)
    return burst + rate * span // S + (span // (10 * S)) * max(0, burst - 10 * rate)


# Timestamps: a mix of dense bursts (same or nearby ns) and gaps, over spans up to 25 s.
gaps = st.one_of(
    st.just(0),
    st.integers(0, 1000),
    st.integers(0, 50_000_000),
    st.integers(0, 2 * S),
    st.integers(0, 12 * S),
)
timelines = st.tuples(st.integers(0, 10**15), st.lists(gaps, min_size=1, max_size=250)).map(
    lambda t: [t[0] + sum(t[1][: i + 1]) for i in range(len(t[1]))]
)


@settings(max_examples=300, deadline=None)
@given(
    algo=st.sampled_from(list(Algorithm)),
    rate=st.one_of(st.integers(1, 20), st.integers(1, 1_000_000_000)),
    burst=st.integers(1, 200),
    times=timelines,
)
def test_passed_packets_are_bounded(algo: Algorithm, rate: int, burst: int, times: list[int]):
    policy = RateLimitPolicy("p", rate, burst, None, algorithm=algo)
    state = RateLimiterState()
    passed = sum(decide(state, policy, SRC, t).passed for t in times)
    assert passed <= bound(algo, rate, burst, times[-1] - times[0])
    assert passed >= 1  # the first packet of a source always passes


@settings(max_examples=100, deadline=None)
@given(rate=st.integers(1, 50), burst=st.integers(1, 50), start=st.integers(0, 10**12))
def test_token_bucket_is_exact_for_a_steady_flood(rate: int, burst: int, start: int):
    """One packet every ns: exactly burst + T // ns_per_token pass (the bound is tight)."""
    policy = RateLimitPolicy("p", rate, burst, None, algorithm=Algorithm.TOKEN_BUCKET)
    npt = S // rate
    state = RateLimiterState()
    # sample densely around each refill instant instead of every ns
    times = sorted({start + k * npt + d for k in range(0, 3 * burst + 5) for d in (0, 1)} | {start})
    passed = sum(decide(state, policy, SRC, t).passed for t in times)
    assert passed == burst + (times[-1] - times[0]) // npt


@settings(max_examples=100, deadline=None)
@given(
    algo=st.sampled_from(list(Algorithm)),
    rate=st.integers(1, 30),
    burst=st.integers(1, 30),
    times=st.lists(st.integers(0, 30 * S), min_size=1, max_size=120),
)
def test_unordered_timestamps_never_raise_and_stay_bounded(
    algo: Algorithm, rate: int, burst: int, times: list[int]
):
    """A clock stepping back refills nothing: the bound over max - min still holds."""
    policy = RateLimitPolicy("p", rate, burst, None, algorithm=algo)
    state = RateLimiterState()
    passed = sum(decide(state, policy, SRC, t).passed for t in times)
    # the windows re-anchor at `now` on a step back, which can open one extra window per step back
    steps_back = sum(1 for a, b in itertools.pairwise(times) if b < a)
    extra = rate * steps_back if algo in (Algorithm.FIXED_WINDOW, Algorithm.SLIDING_WINDOW) else 0
    assert passed <= bound(algo, rate, burst, max(times) - min(times)) + extra
