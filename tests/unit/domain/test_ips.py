"""IPS engine: counting, auto-blacklist, manual entries, expiry, whitelist (contract §1.5, §7.4)."""

import ipaddress

import pytest

from sentinel_domain.common import Severity, ValidationError
from sentinel_domain.ips import (
    AUTO_REASON,
    AlreadyBlacklistedError,
    BlacklistFullError,
    BlockDecision,
    Detection,
    IpsConfigError,
    IpsEngine,
    IpsMode,
    IpsPolicy,
    IpsState,
    NotBlacklistedError,
    UnblockDecision,
    WhitelistedError,
    parse_mode,
)

A = ipaddress.ip_address("203.0.113.7")
V6 = ipaddress.ip_address("2001:db8:1:2::9")


def engine(**kw: object) -> IpsEngine:
    base: dict[str, object] = {"mode": "block"}
    base.update(kw)
    return IpsEngine(IpsPolicy.from_dict(base))


def test_policy_defaults_and_modes():
    p = IpsPolicy.from_dict({})
    assert (
        p.enabled,
        p.mode,
        p.max_blacklist_duration_secs,
        p.auto_blacklist_threshold,
        p.max_blacklist_size,
    ) == (
        True,
        IpsMode.ALERT,
        3600,
        3,
        10_000,
    )
    for text, mode in (("monitor", IpsMode.ALERT), ("observe", IpsMode.ALERT), ("ENFORCE", IpsMode.BLOCK)):
        assert parse_mode(text) is mode


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"mode": "drop"}, "field 'mode'"),
        ({"auto_blacklist_threshold": 0}, "auto_blacklist_threshold 0 out of range"),
        ({"max_blacklist_duration_secs": "1h"}, "must be an integer"),
        ({"max_blacklist_size": 0}, "max_blacklist_size 0 out of range"),
        ({"whitelist": ["10.0.0.0/33"]}, "invalid CIDR notation"),
        ({"whitelist": "10.0.0.0/8"}, "whitelist must be a list"),
        ({"country_thresholds": {"FRA": 2}}, "2 upper-case letters"),
        ({"country_thresholds": {"fr": 0}}, "country_thresholds.FR 0 out of range"),
        ({"enabled": "yes"}, "enabled must be true or false"),
    ],
    ids=[
        "mode",
        "threshold",
        "duration type",
        "size",
        "whitelist cidr",
        "whitelist type",
        "cc",
        "cc value",
        "enabled",
    ],
)
def test_policy_validation(data: dict[str, object], message: str):
    with pytest.raises(IpsConfigError, match=message) as info:
        IpsPolicy.from_dict(data)
    assert isinstance(info.value, ValidationError)


def test_threshold_blacklists_with_alert_and_block_decision():
    eng, state = engine(), IpsState()
    assert not eng.record_detection(state, Detection(A, "r1"), 100.0)
    assert not eng.record_detection(state, Detection(A, "r2"), 101.0)
    assert state.detection_count(A) == 2
    out = eng.record_detection(state, Detection(A, "r1"), 102.0)
    assert out.blocks == (BlockDecision(A, 3600, AUTO_REASON, True),)
    assert len(out.alerts) == 1
    alert = out.alerts[0]
    assert (alert.rule_id, alert.severity, alert.action, alert.component, alert.message) == (
        "ips-blacklist:203.0.113.7",
        Severity.HIGH,
        "block",
        "ips",
        "IPS auto-blacklist: 203.0.113.7",
    )
    assert state.detection_count(A) == 0  # counter cleared
    entry = eng.is_blocked(state, A, 103.0)
    assert entry is not None and entry.expires_at == 3702.0 and entry.auto_generated
    # a blacklisted source reaching the threshold again is not re-added and raises no alert
    for t in (110.0, 111.0):
        eng.record_detection(state, Detection(A), t)
    assert not eng.record_detection(state, Detection(A), 112.0).alerts


def test_count_restarts_after_the_window():
    eng, state = engine(max_blacklist_duration_secs=60), IpsState()
    eng.record_detection(state, Detection(A), 0.0)
    eng.record_detection(state, Detection(A), 59.0)
    assert not eng.record_detection(state, Detection(A), 60.0).added  # window restarted at 60
    assert state.detection_count(A) == 1
    eng.record_detection(state, Detection(A), 61.0)
    assert eng.record_detection(state, Detection(A), 62.0).added


