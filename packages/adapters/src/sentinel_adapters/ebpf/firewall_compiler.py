"""Compile an ordered firewall policy into the xdp_firewall classifier maps (pure, no syscalls).

Each packet field is looked up once in the kernel and yields a bitmap of the rules that allow
that value; rule i is bit i in priority order. The AND of all field bitmaps has the matching
rules; its lowest bit is the first match. Per field:
- addresses: every distinct rule prefix (plus /0) gets the bitmap of the rules whose prefix
  contains it, plus rules with no address condition, so the longest match is right; an address
  table (``addr_trie``) maps an address to the class of its longest prefix, a class to its bitmap;
- ports: the 65,536 ports are cut into intervals at every rule boundary; port -> class id,
  class -> bitmap; class 0 = packets without ports (ICMP, non-first fragments);
- protocol (256 values), VLAN id (4,096 values, 0 = untagged): value -> class id, class ->
  bitmap, one class per distinct bitmap (a rule change rewrites a few bitmaps, not 4,096);
- ingress interface (ifindex -> slot, slot -> bitmap; slot 0 = any other interface).
Disabled rules keep their index but have no bit anywhere.

Every rule is also *anchored* at one field it constrains, its most selective (``anchor_field``);
each bitmap carries an anchor word marking the 64-rule words that hold a rule anchored at that
field and allowed by the value. A matching rule is allowed by every field, so its word is marked
in the bitmap of its anchor field: the kernel visits only words marked by some field, and rules
without an address or port condition stop making every word a candidate. See docs/kernel.md.
"""

from __future__ import annotations

import ipaddress
import struct
from array import array
from collections.abc import Mapping
from dataclasses import dataclass

from sentinel_adapters.ebpf.addr_trie import AddressTable, Prefix, build_address_table
from sentinel_domain.common import Protocol
from sentinel_domain.firewall import FirewallPolicy, FirewallRule, Verdict

MAX_RULES = 4096
MAX_IFACES = 64  # SENTINEL_FW_MAX_IFACES: interfaces with a slot of their own
MAX_ADDR_CLASSES = 4098  # SENTINEL_FW_MAX_ADDR_CLASSES: distinct address bitmaps per field
WORDS = 64
_ACTION_CODE = {Verdict.PASS: 0, Verdict.DROP: 1, Verdict.LOG: 2}


def _word_summary(bits: int) -> int:
    """Bit w set for each non-zero 64-bit word of ``bits``."""
    summary, w = 0, 0
    while bits:
        if bits & 0xFFFF_FFFF_FFFF_FFFF:
            summary |= 1 << w
        bits >>= 64
        w += 1
    return summary


def encode_bitmap(bits: int, anchored: int = 0) -> bytes:
    """``struct sentinel_fw_bitmap``: summary word, anchor word, then 64 words (bit i = rule i).

    The 64 little-endian words are the integer's own little-endian bytes; the summary has bit w
    set for each non-zero word, the anchor for each word of ``anchored`` (the subset of ``bits``
    anchored at this field) that is non-zero.
    """
    if anchored & ~bits:
        raise ValueError("anchored rules must be a subset of the allowed rules")
    return (
        _word_summary(bits).to_bytes(8, "little")
        + _word_summary(anchored).to_bytes(8, "little")
        + (bits.to_bytes(8 * WORDS, "little"))
    )


ANCHOR_FIELDS = ("src", "dst", "dport", "sport", "vlan", "proto", "iface")


def _selectivity(rule: FirewallRule) -> dict[str, float]:
    """Bits of selectivity of each field ``rule`` constrains (more = fewer packets allowed)."""
    out: dict[str, float] = {}
    for name, net in (("src", rule.src_ip), ("dst", rule.dst_ip)):
        if net is not None:
            # An IPv6 /64 is as narrow in practice as an IPv4 /32.
            out[name] = net.prefixlen if net.version == 4 else net.prefixlen / 2
    for name, ports in (("dport", rule.dst_port), ("sport", rule.src_port)):
        if ports is not None:
            out[name] = 16 - (ports.end - ports.start + 1).bit_length() + 1
    if rule.vlan_id is not None:
        out["vlan"] = 12
    if rule.protocol != Protocol.ANY:
        # Nearly all traffic is TCP or UDP: naming one of them narrows little.
        out["proto"] = 1 if rule.protocol in (Protocol.TCP, Protocol.UDP) else 4
    if rule.scope.kind != "global":
        out["iface"] = 1
    return out


