"""xdp_firewall through BPF_PROG_TEST_RUN: verdicts and counters for crafted frames.

Every case runs one frame and checks the verdict and the exact counter deltas it caused.
"""

import ipaddress
import struct
from collections.abc import Iterator
from pathlib import Path

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


def test_metadata_carries_rule_index_action_and_parse_results(fw_pass: BpfFirewallMap) -> None:
    data = frame("198.18.1.2", "198.18.1.1", Protocol.TCP, 2222)
    result = prog_test_run(fw_pass.prog_fd, data)
    assert len(result.data_out) == len(data) + codec.XDP_META.size
    rule_index, action, rl_status, flags, proto, l3, l4, sport, dport = codec.XDP_META.unpack_from(
        result.data_out
    )
    assert fw_pass.policy.rules[rule_index].id == "log-ssh"
    assert (action, rl_status) == (codec.ACTION_LOG, 0)
    assert flags == codec.META_PRESENT | codec.META_HAS_PORTS
    assert (proto, l3, l4, sport, dport) == (6, 14, 34, 4000, 2222)


def test_drops_carry_metadata_only_when_a_test_run_asks() -> None:
    """A dropped packet never reaches TC: the program writes no metadata for it (a helper call
    saved) unless asked to, which ``decide`` does for its own run to name the rule."""
    fw = make_map("drop")
    try:
        denied = frame("198.18.66.7", "198.18.1.1")
        for kind, data in (("rule", denied), ("default policy", V4_OK)):
            result = prog_test_run(fw.prog_fd, data)
            assert (result.retval, len(result.data_out)) == (XDP_DROP, len(data)), kind
        decision = fw.decide(PacketHeader(A("198.18.66.7"), A("198.18.1.1"), Protocol.UDP, 4000, 53))
        assert decision.rule_id == "deny-v4"  # decide() turned it on for its run ...
        assert len(prog_test_run(fw.prog_fd, denied).data_out) == len(denied)  # ... and off again
        fw.report_drops_in_metadata()
        result = prog_test_run(fw.prog_fd, denied)
        assert codec.decode_xdp_meta(result.data_out)[:2] == (0, codec.ACTION_DROP)  # type: ignore[index]
        fw.apply(fw.policy)  # a reload keeps it
        assert len(prog_test_run(fw.prog_fd, denied).data_out) == len(denied) + codec.XDP_META.size
    finally:
        fw.close()


# --- IPv6 extension chains, fragments, deep VLAN stacks --------------------------------------

PORT_RULES = [
    {"id": "deny-port-7000", "priority": 1, "action": "deny", "protocol": "tcp", "dst_port": 7000},
    {"id": "log-src-net", "priority": 2, "action": "log", "src_ip": "2001:db8:77::/48"},
    {"id": "log-src-net4", "priority": 3, "action": "log", "src_ip": "198.18.77.0/24"},
]


@pytest.fixture(scope="module")
def fw_ports() -> Iterator[BpfFirewallMap]:
    fw = BpfFirewallMap.standalone()
    fw.apply(FirewallPolicy.build([FirewallRule.from_dict(r) for r in PORT_RULES], FirewallMode.BLOCK))
    yield fw
    fw.close()


def ext(next_header: int, kind: int, body_len: int = 6, frag_offset: int = 0) -> bytes:
    """One IPv6 extension header of type ``kind`` (RFC 8200 sizes; AH per RFC 4302)."""
    if kind == 44:
        return struct.pack("!BBHI", next_header, 0, frag_offset << 3, 7)
    if kind == 51:  # AH: length in 4-octet units minus 2; 12 bytes here + 12 of ICV
        return struct.pack("!BBH", next_header, 4, 0) + bytes(20)
    units = (2 + body_len) // 8 - 1
    return struct.pack("!BB", next_header, units) + bytes(8 * (units + 1) - 2)