def test_alert_mode_records_but_installs_nothing():
    eng, state = engine(mode="alert", auto_blacklist_threshold=1), IpsState()
    out = eng.record_detection(state, Detection(A), 5.0)
    assert out.added and out.alerts and not out.blocks
    assert eng.is_blocked(state, A, 6.0) is not None
    assert eng.remove(state, A).unblocks == (UnblockDecision(A, "removed"),)  # removals always apply


@pytest.mark.parametrize(
    ("name", "policy", "detection"),
    [
        ("ips disabled", {"enabled": False}, Detection(A)),
        ("whitelisted host", {"whitelist": ["203.0.113.7"]}, Detection(A)),
        ("whitelisted cidr", {"whitelist": ["203.0.113.0/24"]}, Detection(A)),
        (
            "prevention rule in alert mode",
            {},
            Detection(A, "ips-1", prevention=True, rule_mode=IpsMode.ALERT),
        ),
    ],
)
def test_detections_that_never_count(name: str, policy: dict[str, object], detection: Detection):
    eng, state = engine(auto_blacklist_threshold=1, **policy), IpsState()
    assert not eng.record_detection(state, detection, 1.0)
    assert state.detection_count(A) == 0 and not state.entries


def test_detection_rules_count_whatever_their_mode():
    eng, state = engine(auto_blacklist_threshold=1), IpsState()
    assert eng.record_detection(state, Detection(A, "ids-1", rule_mode=IpsMode.ALERT), 1.0).added


def test_whitelist_never_matches_across_families():
    eng = engine(whitelist=["0.0.0.0/0"])
    mapped = ipaddress.ip_address("::ffff:203.0.113.7")
    assert eng.is_whitelisted(A)
    assert not eng.is_whitelisted(mapped) and not eng.is_whitelisted(V6)
    state = IpsState()
    assert eng.add_manual(state, V6, 0.0).added


def test_country_threshold_also_blocks_the_subnet_once():
    eng, state = engine(country_thresholds={"xx": 2}), IpsState()
    eng.record_detection(state, Detection(A, country="XX"), 0.0)
    out = eng.record_detection(state, Detection(A, country="XX"), 1.0)
    assert [b.addr_or_net for b in out.blocks] == [A, ipaddress.ip_network("203.0.113.0/24")]
    assert len(out.alerts) == 1
    neighbour = ipaddress.ip_address("203.0.113.8")
    eng.record_detection(state, Detection(neighbour, country="XX"), 2.0)
    again = eng.record_detection(state, Detection(neighbour, country="XX"), 3.0)
    assert [b.addr_or_net for b in again.blocks] == [neighbour]  # subnet already present
    v6 = eng.record_detection(state, Detection(V6, country="XX"), 4.0)
    assert not v6.added
    v6 = eng.record_detection(state, Detection(V6, country="XX"), 5.0)
    assert ipaddress.ip_network("2001:db8:1::/48") in [b.addr_or_net for b in v6.blocks]


def test_country_subnet_overlapping_whitelist_is_refused():
    eng, state = engine(country_thresholds={"XX": 1}, whitelist=["203.0.113.200"]), IpsState()
    out = eng.record_detection(state, Detection(A, country="XX"), 0.0)
    assert [b.addr_or_net for b in out.blocks] == [A]
    assert out.refused == ("203.0.113.0/24: overlaps the whitelist",)


def test_manual_add_defaults_cap_and_refusals():
    eng, state = (
        engine(max_blacklist_duration_secs=100, max_blacklist_size=2, whitelist=["10.0.0.0/8"]),
        IpsState(),
    )
    out = eng.add_manual(state, A, 0.0)
    assert out.blocks == (BlockDecision(A, 100, "manual-api", False),)
    net = ipaddress.ip_network("198.51.100.0/24")
    assert eng.add_manual(state, net, 0.0, ttl_secs=10_000, reason="dns-blocklist: evil.test").blocks == (
        BlockDecision(net, 100, "dns-blocklist: evil.test", False),
    )
    with pytest.raises(AlreadyBlacklistedError, match="already blacklisted") as exists:
        eng.add_manual(state, A, 1.0)
    assert exists.value.reason == "exists"
    with pytest.raises(BlacklistFullError, match="blacklist full \\(2 entries\\)"):
        eng.add_manual(state, ipaddress.ip_address("192.0.2.1"), 1.0)
    with pytest.raises(WhitelistedError):
        eng.add_manual(state, ipaddress.ip_address("10.1.1.1"), 1.0)
    with pytest.raises(WhitelistedError):  # a network overlapping the whitelist
        eng.add_manual(state, ipaddress.ip_network("0.0.0.0/1"), 1.0)
    with pytest.raises(IpsConfigError, match="ttl_secs '0' out of range 1-100"):
        eng.add_manual(state, ipaddress.ip_address("192.0.2.1"), 1.0, ttl_secs=0)
    with pytest.raises(IpsConfigError, match="printable"):
        eng.add_manual(state, ipaddress.ip_address("192.0.2.1"), 1.0, reason="a\r\nb")


