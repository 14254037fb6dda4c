"""A generated corpus of malformed frames through every packet program (BPF_PROG_TEST_RUN).

The corpus is built here, programmatically, from valid templates (no Ethernet padding, so the
frame ends where the last header ends): every template cut at every byte from the end of the
Ethernet header to the end of its last header; lying lengths (IPv4 total length and IHL, TCP data
offset, IPv6 payload length); the wrong IP version under an ethertype; IPv6 extension chains
longer than the parser's bound (6, docs/kernel.md); three VLAN tags; IPv4 and IPv6 fragments.

What must hold (docs/kernel.md, "Parsing rules"):

* xdp_firewall: every malformed frame gets the **default policy**'s verdict (pass = fail open,
  drop = fail closed) and moves exactly ``seen``, ``errors`` and ``passed``/``dropped`` by one,
  under both default policies, even when the frame carries a port a deny rule names.
* Legitimately parseable frames of the corpus keep their documented behaviour: QinQ and first
  fragments carry their ports (the port rule drops them); a non-first fragment has no L4 header,
  so no ports: the port rule cannot match and the default policy decides, with no parse error.
* tc_ids, tc_threatintel, tc_dns never drop a malformed frame (tc_threatintel drops the
  parseable ones, whose source is a drop IOC here) and count each one in ``errors`` exactly once.

Frames below 14 bytes cannot be tested: the kernel refuses them (EINVAL) before any program runs,
as no driver delivers them; the SCHED_CLS test run likewise refuses an untagged IP frame shorter
than its fixed IP header (both proved below), so TC sees those cuts only behind a VLAN tag.
"""

import errno
import ipaddress
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from sentinel_adapters.ebpf import codec_payload
from sentinel_adapters.ebpf.dns_source import EGRESS_PROGRAM, INGRESS_PROGRAM, PROGRAM, BpfDnsSource
from sentinel_adapters.ebpf.firewall_map import BpfFirewallMap
from sentinel_adapters.ebpf.ids_map import BpfIdsPrefilter
from sentinel_adapters.ebpf.loader import BpfObject
from sentinel_adapters.ebpf.prog_run import XDP_DROP, XDP_PASS, prog_test_run
from sentinel_adapters.ebpf.ringbuf import RingBufferReader
from sentinel_adapters.ebpf.threatintel_map import TC_ACT_SHOT, TC_ACT_UNSPEC, BpfIocMap
from sentinel_domain.common import Protocol
from sentinel_domain.firewall import DefaultPolicy, FirewallMode, FirewallPolicy, FirewallRule
from sentinel_domain.ids import ANY_PORT, PrefilterKey
from sentinel_domain.threatintel import Ioc, IocAction, IocKind, ThreatType

A = ipaddress.ip_address
SRC4, DST4 = "198.51.100.1", "192.0.2.1"
SRC6, DST6 = "2001:db8:bad::1", "2001:db8:1::1"
TCP_PORT, UDP_PORT = 7000, 53  # a deny rule names each; UDP 53 also makes tc_dns look closer
TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58
HOP, ROUTING, FRAGMENT, AH, DSTOPTS = 0, 43, 44, 51, 60

# --- frame builders (wire bytes, no padding) --------------------------------------------------


def eth(ethertype: int, tags: tuple[tuple[int, int], ...] = ()) -> bytes:
    """Ethernet header; ``tags`` are (TPID, VID) outer to inner, the ethertype follows the last."""
    out = bytes.fromhex("020000000002020000000001")
    for tpid, vid in tags:
        out += struct.pack("!HH", tpid, vid)
    return out + struct.pack("!H", ethertype)


def tcp(dport: int = TCP_PORT, doff: int = 5, options: bytes = b"") -> bytes:
    return struct.pack("!HHIIBBHHH", 40000, dport, 1, 0, doff << 4, 0x02, 65535, 0, 0) + options


def udp(dport: int = UDP_PORT) -> bytes:
    return struct.pack("!HHHH", 40000, dport, 8, 0)


def icmp() -> bytes:
    return struct.pack("!BBHHH", 8, 0, 0, 1, 1)


def ipv4(
    proto: int,
    l4: bytes,
    *,
    ihl: int = 5,
    total: int | None = None,
    frag: int = 0,
    version: int = 4,
    options: bytes = b"",
) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s",
        (version << 4) | ihl,
        0,
        20 + len(options) + len(l4) if total is None else total,
        1,
        frag,
        64,
        proto,
        0,
        A(SRC4).packed,
        A(DST4).packed,
    )
    return header + options + l4