def v6_frame(chain: list[int], proto: int = 6, dport: int = 7000, frag_offset: int = 0) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", 1234, dport, 0, 0, 5 << 4, 2, 1000, 0, 0)
    headers = b""
    kinds = [*chain, proto]
    for kind, nxt in zip(chain, kinds[1:], strict=True):
        headers += ext(nxt, kind, frag_offset=frag_offset if kind == 44 else 0)
    payload = headers + tcp
    ip6 = struct.pack(
        "!IHBB16s16s",
        6 << 28,
        len(payload),
        kinds[0],
        64,
        A("2001:db8:77::1").packed,
        A("2001:db8::1").packed,
    )
    return ETH + struct.pack("!H", 0x86DD) + ip6 + payload


CHAIN_CASES = {
    # name: (frame, verdict, the rule whose event/metadata we expect, or None, counter deltas)
    "no extension headers: port rule": (v6_frame([]), XDP_DROP, {"dropped": 1, "events_emitted": 1}),
    "hop-by-hop + dest-opts: ports still found": (
        v6_frame([0, 60]),
        XDP_DROP,
        {"dropped": 1, "events_emitted": 1},
    ),
    "routing + AH: ports still found": (v6_frame([43, 51]), XDP_DROP, {"dropped": 1, "events_emitted": 1}),
    "first fragment keeps its ports": (
        v6_frame([44], frag_offset=0),
        XDP_DROP,
        {"dropped": 1, "events_emitted": 1},
    ),
    "non-first fragment: no ports, address rule applies": (
        v6_frame([44], frag_offset=100),
        XDP_PASS,
        {"passed": 1, "logged": 1, "events_emitted": 1},
    ),
    "six extension headers: at the bound": (
        v6_frame([0, 60, 43, 60, 60, 60]),
        XDP_DROP,
        {"dropped": 1, "events_emitted": 1},
    ),
    "seven extension headers: beyond the bound": (
        v6_frame([0, 60, 43, 60, 60, 60, 60]),
        XDP_PASS,
        {"passed": 1, "errors": 1},
    ),
    "extension header cut short": (v6_frame([0])[: -20 - 4], XDP_PASS, {"passed": 1, "errors": 1}),
    "three VLAN tags": (
        ETH + struct.pack("!HHHHHH", 0x88A8, 1, 0x8100, 2, 0x8100, 3) + bytes(40),
        XDP_PASS,
        {"passed": 1, "errors": 1},
    ),
}


@pytest.mark.parametrize("name", list(CHAIN_CASES))
def test_ipv6_chains_fragments_and_vlan_depth(fw_ports: BpfFirewallMap, name: str) -> None:
    data, verdict, expected = CHAIN_CASES[name]
    retval, changed = deltas(fw_ports, data)
    assert retval == verdict
    assert changed == {"seen": 1, **expected}


def test_ipv4_non_first_fragment_has_no_ports(fw_ports: BpfFirewallMap) -> None:
    header = PacketHeader(A("198.18.77.5"), A("198.18.1.1"), Protocol.TCP, 1234, 7000)
    first = build_frame(header)
    later = build_frame(header, fragment_offset=64)
    assert deltas(fw_ports, first)[0] == XDP_DROP  # the port rule sees the first fragment
    retval, changed = deltas(fw_ports, later)
    assert retval == XDP_PASS  # only the address (log) rule can match a non-first fragment
    assert changed == {"seen": 1, "passed": 1, "logged": 1, "events_emitted": 1}


@pytest.mark.parametrize("cut", [14, 20, 33, 34, 40, 53])
def test_truncation_at_every_layer_is_a_counted_parse_error(fw_ports: BpfFirewallMap, cut: int) -> None:
    """A TCP/IPv4 frame cut inside the IP header (14-33) or the TCP header (34-53)."""
    full = build_frame(PacketHeader(A("198.18.77.5"), A("198.18.1.1"), Protocol.TCP, 1, 7000))
    retval, changed = deltas(fw_ports, full[:cut] if cut > 14 else full[:14])
    assert retval == XDP_PASS
    assert changed == {"seen": 1, "passed": 1, "errors": 1}


