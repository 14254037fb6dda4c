"""The kernel's address-table walk (sentinel/addr_trie.h) at its limits, through xdp_firewall:
prefixes nested at every length and in every byte (the longest IPv6 walk), a host beside a
shorter prefix, and both fields, v4 and v6.

Longer prefixes get higher priority, so the matching rule is the address's longest prefix."""

import ipaddress
from collections.abc import Iterator

import pytest

from sentinel_adapters.ebpf.firewall_map import BpfFirewallMap
from sentinel_domain.common import PacketHeader, Protocol
from sentinel_domain.firewall import FirewallMode, FirewallPolicy, FirewallRule

IP = ipaddress.ip_address


@pytest.fixture(scope="module")
def fw() -> Iterator[BpfFirewallMap]:
    fw = BpfFirewallMap.standalone()
    yield fw
    fw.close()


def nested_rules(field: str, address: str, lengths: range) -> list[FirewallRule]:
    net = ipaddress.ip_network
    return [
        FirewallRule.from_dict(
            {
                "id": f"len-{n}",
                "priority": 1000 - n,  # longest first
                "action": "deny",
                field: str(net(f"{address}/{n}", strict=False)),
            }
        )
        for n in lengths
    ]


def packet(field: str, address: int, version: int) -> PacketHeader:
    other = IP("192.0.2.1") if version == 4 else IP("2001:db8:ffff::1")
    mine = ipaddress.IPv4Address(address) if version == 4 else ipaddress.IPv6Address(address)
    src, dst = (mine, other) if field == "src_ip" else (other, mine)
    return PacketHeader(src, dst, Protocol.UDP, 1000, 53)


@pytest.mark.parametrize("field", ["src_ip", "dst_ip"])
@pytest.mark.parametrize(
    ("version", "address", "lengths"),
    [
        (4, "198.18.255.255", range(8, 33)),  # every length: root, third byte, fourth byte
        (6, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", range(16, 41)),  # every length, bytes 2-4
        (6, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", range(17, 129, 8)),  # a chunk per byte: 14
        (6, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", range(100, 129, 4)),  # skips to byte 12
        (6, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", range(17, 60)),  # 43 below a head: wide chunk
    ],
)
def test_each_nesting_level_matches_its_own_rule(
    fw: BpfFirewallMap, field: str, version: int, address: str, lengths: range
) -> None:
    fw.apply(FirewallPolicy.build(nested_rules(field, address, lengths), FirewallMode.BLOCK))
    top = int(IP(address))
    width = 32 if version == 4 else 128
    for n in lengths:
        # Inside the /n but outside the next longer prefix: flip the bit just below /n.
        inside = top ^ (1 << (width - n - 1)) if n < width else top
        assert fw.decide(packet(field, inside, version)).rule_id == f"len-{n}", n
    outside = top ^ (1 << (width - lengths[0]))  # flips a bit of the shortest prefix
    assert fw.decide(packet(field, outside, version)).rule_id is None


def test_a_host_beside_a_shorter_prefix_and_the_fallback_around_it(fw: BpfFirewallMap) -> None:
    rules = [
        FirewallRule.from_dict({"id": "host", "priority": 1, "action": "deny", "dst_ip": "198.18.32.5/32"}),
        FirewallRule.from_dict({"id": "net20", "priority": 2, "action": "deny", "dst_ip": "198.18.16.0/20"}),
        FirewallRule.from_dict({"id": "net16", "priority": 3, "action": "log", "dst_ip": "198.18.0.0/16"}),
    ]
    fw.apply(FirewallPolicy.build(rules, FirewallMode.BLOCK))
    expected = {"198.18.32.5": "host", "198.18.32.6": "net16", "198.18.20.1": "net20", "198.19.0.1": None}
    for address, rule_id in expected.items():
        got = fw.decide(PacketHeader(IP("192.0.2.1"), IP(address), Protocol.UDP, 1, 2)).rule_id
        assert got == rule_id, address