def anchor_field(rule: FirewallRule) -> str:
    """The field ``rule`` is anchored at: its most selective condition (ties: ANCHOR_FIELDS order);
    a rule without conditions is anchored at the protocol, whose every entry allows it."""
    scores = _selectivity(rule)
    best, best_score = "proto", -1.0
    for name in ANCHOR_FIELDS:  # strictly greater: the first of equal scores wins
        score = scores.get(name)
        if score is not None and score > best_score:
            best, best_score = name, score
    return best


def lpm_key(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bytes:
    """``struct sentinel_lpm_v4_key`` / ``_v6_key``: prefix length, then the address bytes."""
    return struct.pack("<I", net.prefixlen) + net.network_address.packed


def fw_lpm_key(net: ipaddress.IPv4Network | ipaddress.IPv6Network, gen: int) -> bytes:
    """``struct sentinel_fw_lpm_v4_key`` / ``_v6_key``: the generation byte is part of the prefix."""
    return struct.pack("<IB", 8 + net.prefixlen, gen) + net.network_address.packed + bytes(3)


@dataclass(frozen=True, slots=True)
class CompiledFirewall:
    """Everything the kernel maps hold for one policy, as bitmaps (ints) ready to encode."""

    rule_actions: list[int]
    src_bits: list[int]  # address class -> bitmap (both families)
    src_table: AddressTable  # address -> class
    dst_bits: list[int]
    dst_table: AddressTable
    proto_class: array[int]  # u16 per protocol
    proto_bits: list[int]
    vlan_class: array[int]  # u16 per VLAN id
    vlan_bits: list[int]
    sport_class: array[int]  # u16 per port
    sport_bits: list[int]
    dport_class: array[int]
    dport_bits: list[int]
    iface: dict[int, int]  # ifindex -> bitmap; 0 = any other interface
    default_drop: bool
    anchors: dict[str, int]  # field (ANCHOR_FIELDS) -> the rules anchored there
    iface_scoped: bool  # some enabled rule has an interface scope


def _prefix_bitmaps(rules: list[tuple[int, FirewallRule]], attr: str, version: int) -> dict[Prefix, int]:
    """Each distinct rule prefix of ``version`` (and /0) -> the rules allowing every address in it."""
    wildcard = 0
    exact: dict[Prefix, int] = {}  # (network as int, prefix length) -> rules
    for i, rule in rules:
        net = getattr(rule, attr)
        if net is None:
            wildcard |= 1 << i
        elif net.version == version:
            key = (int(net.network_address), net.prefixlen)
            exact[key] = exact.get(key, 0) | (1 << i)
    width = 32 if version == 4 else 128
    # Every rule prefix containing a prefix is its network masked to one of the lengths in use.
    masks = [(length, ((1 << length) - 1) << (width - length)) for length in sorted({n for _, n in exact})]
    out = {}
    for address, prefixlen in [(0, 0), *exact]:
        bits = wildcard
        for length, mask in masks:
            if length > prefixlen:
                break
            bits |= exact.get((address & mask, length), 0)
        out[(address, prefixlen)] = bits
    return out


def _address_field(rules: list[tuple[int, FirewallRule]], attr: str) -> tuple[list[int], AddressTable]:
    """Class -> bitmap (one class per distinct bitmap, shared by both families) and the table
    mapping an address to its longest prefix's class."""
    ids: dict[int, int] = {}
    v4 = {p: ids.setdefault(bits, len(ids)) for p, bits in _prefix_bitmaps(rules, attr, 4).items()}
    v6 = {p: ids.setdefault(bits, len(ids)) for p, bits in _prefix_bitmaps(rules, attr, 6).items()}
    if len(ids) > MAX_ADDR_CLASSES:
        raise ValueError(f"{len(ids)} distinct {attr} prefixes exceed the kernel's {MAX_ADDR_CLASSES}")
    return list(ids), build_address_table(v4, v6)


def _classes(bitmaps: list[int]) -> tuple[array[int], list[int]]:
    """Value -> class id and class -> bitmap, one class per distinct bitmap (first seen first)."""
    ids: dict[int, int] = {}
    classes = array("H", [ids.setdefault(bits, len(ids)) for bits in bitmaps])
    return classes, list(ids)


def _port_classes(rules: list[tuple[int, FirewallRule]], attr: str) -> tuple[array[int], list[int]]:
    wildcard = 0
    starts: dict[int, int] = {}
    ends: dict[int, int] = {}
    for i, rule in rules:
        ports = getattr(rule, attr)
        if ports is None:
            wildcard |= 1 << i
        else:
            starts[ports.start] = starts.get(ports.start, 0) | (1 << i)
            ends[ports.end + 1] = ends.get(ports.end + 1, 0) | (1 << i)
    bounds = sorted({0, *starts, *ends} - {65536})
    classes = array("H", bytes(2 * 65536))
    class_bits = [wildcard]  # class 0: packet without ports
    active = 0
    for n, start in enumerate(bounds):
        active = (active | starts.get(start, 0)) & ~ends.get(start, 0)
        end = bounds[n + 1] if n + 1 < len(bounds) else 65536
        class_id = len(class_bits)
        class_bits.append(wildcard | active)
        classes[start:end] = array("H", [class_id]) * (end - start)
    return classes, class_bits


def compile_policy(policy: FirewallPolicy, interfaces: Mapping[str, int] = {}) -> CompiledFirewall:
    """Build every map's content for ``policy``; ``interfaces`` maps names to ifindexes."""
    if len(policy.rules) > MAX_RULES:
        raise ValueError(f"{len(policy.rules)} rules exceed the kernel's {MAX_RULES}")
    if len(interfaces) > MAX_IFACES:
        raise ValueError(f"{len(interfaces)} interfaces exceed the kernel's {MAX_IFACES}")
    enabled = [(i, r) for i, r in enumerate(policy.rules) if r.enabled]

    by_proto: dict[int, int] = {}
    for i, rule in enabled:
        by_proto[rule.protocol] = by_proto.get(rule.protocol, 0) | (1 << i)
    icmp_rules = by_proto.get(Protocol.ICMP, 0)
    proto = [by_proto.get(Protocol.ANY, 0) | by_proto.get(p, 0) for p in range(256)]
    proto[Protocol.ICMP] |= icmp_rules
    proto[Protocol.ICMPV6] |= icmp_rules

    # Class 0: VLAN ids no rule names; one class per named id.
    named: dict[int, int] = {}
    for i, rule in enabled:
        if rule.vlan_id is not None:
            named[rule.vlan_id] = named.get(rule.vlan_id, 0) | (1 << i)
    vlan_wild = sum(1 << i for i, r in enabled if r.vlan_id is None)
    vlan_class = array("H", bytes(2 * 4096))
    vlan_bits = [vlan_wild]
    for vlan_id, bits in sorted(named.items()):
        vlan_class[vlan_id] = len(vlan_bits)
        vlan_bits.append(vlan_wild | bits)

    iface = {0: sum(1 << i for i, r in enabled if r.scope.kind == "global")}
    for name, index in interfaces.items():
        iface[index] = sum(1 << i for i, r in enabled if r.scope.applies_to(name))

    anchors = dict.fromkeys(ANCHOR_FIELDS, 0)
    for i, rule in enabled:
        anchors[anchor_field(rule)] |= 1 << i

    proto_class, proto_bits = _classes(proto)
    src_bits, src_table = _address_field(enabled, "src_ip")
    dst_bits, dst_table = _address_field(enabled, "dst_ip")
    sport_class, sport_bits = _port_classes(enabled, "src_port")
    dport_class, dport_bits = _port_classes(enabled, "dst_port")
    return CompiledFirewall(
        rule_actions=[_ACTION_CODE[policy.verdict_for(r.action)] for r in policy.rules],
        src_bits=src_bits,
        src_table=src_table,
        dst_bits=dst_bits,
        dst_table=dst_table,
        proto_class=proto_class,
        proto_bits=proto_bits,
        vlan_class=vlan_class,
        vlan_bits=vlan_bits,
        sport_class=sport_class,
        sport_bits=sport_bits,
        dport_class=dport_class,
        dport_bits=dport_bits,
        iface=iface,
        default_drop=policy.default_policy.value == "drop",
        anchors=anchors,
        iface_scoped=any(r.scope.kind != "global" for _, r in enabled),
    )


def indices(count: int) -> list[bytes]:
    return [struct.pack("<I", i) for i in range(count)]