def test_priority_and_configured_order_decide_among_overlapping_rules() -> None:
    fw = BpfFirewallMap.standalone()
    try:
        rules = [
            {"id": "late-allow", "priority": 9, "action": "allow", "src_ip": "198.18.9.9"},
            {"id": "tie-first", "priority": 5, "action": "deny", "src_ip": "198.18.9.0/24"},
            {"id": "tie-second", "priority": 5, "action": "allow", "src_ip": "198.18.9.9"},
        ]
        fw.apply(FirewallPolicy.build([FirewallRule.from_dict(r) for r in rules], FirewallMode.BLOCK))
        decision = fw.decide(PacketHeader(A("198.18.9.9"), A("198.18.1.1"), Protocol.UDP, 1, 2))
        assert decision.rule_id == "tie-first"
    finally:
        fw.close()


class FailsOnSecondUpdate:
    """A map whose second write (``update`` or ``update_array``) raises (the rest is the real map's)."""

    def __init__(self, inner: object) -> None:
        self.inner, self.calls = inner, 0

    def _second_fails(self) -> None:
        self.calls += 1
        if self.calls == 2:
            raise OSError("injected failure on the second write")

    def update(self, key: bytes, value: bytes) -> None:
        self._second_fails()
        self.inner.update(key, value)  # type: ignore[attr-defined]

    def update_array(self, values: bytes, start: int = 0) -> None:
        self._second_fails()
        self.inner.update_array(values, start=start)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


@pytest.mark.parametrize(
    "nets",
    [
        # The heads lie far apart, so the table write is several runs. The first written: 10.1's
        # root entry, pointing into the chunk that still holds 198.18.0.0/20 ...
        ("198.18.0.0/20", "10.1.2.0/24", "172.16.3.0/24"),
        # ... and 2001's root entry, no longer pointing to the chunk of 2001:db8::/32.
        ("2001:db8::/32", "3fff:1:2::/48", "2a00:1:3::/48"),
    ],
)
def test_an_apply_that_fails_midway_does_not_leave_stale_entries_behind(
    monkeypatch: pytest.MonkeyPatch, nets: tuple[str, str, str]
) -> None:
    """The adapter writes only what changed in the idle generation. A map whose write failed
    halfway is rewritten whole by the next apply, not diffed against what it held before."""
    ip = ipaddress.ip_address
    net = ipaddress.ip_network

    def deny(rule_id: str, cidr: str) -> FirewallRule:
        return FirewallRule.from_dict({"id": rule_id, "priority": 1, "action": "deny", "src_ip": cidr})

    first = FirewallPolicy.build([deny("deny-a", nets[0])], FirewallMode.BLOCK)
    failing = FirewallPolicy.build([deny("deny-b", nets[1]), deny("deny-c", nets[2])], FirewallMode.BLOCK)
    other = ip("192.0.2.9") if "." in nets[0] else ip("100::9")
    table = "fw_src_addr"
    packets = [PacketHeader(net(cidr)[5], other, Protocol.UDP, 1000, 53) for cidr in nets]
    fw = BpfFirewallMap.standalone()
    real_map = fw._obj.map
    try:
        fw.apply(first)  # generation 1
        fw.apply(FirewallPolicy.build([], FirewallMode.BLOCK))  # generation 0; 1 still holds ``first``
        failing_map = FailsOnSecondUpdate(real_map(table))
        monkeypatch.setattr(fw._obj, "map", lambda name: failing_map if name == table else real_map(name))
        with pytest.raises(OSError, match="injected"):
            fw.apply(failing)  # part of its new source prefixes reaches generation 1; no flip
        assert failing_map.calls == 2
        monkeypatch.undo()
        fw.apply(first)  # generation 1 again: what it held before the failure
        assert [fw.decide(p).rule_id for p in packets] == ["deny-a", None, None]
    finally:
        fw.close()


def test_the_verifier_keeps_headroom_below_its_instruction_limit() -> None:
    """Verifier-processed instructions are deterministic for a kernel and object. The kernel
    refuses a program past 1M; changes that merge badly (a flag read with a computed key, a walk
    inlined instead of a global function) have taken xdp_firewall from ~400k to 636k-1M before."""
    fw = BpfFirewallMap.standalone()
    try:
        fdinfo = Path(f"/proc/self/fdinfo/{fw.prog_fd}").read_text().splitlines()
        processed = int(next(line for line in fdinfo if line.startswith("verified_insns")).split()[1])
        assert processed < 600_000, f"xdp_firewall needs {processed:,} verifier instructions"
    finally:
        fw.close()
