"""xdp_firewall and xdp_ratelimit on a veth lab with real packets.

root netns                               lab netns
XDP (+ TC probe) on host_if  <== veth ==>  peer_if   (pings, raw SYN bursts)
"""

import socket
import struct
from collections.abc import Iterator

import pytest
from _traffic import count_arrivals, send_syns

from sentinel_adapters.ebpf.attach import XdpMode, attach_tc, attach_xdp, detach_tc, detach_xdp
from sentinel_adapters.ebpf.firewall_map import BpfFirewallMap
from sentinel_adapters.ebpf.loader import BpfObject
from sentinel_adapters.ebpf.ratelimit_map import BpfRateLimitMap
from sentinel_agent.lab import VethLab
from sentinel_domain.firewall import FirewallMode, FirewallPolicy, FirewallRule
from sentinel_domain.ratelimit import RateLimitPolicySet

PROBE = struct.Struct("<QQIBBBBHHHH")  # struct sentinel_meta_probe


@pytest.fixture
def lab() -> Iterator[VethLab]:
    with VethLab(prefix="xdt") as lab:
        yield lab


def policy(*rules: dict[str, object]) -> FirewallPolicy:
    return FirewallPolicy.build([FirewallRule.from_dict(r) for r in rules], FirewallMode.BLOCK)


@pytest.mark.parametrize("mode", [XdpMode.NATIVE, XdpMode.GENERIC])
def test_metadata_reaches_tc_in_native_and_generic_mode(lab: VethLab, mode: XdpMode) -> None:
    fw = BpfFirewallMap.standalone({lab.host_if: socket.if_nametoindex(lab.host_if)})
    probe = BpfObject.load_bundled("tc_xdpmeta")
    try:
        fw.apply(
            policy(
                {"id": "other", "priority": 1, "action": "allow", "protocol": "udp"},
                {"id": "log-icmp", "priority": 2, "action": "log", "protocol": "icmp", "src_ip": lab.peer_ip},
            )
        )
        attached = attach_xdp(fw.prog_fd, lab.host_if, mode)
        assert attached.mode is mode
        attach_tc(probe.program_fd("tc_xdpmeta"), lab.host_if)
        assert lab.ping_from_peer(lab.host_ip, count=3) == 3
        raw = probe.map("meta_probe").lookup(b"\0\0\0\0")
        assert raw is not None
        with_meta, _without, rule_id, action, rl_status, flags, proto, l3, l4, _sp, _dp = PROBE.unpack(
            raw[: PROBE.size]
        )
        assert with_meta >= 3
        assert fw.policy.rules[rule_id].id == "log-icmp"
        assert (action, rl_status, flags) == (2, 0, 1)  # log, not rate-checked, present (v4, no ports)
        assert (proto, l3, l4) == (1, 14, 34)  # ICMP right after a 20-byte IPv4 header
    finally:
        detach_tc(lab.host_if)
        detach_xdp(socket.if_nametoindex(lab.host_if))
        probe.close()
        fw.close()


def test_rules_changed_at_runtime_take_effect_on_live_traffic(lab: VethLab) -> None:
    fw = BpfFirewallMap.standalone()
    try:
        attach_xdp(fw.prog_fd, lab.host_if)
        assert lab.ping_from_peer(lab.host_ip, count=2) == 2
        fw.apply(policy({"id": "deny-peer", "priority": 5, "action": "deny", "src_ip": f"{lab.peer_ip}/32"}))
        assert lab.ping_from_peer(lab.host_ip, count=2) == 0
        assert lab.ping_from_peer(lab.host_ip6, count=2) == 2  # a v4 rule leaves IPv6 alone
        fw.apply(policy())
        assert lab.ping_from_peer(lab.host_ip, count=2) == 2
    finally:
        detach_xdp(socket.if_nametoindex(lab.host_if))
        fw.close()


def test_rate_limit_cuts_a_syn_burst_to_burst_plus_rate_times_elapsed(lab: VethLab) -> None:
    rate, burst, sent, dport = 20, 50, 500, 7777
    fw, rl = BpfFirewallMap.standalone(), BpfRateLimitMap.standalone()
    try:
        rl.apply(
            RateLimitPolicySet.from_dict(
                {"rules": [{"id": "peer", "rate": rate, "burst": burst, "src_ip": f"{lab.peer_ip}/32"}]}
            )
        )
        fw.chain_ratelimit(rl.prog_fd)
        attach_xdp(fw.prog_fd, lab.host_if)
        before = rl.counters()
        arrived, elapsed = count_arrivals(lab.host_if, dport, lambda: send_syns(lab, sent, dport))
        after = rl.counters()
        assert isinstance(elapsed, float)
        limit = burst + int(rate * (elapsed + 0.05)) + 1
        assert burst <= arrived <= limit, f"{arrived} arrived in {elapsed:.3f}s (limit {limit})"
        assert after["throttled"] - before["throttled"] == sent - arrived  # every SYN accounted for
    finally:
        detach_xdp(socket.if_nametoindex(lab.host_if))
        fw.close()
        rl.close()