def test_full_blacklist_refuses_auto_adds_without_eviction():
    eng, state = engine(max_blacklist_size=1, auto_blacklist_threshold=1), IpsState()
    eng.add_manual(state, V6, 0.0)
    out = eng.record_detection(state, Detection(A), 1.0)
    assert not out.added and not out.alerts
    assert out.refused == ("203.0.113.7: blacklist full (1 entries)",)
    assert list(state.entries) == [ipaddress.ip_network(V6)]


def test_expiry_sweep_and_expired_entries_free_capacity():
    eng, state = engine(max_blacklist_size=1, max_blacklist_duration_secs=100), IpsState()
    eng.add_manual(state, A, 0.0, ttl_secs=10)
    assert eng.is_blocked(state, A, 9.9) is not None
    assert eng.is_blocked(state, A, 10.0) is None  # expiry honoured before any sweep
    assert eng.entries(state, 10.0) == []
    out = eng.add_manual(state, V6, 10.0)  # the expired entry does not count toward the cap
    assert out.unblocks == (UnblockDecision(A, "expired"),)
    assert eng.sweep(state, 50.0).unblocks == ()
    assert eng.sweep(state, 110.0).unblocks == (UnblockDecision(V6, "expired"),)
    assert not state.entries


def test_removed_or_readded_entries_expire_on_their_own_ttl():
    eng, state = engine(max_blacklist_duration_secs=1000), IpsState()
    eng.add_manual(state, A, 0.0, ttl_secs=10)
    eng.remove(state, A)
    eng.add_manual(state, A, 5.0, ttl_secs=100)  # the first entry's expiry must not remove this one
    assert eng.sweep(state, 20.0).unblocks == ()
    assert eng.is_blocked(state, A, 20.0) is not None
    assert eng.sweep(state, 105.0).unblocks == (UnblockDecision(A, "expired"),)
    assert not state.entries and not state.expiry


def test_remove_missing_entry():
    with pytest.raises(NotBlacklistedError):
        engine().remove(IpsState(), A)


def test_subnet_entry_blocks_contained_addresses():
    eng, state = engine(), IpsState()
    eng.add_manual(state, ipaddress.ip_network("203.0.113.0/24"), 0.0)
    eng.add_manual(state, ipaddress.ip_network("203.0.0.0/16"), 0.0)
    hit = eng.is_blocked(state, A, 1.0)
    assert hit is not None and hit.addr_or_net == ipaddress.ip_network("203.0.113.0/24")
    assert eng.is_blocked(state, ipaddress.ip_address("203.1.0.1"), 1.0) is None


def test_resync_reissues_live_entries_and_drops_whitelisted():
    eng, state = engine(), IpsState()
    eng.add_manual(state, A, 0.0, ttl_secs=100)
    eng.add_manual(state, V6, 0.0, ttl_secs=10)
    eng.add_manual(state, ipaddress.ip_address("192.0.2.1"), 0.0, ttl_secs=100)
    reloaded = engine(whitelist=["192.0.2.0/24"])
    out = reloaded.resync(state, 20.5)
    assert out.blocks == (BlockDecision(A, 80, "manual-api", False),)
    assert set(out.unblocks) == {
        UnblockDecision(V6, "expired"),
        UnblockDecision(ipaddress.ip_address("192.0.2.1"), "whitelisted"),
    }


def test_sweep_forgets_closed_windows_and_counter_table_is_bounded():
    eng, state = engine(max_blacklist_duration_secs=10), IpsState(max_tracked_sources=3)
    for i in range(5):
        eng.record_detection(state, Detection(ipaddress.ip_address(f"192.0.2.{i}")), float(i))
    assert len(state.counters) == 3
    eng.sweep(state, 13.0)
    assert [str(a) for a in state.counters] == ["192.0.2.4"]
