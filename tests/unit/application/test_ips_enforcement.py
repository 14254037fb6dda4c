"""IpsEnforcer: engine decisions reach the blocklist, TTLs expire there, whitelists hold."""

import ipaddress

import pytest

from sentinel_application.ips_enforcement import IpsEnforcer
from sentinel_domain.ips import Detection, IpsEngine, IpsPolicy, WhitelistedError
from sentinel_testkit.fakes.blocklist import InMemoryBlocklist

A = ipaddress.ip_address
N = ipaddress.ip_network


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def enforcer(mode: str = "block") -> tuple[IpsEnforcer, InMemoryBlocklist, Clock]:
    policy = IpsPolicy.from_dict(
        {
            "mode": mode,
            "auto_blacklist_threshold": 3,
            "max_blacklist_duration_secs": 60,
            "whitelist": ["198.18.0.0/24"],
        }
    )
    blocklist, clock = InMemoryBlocklist(), Clock()
    return IpsEnforcer(IpsEngine(policy), blocklist, clock), blocklist, clock


def test_threshold_blocks_in_the_kernel_and_ttl_unblocks() -> None:
    ips, blocklist, clock = enforcer()
    attacker = A("203.0.113.5")
    alerts = [ips.detection(Detection(attacker, "ids-1")) for _ in range(3)]
    assert [len(a) for a in alerts] == [0, 0, 1]
    assert alerts[2][0].rule_id == "ips-blacklist:203.0.113.5"
    assert blocklist.networks() == {N("203.0.113.5/32")}
    assert blocklist.drops_packet_from(attacker)
    clock.now += 61
    assert ips.sweep() == 1
    assert blocklist.networks() == set()
    assert not blocklist.drops_packet_from(attacker)


def test_whitelisted_sources_are_never_blocked() -> None:
    ips, blocklist, _ = enforcer()
    for _ in range(10):
        assert ips.detection(Detection(A("198.18.0.7"), "ids-1")) == []
    with pytest.raises(WhitelistedError):
        ips.add_manual(A("198.18.0.9"))
    assert blocklist.networks() == set()


def test_alert_mode_records_without_enforcing_and_manual_entries_work() -> None:
    ips, blocklist, _ = enforcer(mode="alert")
    for _ in range(3):
        ips.detection(Detection(A("203.0.113.9"), "ids-1"))
    assert [str(e.addr_or_net) for e in ips.entries()] == ["203.0.113.9"]
    assert blocklist.networks() == set()  # dry run

    ips, blocklist, _ = enforcer()
    entry = ips.add_manual(N("203.0.113.0/28"), ttl_secs=30, reason="manual-api")
    assert entry.reason == "manual-api"
    assert blocklist.networks() == {N("203.0.113.0/28")}
    ips.remove(N("203.0.113.0/28"))
    assert blocklist.networks() == set()