def ipv6(next_header: int, payload: bytes, plen: int | None = None, version: int = 6) -> bytes:
    length = len(payload) if plen is None else plen
    return (
        struct.pack("!IHBB16s16s", version << 28, length, next_header, 64, A(SRC6).packed, A(DST6).packed)
        + payload
    )


def ext(kind: int, next_header: int, frag_offset: int = 0, more: bool = False) -> bytes:
    """One IPv6 extension header of ``kind`` (RFC 8200 §4 sizes; AH per RFC 4302)."""
    if kind == FRAGMENT:
        return struct.pack("!BBHI", next_header, 0, (frag_offset << 3) | int(more), 7)
    if kind == AH:  # payload length 4 → (4 + 2) * 4 = 24 bytes
        return struct.pack("!BBH", next_header, 4, 0) + bytes(20)
    return struct.pack("!BB", next_header, 1) + bytes(14)  # (1 + 1) * 8 = 16 bytes


def chain(kinds: list[int], proto: int, l4: bytes, frag_offset: int = 0) -> tuple[int, bytes]:
    """(first next-header value, extension headers + ``l4``) for the chain ``kinds``."""
    nexts = [*kinds[1:], proto][: len(kinds)]
    body = b"".join(ext(k, n, frag_offset, more=True) for k, n in zip(kinds, nexts, strict=True))
    return (kinds[0] if kinds else proto), body + l4


def v6(kinds: list[int], proto: int, l4: bytes, frag_offset: int = 0, **kw: int) -> bytes:
    first, payload = chain(kinds, proto, l4, frag_offset)
    return eth(0x86DD) + ipv6(first, payload, **kw)


# --- the corpus --------------------------------------------------------------------------------

MALFORMED, RULE, DEFAULT = "malformed", "dropped by its port rule", "default policy, no ports"


@dataclass(frozen=True)
class Case:
    name: str
    frame: bytes
    kind: str  # MALFORMED, or how a parseable frame is judged (RULE or DEFAULT)


# Valid templates: (name, frame, where the headers end; cuts are made before that point).
def templates() -> list[tuple[str, bytes, int]]:
    v6_later = v6([FRAGMENT], TCP, b"\xab" * 8, frag_offset=100)
    out = [
        ("IPv4/TCP", eth(0x0800) + ipv4(TCP, tcp()), 0),
        ("IPv4/TCP with options", eth(0x0800) + ipv4(TCP, tcp(doff=8, options=bytes(12))), 0),
        ("IPv4 with IP options/TCP", eth(0x0800) + ipv4(TCP, tcp(), ihl=6, options=bytes(4)), 0),
        ("IPv4/UDP", eth(0x0800) + ipv4(UDP, udp()), 0),
        ("IPv4/ICMP", eth(0x0800) + ipv4(ICMP, icmp()), 0),
        ("IPv4 first fragment/TCP", eth(0x0800) + ipv4(TCP, tcp(), frag=0x2000), 0),
        ("IPv4 non-first fragment", eth(0x0800) + ipv4(TCP, b"\xab" * 8, frag=8), 0),
        ("802.1Q/IPv4/TCP", eth(0x0800, ((0x8100, 10),)) + ipv4(TCP, tcp()), 0),
        ("QinQ/IPv6/UDP", eth(0x86DD, ((0x88A8, 20), (0x8100, 30))) + ipv6(UDP, udp()), 0),
        ("IPv6/TCP", v6([], TCP, tcp()), 0),
        ("IPv6/UDP", v6([], UDP, udp()), 0),
        # ICMP needs 2 bytes (type, code); the other 6 are covered only by the payload length.
        ("IPv6/ICMPv6", v6([], ICMPV6, icmp()), 14 + 40 + 2),
        ("IPv6 hop/dst/routing/AH/TCP", v6([HOP, DSTOPTS, ROUTING, AH], TCP, tcp()), 0),
        ("IPv6 first fragment/TCP", v6([FRAGMENT], TCP, tcp()), 0),
        # Past the fragment header only payload remains, and IPv6 payload lengths are not checked.
        ("IPv6 non-first fragment", v6_later, len(v6_later) - 8),
    ]
    return [(name, data, end or len(data)) for name, data, end in out]


