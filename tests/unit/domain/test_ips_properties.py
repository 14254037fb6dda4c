"""IPS invariants: whitelisted sources are never blocked; the blacklist never exceeds its cap."""

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_domain.ips import (
    BlacklistRefusedError,
    Detection,
    IpsEngine,
    IpsMode,
    IpsPolicy,
    IpsState,
    as_network,
)

# a small address universe so that detections collide with the whitelist and with each other
v4 = st.builds(lambda a, b: ipaddress.ip_address(f"192.0.{a}.{b}"), st.integers(0, 3), st.integers(0, 7))
v6 = st.builds(lambda a, b: ipaddress.ip_address(f"2001:db8:{a}::{b}"), st.integers(0, 3), st.integers(0, 7))
addresses = st.one_of(v4, v6)
networks = st.one_of(
    st.builds(
        lambda a, p: ipaddress.ip_network(f"192.0.{a}.0/{p}", strict=False),
        st.integers(0, 3),
        st.integers(22, 32),
    ),
    st.builds(
        lambda a, p: ipaddress.ip_network(f"2001:db8:{a}::/{p}", strict=False),
        st.integers(0, 3),
        st.integers(44, 128),
    ),
)
whitelists = st.lists(networks, max_size=3)
detections = st.builds(
    Detection,
    src=addresses,
    rule_id=st.sampled_from(["r1", "r2"]),
    prevention=st.booleans(),
    rule_mode=st.sampled_from(list(IpsMode)),
    country=st.sampled_from([None, "XX", "YY"]),
)
events = st.lists(
    st.one_of(
        st.tuples(st.just("detect"), detections),
        st.tuples(st.just("manual"), st.one_of(addresses, networks)),
        st.tuples(st.just("sweep"), st.none()),
    ),
    max_size=40,
)


@settings(max_examples=120, deadline=None)
@given(
    whitelist=whitelists,
    threshold=st.integers(1, 3),
    size=st.integers(1, 6),
    duration=st.integers(1, 30),
    countries=st.sampled_from([{}, {"XX": 1}, {"XX": 2, "YY": 1}]),
    mode=st.sampled_from(["alert", "block"]),
    steps=events,
    gaps=st.lists(st.floats(0, 20), min_size=40, max_size=40),
)
def test_whitelist_and_cap_hold_under_any_event_sequence(
    whitelist, threshold, size, duration, countries, mode, steps, gaps
):
    policy = IpsPolicy(
        mode=IpsMode(mode),
        max_blacklist_duration_secs=duration,
        auto_blacklist_threshold=threshold,
        max_blacklist_size=size,
        whitelist=tuple(whitelist),
        country_thresholds=countries,
    )
    eng, state = IpsEngine(policy), IpsState()

    def whitelisted(addr) -> bool:
        return any(w.version == addr.version and addr in w for w in whitelist)

    now = 0.0
    for (kind, arg), gap in zip(steps, gaps, strict=False):
        now += gap
        if kind == "detect":
            out = eng.record_detection(state, arg, now)
        elif kind == "manual":
            try:
                out = eng.add_manual(state, arg, now)
            except BlacklistRefusedError:
                continue
        else:
            out = eng.sweep(state, now)
        for decision in out.blocks:
            net = decision.network
            assert not any(w.version == net.version and w.overlaps(net) for w in whitelist)
            assert mode == "block"
        assert len(state.entries) <= size
        assert len(eng.entries(state, now)) <= size
        for entry in state.entries.values():
            assert entry.expires_at - entry.added_at <= duration + 1e-6
            net = as_network(entry.addr_or_net)
            assert not any(w.version == net.version and w.overlaps(net) for w in whitelist)
        # whatever happened, no whitelisted address is ever reported blocked
        for w in whitelist:
            assert eng.is_blocked(state, w.network_address, now) is None
        if kind == "detect" and whitelisted(arg.src):
            assert not out
