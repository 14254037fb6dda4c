"""The classifier compiler's bitmap encoding and anchor choice (the kernel side is proven by the
differential tests in tests/bpf/test_differential.py)."""

import struct

import pytest

from sentinel_adapters.ebpf.firewall_compiler import (
    ANCHOR_FIELDS,
    anchor_field,
    compile_policy,
    encode_bitmap,
)
from sentinel_domain.firewall import FirewallMode, FirewallPolicy, FirewallRule


def rule(**fields: object) -> FirewallRule:
    return FirewallRule.from_dict({"id": "r", "priority": 1, "action": "deny", **fields})


def test_bitmap_layout_is_summary_anchor_then_words() -> None:
    bits = (1 << 3) | (1 << 64 + 5) | (1 << 4095)
    anchored = 1 << 64 + 5
    raw = encode_bitmap(bits, anchored)
    assert len(raw) == 528
    summary, anchor = struct.unpack_from("<QQ", raw)
    assert summary == (1 << 0) | (1 << 1) | (1 << 63)
    assert anchor == 1 << 1
    words = struct.unpack_from("<64Q", raw, 16)
    assert words[0] == 1 << 3 and words[1] == 1 << 5 and words[63] == 1 << 63
    assert sum(1 for w in words if w) == 3


def test_anchored_rules_must_be_allowed_rules() -> None:
    with pytest.raises(ValueError, match="subset"):
        encode_bitmap(0b01, 0b10)


@pytest.mark.parametrize(
    ("fields", "anchor"),
    [
        ({"src_ip": "10.1.2.0/24", "dst_port": "80"}, "src"),
        ({"src_ip": "10.0.0.0/8", "dst_port": "443"}, "dport"),
        ({"dst_ip": "192.0.2.7/32", "protocol": "tcp"}, "dst"),
        ({"src_ip": "2001:db8::/32", "dst_ip": "2001:db8:1::/64"}, "dst"),
        ({"protocol": "udp", "src_port": "53"}, "sport"),
        ({"protocol": "tcp", "dst_port": "0-65535"}, "proto"),
        ({"vlan_id": 7, "protocol": "icmp"}, "vlan"),
        ({"protocol": "icmp"}, "proto"),
        ({"scope": "interface:eth0"}, "iface"),
        ({}, "proto"),
    ],
)
def test_a_rule_is_anchored_at_its_most_selective_condition(fields: dict[str, object], anchor: str) -> None:
    assert anchor_field(rule(**fields)) == anchor


def test_every_enabled_rule_is_anchored_exactly_once_and_disabled_ones_nowhere() -> None:
    rules = [
        FirewallRule.from_dict({"id": f"r{i}", "priority": i + 1, "action": "deny", **fields})
        for i, fields in enumerate(
            [
                {"src_ip": "10.0.0.0/24"},
                {"dst_port": "22"},
                {},
                {"vlan_id": 3},
                {"src_ip": "10.9.0.0/16", "enabled": False},
            ]
        )
    ]
    compiled = compile_policy(FirewallPolicy.build(rules, FirewallMode.BLOCK))
    masks = [compiled.anchors[f] for f in ANCHOR_FIELDS]
    assert sum(bin(m).count("1") for m in masks) == 4
    union = 0
    for m in masks:
        assert not union & m
        union |= m
    assert union == 0b01111
    assert not compiled.iface_scoped


def test_interface_scopes_turn_the_interface_lookup_on() -> None:
    policy = FirewallPolicy.build([rule(scope="interface:eth0")], FirewallMode.BLOCK)
    assert compile_policy(policy, {"eth0": 2}).iface_scoped