def corpus() -> list[Case]:
    cases: list[Case] = []
    for name, data, end in templates():
        for cut in range(14, end):  # every layer: Ethernet type, tags, IP, extensions, L4
            cases.append(Case(f"{name} cut at {cut}/{len(data)}", data[:cut], MALFORMED))
    v4 = eth(0x0800) + ipv4(TCP, tcp())
    ip_len = len(v4) - 14

    def v4_with(ihl: int = 5, total: int | None = None, version: int = 4) -> bytes:
        return eth(0x0800) + ipv4(TCP, tcp(), ihl=ihl, total=total, version=version)

    for total in (ip_len + 1, 1500, 65535):
        cases.append(Case(f"IPv4 total length {total} beyond the frame", v4_with(total=total), MALFORMED))
    for total in (0, 19):
        cases.append(Case(f"IPv4 total length {total} below the header", v4_with(total=total), MALFORMED))
    for ihl in range(5):
        cases.append(Case(f"IPv4 IHL {ihl}", v4_with(ihl=ihl), MALFORMED))
    cases.append(Case("IPv4 IHL 15 beyond the frame", v4_with(ihl=15, total=60), MALFORMED))
    cases.append(Case("IPv4 IHL 15 beyond the total length", v4_with(ihl=15), MALFORMED))
    cases.append(Case("version 6 under ethertype IPv4", v4_with(version=6), MALFORMED))
    cases.append(Case("version 4 under ethertype IPv6", v6([], TCP, tcp(), version=4), MALFORMED))
    for doff in (*range(5), 6, 15):
        cases.append(Case(f"IPv4 TCP data offset {doff}", eth(0x0800) + ipv4(TCP, tcp(doff=doff)), MALFORMED))
        cases.append(Case(f"IPv6 TCP data offset {doff}", v6([], TCP, tcp(doff=doff)), MALFORMED))
    for depth in (7, 8, 12):
        cases.append(Case(f"{depth} IPv6 extension headers", v6([DSTOPTS] * depth, TCP, tcp()), MALFORMED))
    cases.append(
        Case("7 headers ending in a fragment", v6([HOP] + [DSTOPTS] * 5 + [FRAGMENT], TCP, tcp()), MALFORMED)
    )
    ip4 = ipv4(TCP, tcp())
    for tpids in ((0x8100, 0x8100, 0x8100), (0x88A8, 0x8100, 0x8100), (0x88A8, 0x88A8, 0x88A8)):
        tags = tuple((tpid, i + 1) for i, tpid in enumerate(tpids))
        cases.append(Case(f"three VLAN tags {tpids}", eth(0x0800, tags) + ip4, MALFORMED))
    # Parseable: the documented behaviour.
    cases.append(Case("IPv4/TCP", v4, RULE))
    cases.append(Case("QinQ/IPv4/TCP", eth(0x0800, ((0x88A8, 5), (0x8100, 6))) + ip4, RULE))
    cases.append(Case("QinQ/IPv6/UDP", eth(0x86DD, ((0x88A8, 20), (0x8100, 30))) + ipv6(UDP, udp()), RULE))
    cases.append(Case("six IPv6 extension headers (the bound)", v6([DSTOPTS] * 6, TCP, tcp()), RULE))
    cases.append(Case("IPv4 first fragment", eth(0x0800) + ipv4(TCP, tcp(), frag=0x2000), RULE))
    cases.append(Case("IPv6 first fragment", v6([FRAGMENT], TCP, tcp()), RULE))
    for payload in (b"", b"\xab" * 3, b"\xab" * 64):  # no L4 header is expected: not even 4 bytes
        later = eth(0x0800) + ipv4(TCP, payload, frag=8)
        cases.append(Case(f"IPv4 non-first fragment, {len(payload)} bytes", later, DEFAULT))
        later6 = v6([FRAGMENT], TCP, payload, frag_offset=100)
        cases.append(Case(f"IPv6 non-first fragment, {len(payload)} bytes", later6, DEFAULT))
    cases.append(Case("IPv4 last fragment", eth(0x0800) + ipv4(UDP, b"\xab" * 16, frag=0x0010), DEFAULT))
    unique: dict[bytes, Case] = {}
    for case in cases:  # templates share prefixes: keep one case per distinct frame
        unique.setdefault(case.frame, case)
    return list(unique.values())


