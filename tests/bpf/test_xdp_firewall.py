"""xdp_firewall through BPF_PROG_TEST_RUN: verdicts and counters for crafted frames.

Every case runs one frame and checks the verdict and the exact counter deltas it caused.
"""

import ipaddress
import struct
from collections.abc import Iterator

import pytest

from sentinel_adapters.ebpf import codec
from sentinel_adapters.ebpf.firewall_map import BpfFirewallMap
from sentinel_adapters.ebpf.frames import build_frame
from sentinel_adapters.ebpf.prog_run import XDP_DROP, XDP_PASS, prog_test_run
from sentinel_domain.common import PacketHeader, Protocol
from sentinel_domain.firewall import DefaultPolicy, FirewallMode, FirewallPolicy, FirewallRule

A = ipaddress.ip_address
RULES = [
    {"id": "deny-v4", "priority": 10, "action": "deny", "src_ip": "198.18.66.0/24"},
    {"id": "deny-v6", "priority": 11, "action": "deny", "dst_ip": "2001:db8:bad::/48"},
    {"id": "deny-vlan", "priority": 12, "action": "deny", "vlan_id": 42},
    {"id": "log-ssh", "priority": 13, "action": "log", "protocol": "tcp", "dst_port": 2222},
]


def frame(src: str, dst: str, proto: int = Protocol.UDP, dport: int = 53, **kw: object) -> bytes:
    ports = proto in (Protocol.TCP, Protocol.UDP)
    header = PacketHeader(A(src), A(dst), proto, 4000 if ports else None, dport if ports else None)
    return build_frame(header, **kw)  # type: ignore[arg-type]


def make_map(default: str) -> BpfFirewallMap:
    fw = BpfFirewallMap.standalone()
    rules = [FirewallRule.from_dict(r) for r in RULES]
    fw.apply(FirewallPolicy.build(rules, FirewallMode.BLOCK, DefaultPolicy(default)))
    return fw


@pytest.fixture(scope="module")
def fw_pass() -> Iterator[BpfFirewallMap]:
    fw = make_map("pass")
    yield fw
    fw.close()


@pytest.fixture(scope="module")
def fw_drop() -> Iterator[BpfFirewallMap]:
    fw = make_map("drop")
    yield fw
    fw.close()


V4_OK = frame("198.18.1.2", "198.18.1.1")
ETH = bytes(12)
CASES = {
    # name: (frame, expected verdict with default pass, counter deltas besides seen)
    "allowed v4": (V4_OK, XDP_PASS, {"passed": 1}),
    "denied v4 by source CIDR": (
        frame("198.18.66.7", "198.18.1.1"),
        XDP_DROP,
        {"dropped": 1, "events_emitted": 1},
    ),
    "allowed v6": (frame("2001:db8:1::2", "2001:db8:1::1"), XDP_PASS, {"passed": 1}),
    "denied v6 by destination": (
        frame("2001:db8:1::2", "2001:db8:bad::1"),
        XDP_DROP,
        {"dropped": 1, "events_emitted": 1},
    ),
    "VLAN-tagged, rule on its VID": (
        frame("198.18.1.2", "198.18.1.1", vlan_ids=(42,)),
        XDP_DROP,
        {"dropped": 1, "events_emitted": 1},
    ),
    "VLAN-tagged, other VID": (frame("198.18.1.2", "198.18.1.1", vlan_ids=(43,)), XDP_PASS, {"passed": 1}),
    "QinQ: the inner VID decides": (
        frame("198.18.1.2", "198.18.1.1", vlan_ids=(7, 42)),
        XDP_DROP,
        {"dropped": 1, "events_emitted": 1},
    ),
    "log rule passes and reports": (
        frame("198.18.1.2", "198.18.1.1", Protocol.TCP, 2222),
        XDP_PASS,
        {"passed": 1, "logged": 1, "events_emitted": 1},
    ),
    "non-IP (ARP) passes uncounted as error": (
        ETH + struct.pack("!H", 0x0806) + bytes(46),
        XDP_PASS,
        {"passed": 1},
    ),
    "truncated Ethernet: VLAN TPID, no tag": (
        ETH + struct.pack("!H", 0x8100),
        XDP_PASS,
        {"passed": 1, "errors": 1},
    ),
    "truncated IPv4 header": (
        ETH + struct.pack("!H", 0x0800) + V4_OK[14:24],
        XDP_PASS,
        {"passed": 1, "errors": 1},
    ),
    "IPv4 IHL below 5": (V4_OK[:14] + bytes([0x44]) + V4_OK[15:], XDP_PASS, {"passed": 1, "errors": 1}),
    "IPv4 total length beyond the frame": (
        V4_OK[:16] + struct.pack("!H", 1500) + V4_OK[18:],
        XDP_PASS,
        {"passed": 1, "errors": 1},
    ),
    "truncated IPv6 header": (
        ETH + struct.pack("!H", 0x86DD) + bytes(30),
        XDP_PASS,
        {"passed": 1, "errors": 1},
    ),
    "truncated TCP header": (
        frame("198.18.1.2", "198.18.1.1", Protocol.TCP)[: 14 + 20 + 10],
        XDP_PASS,
        {"passed": 1, "errors": 1},
    ),
}


def deltas(fw: BpfFirewallMap, data: bytes) -> tuple[int, dict[str, int]]:
    before = fw.counters()
    result = prog_test_run(fw.prog_fd, data)
    after = fw.counters()
    changed = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    return result.retval, changed


@pytest.mark.parametrize("name", list(CASES))
def test_default_pass_table(fw_pass: BpfFirewallMap, name: str) -> None:
    data, verdict, expected = CASES[name]
    retval, changed = deltas(fw_pass, data)
    assert retval == verdict
    assert changed == {"seen": 1, **expected}


@pytest.mark.parametrize("name", [n for n in CASES if CASES[n][2].get("errors")])
def test_unparseable_packets_follow_default_drop(fw_drop: BpfFirewallMap, name: str) -> None:
    retval, changed = deltas(fw_drop, CASES[name][0])
    assert retval == XDP_DROP
    assert changed == {"seen": 1, "dropped": 1, "errors": 1}


def test_default_drop_emits_event_without_rule(fw_drop: BpfFirewallMap) -> None:
    retval, changed = deltas(fw_drop, V4_OK)
    assert retval == XDP_DROP
    assert changed == {"seen": 1, "dropped": 1, "events_emitted": 1}


def test_metadata_carries_rule_index_and_action(fw_pass: BpfFirewallMap) -> None:
    data = frame("198.18.1.2", "198.18.1.1", Protocol.TCP, 2222)
    result = prog_test_run(fw_pass.prog_fd, data)
    assert len(result.data_out) == len(data) + codec.XDP_META.size
    rule_index, action, _, flags = codec.decode_xdp_meta(result.data_out) or (None, None, None, 0)
    assert fw_pass.policy.rules[rule_index].id == "log-ssh"  # type: ignore[index]
    assert action == codec.ACTION_LOG and flags & codec.META_PRESENT