# IPv6 payload lengths that claim more than the frame carries: parse errors, like IPv4's total
# length (also run alone through xdp_firewall below, the case that once was a gap).
def ipv6_length_lies() -> list[Case]:
    base = [([], TCP, tcp()), ([], UDP, udp()), ([HOP, DSTOPTS], TCP, tcp())]
    out = []
    for kinds, proto, l4 in base:
        real = len(chain(kinds, proto, l4)[1])
        for plen in (real + 1, 1500, 65535):
            out.append(
                Case(
                    f"IPv6 {kinds}/{proto} payload length {plen} > {real}",
                    v6(kinds, proto, l4, plen=plen),
                    MALFORMED,
                )
            )
    icmp6 = v6([], ICMPV6, icmp())
    out += [
        Case(f"IPv6/ICMPv6 cut at {cut}", icmp6[:cut], MALFORMED) for cut in range(14 + 40 + 2, len(icmp6))
    ]
    return out


CORPUS = corpus() + ipv6_length_lies()
MALFORMED_CASES = [c for c in CORPUS if c.kind == MALFORMED]
PARSEABLE_CASES = [c for c in CORPUS if c.kind != MALFORMED]


def test_the_corpus_covers_every_layer() -> None:
    names = " ".join(c.name for c in CORPUS)
    assert len(MALFORMED_CASES) > 500 and len(PARSEABLE_CASES) >= 10
    for needle in ("802.1Q", "QinQ", "IHL", "total length", "data offset", "extension headers", "fragment"):
        assert needle in names
    assert len({c.frame for c in MALFORMED_CASES}) == len(MALFORMED_CASES)  # no duplicates


# --- the programs --------------------------------------------------------------------------------

RULES = [
    {"id": "deny-tcp-7000", "priority": 1, "action": "deny", "protocol": "tcp", "dst_port": TCP_PORT},
    {"id": "deny-udp-53", "priority": 2, "action": "deny", "protocol": "udp", "dst_port": UDP_PORT},
]


def firewall(default: str) -> BpfFirewallMap:
    fw = BpfFirewallMap.standalone()
    rules = [FirewallRule.from_dict(r) for r in RULES]
    fw.apply(FirewallPolicy.build(rules, FirewallMode.BLOCK, DefaultPolicy(default)))
    return fw


def run(prog_fd: int, counters: Callable[[], dict[str, int]], frame: bytes) -> tuple[int, dict[str, int]]:
    before = counters()
    retval = prog_test_run(prog_fd, frame).retval
    after = counters()
    return retval, {k: after[k] - before[k] for k in after if after[k] != before[k]}


@pytest.fixture(scope="module", params=["pass", "drop"])
def fw(request: pytest.FixtureRequest) -> Iterator[BpfFirewallMap]:
    subject = firewall(request.param)
    yield subject
    subject.close()


def expected_xdp(case: Case, default_drop: bool) -> tuple[int, dict[str, int]]:
    if case.kind == MALFORMED:
        return (
            (XDP_DROP, {"seen": 1, "dropped": 1, "errors": 1})
            if default_drop
            else (
                XDP_PASS,
                {"seen": 1, "passed": 1, "errors": 1},
            )
        )
    if case.kind == RULE:
        return XDP_DROP, {"seen": 1, "dropped": 1, "events_emitted": 1}
    if default_drop:  # a default drop reports itself with an event
        return XDP_DROP, {"seen": 1, "dropped": 1, "events_emitted": 1}
    return XDP_PASS, {"seen": 1, "passed": 1}


def test_xdp_firewall_gives_every_malformed_frame_the_default_policy(fw: BpfFirewallMap) -> None:
    default_drop = fw.policy.default_policy == DefaultPolicy.DROP
    wrong = []
    for case in CORPUS:
        got = run(fw.prog_fd, fw.counters, case.frame)
        want = expected_xdp(case, default_drop)
        if got != want:
            wrong.append(f"{case.name}: got {got}, want {want}")
    assert not wrong, "\n".join(wrong[:40])
    # The identity docs/kernel.md promises, over the whole corpus.
    c = fw.counters()
    assert c["seen"] == c["passed"] + c["dropped"] == len(CORPUS)
    assert c["errors"] == len(MALFORMED_CASES)
    for size in (0, 1, 13):  # shorter than Ethernet: the kernel refuses before the program runs
        with pytest.raises(OSError) as err:
            prog_test_run(fw.prog_fd, bytes(size))
        assert err.value.errno == errno.EINVAL
    assert fw.counters()["seen"] == len(CORPUS)


def test_xdp_firewall_treats_a_lying_ipv6_payload_length_as_malformed(fw: BpfFirewallMap) -> None:
    default_drop = fw.policy.default_policy == DefaultPolicy.DROP
    wrong = []
    for case in ipv6_length_lies():
        got = run(fw.prog_fd, fw.counters, case.frame)
        want = expected_xdp(case, default_drop)
        if got != want:
            wrong.append(f"{case.name}: got {got}, want {want}")
    assert not wrong, "\n".join(wrong)


# --- the TC programs: never drop garbage, count it once ----------------------------------------


def tc_errors(counters: dict[str, int]) -> int:
    return counters.get("errors", 0)


def refused_by_skb_test_run(frame: bytes) -> bool:
    """The kernel's SCHED_CLS test run refuses (EINVAL) an untagged IPv4/IPv6 frame shorter than
    the fixed IP header: such cuts can only be driven through XDP (above) and, tagged, here."""
    fixed = {b"\x08\x00": 20, b"\x86\xdd": 40}.get(frame[12:14])
    return fixed is not None and len(frame) < 14 + fixed


def check_tc(prog_fd: int, counters: Callable[[], dict[str, int]], parsed_verdict: int) -> list[str]:
    wrong = []
    for case in CORPUS:
        if refused_by_skb_test_run(case.frame):
            before = counters()["seen"]
            with pytest.raises(OSError) as err:
                prog_test_run(prog_fd, case.frame)
            if err.value.errno != errno.EINVAL or counters()["seen"] != before or case.kind != MALFORMED:
                wrong.append(f"{case.name}: expected the kernel to refuse it before the program ran")
            continue
        retval, changed = run(prog_fd, counters, case.frame)
        want_retval = TC_ACT_UNSPEC if case.kind == MALFORMED else parsed_verdict
        want_errors = 1 if case.kind == MALFORMED else 0
        if retval != want_retval or tc_errors(changed) != want_errors or changed.get("seen") != 1:
            wrong.append(f"{case.name}: retval {retval:#x}, deltas {changed}")
    return wrong


@pytest.fixture(scope="module")
def ids() -> Iterator[BpfIdsPrefilter]:
    subject = BpfIdsPrefilter.standalone()
    ring = subject.bpf_object.map("ids_events")
    reader = RingBufferReader(ring.fd, ring.max_entries)
    subject.install([PrefilterKey(Protocol.TCP, ANY_PORT), PrefilterKey(Protocol.UDP, ANY_PORT)])
    subject.configure(codec_payload.IDS_CAPTURE_DEFAULT)
    try:
        yield subject
    finally:
        reader.close()
        subject.close()


@pytest.mark.parametrize("egress", [False, True], ids=["ingress", "egress"])
def test_tc_ids_never_drops_and_counts_each_malformed_frame(ids: BpfIdsPrefilter, egress: bool) -> None:
    wrong = check_tc(ids.prog_fd(egress), ids.counters, TC_ACT_UNSPEC)
    assert not wrong, "\n".join(wrong[:40])


def test_tc_threatintel_passes_malformed_frames_from_a_drop_ioc() -> None:
    """The source of every corpus frame is a drop IOC: parseable frames are dropped, garbage is not."""
    ti = BpfIocMap.standalone()
    try:
        iocs = [
            Ioc(IocKind.IP, address, "corpus-feed", 90, ThreatType.C2, None, IocAction.BLOCK)
            for address in (SRC4, SRC6)
        ]
        ti.load(iocs, time.time())
        ring = ti.ring
        reader = RingBufferReader(ring.fd, ring.max_entries)
        try:
            wrong = check_tc(ti.prog_fd, ti.counters, TC_ACT_SHOT)
        finally:
            reader.close()
        assert not wrong, "\n".join(wrong[:40])
        assert ti.counters()["dropped"] == len(PARSEABLE_CASES)
    finally:
        ti.close()


def test_tc_dns_never_drops_and_counts_each_malformed_frame() -> None:
    obj = BpfObject.load_bundled(PROGRAM)
    source = BpfDnsSource(obj)
    try:
        for program in (INGRESS_PROGRAM, EGRESS_PROGRAM):
            wrong = check_tc(obj.program_fd(program), source.counters, TC_ACT_UNSPEC)
            assert not wrong, f"{program}:\n" + "\n".join(wrong[:40])
        assert source.counters()["events_emitted"] == 0  # the corpus carries no DNS message
    finally:
        source.close()
        obj.close()
