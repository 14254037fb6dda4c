"""The DNS wire parser: valid messages, the malformed corpus, and fuzzing (RFC 1035 §4)."""

import ipaddress
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sentinel_domain.dns import (
    MAX_ANSWERS,
    DnsParseError,
    RecordType,
    parse_message,
)


def wire_name(text: str) -> bytes:
    if text in ("", "."):
        return b"\x00"
    return b"".join(bytes([len(label)]) + label.encode() for label in text.split(".")) + b"\x00"


def header(*, ident=0x1234, qr=True, rcode=0, qd=1, an=0, ns=0, ar=0, flags=0) -> bytes:
    bits = (0x8000 if qr else 0) | 0x0100 | 0x0080 | rcode | flags
    return struct.pack("!HHHHHH", ident, bits, qd, an, ns, ar)


def question(name: str = "www.example.com", qtype: int = 1) -> bytes:
    return wire_name(name) + struct.pack("!HH", qtype, 1)


def rr(owner: bytes, rtype: int, ttl: int, rdata: bytes, rclass: int = 1) -> bytes:
    return owner + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def a_rdata(text: str) -> bytes:
    return ipaddress.ip_address(text).packed


PTR_QNAME = b"\xc0\x0c"  # a pointer to the first question's name (offset 12)


def pointer_chain(hops: int) -> bytes:
    """Answer i's owner is a pointer to answer i-1's owner, so the last one follows ``hops`` pointers."""
    body = b"\x01x\x00" + struct.pack("!HH", 1, 1)  # the question name "x" at offset 12
    previous = 12
    for _ in range(hops):
        offset = 12 + len(body)
        body += rr(struct.pack("!H", 0xC000 | previous), 1, 60, a_rdata("10.0.0.1"))
        previous = offset
    return header(an=hops) + body


def simple_response(*ips: str, ttl: int = 300) -> bytes:
    answers = b"".join(rr(PTR_QNAME, 1, ttl, a_rdata(ip)) for ip in ips)
    return header(an=len(ips)) + question() + answers


class TestValidMessages:
    def test_a_response_with_compression(self):
        msg = parse_message(simple_response("93.184.216.34", "93.184.216.35", ttl=120))
        assert msg.id == 0x1234
        assert msg.is_response
        assert msg.rcode == 0
        assert not msg.truncated
        assert [q.name for q in msg.questions] == ["www.example.com"]
        assert [(r.name, r.rtype, r.ttl, str(r.address)) for r in msg.answers] == [
            ("www.example.com", RecordType.A, 120, "93.184.216.34"),
            ("www.example.com", RecordType.A, 120, "93.184.216.35"),
        ]

    def test_query_has_no_answers_and_is_not_a_response(self):
        msg = parse_message(header(qr=False, an=0) + question())
        assert not msg.is_response
        assert msg.answers == ()

    def test_cname_chain_then_aaaa(self):
        data = (
            header(an=2)
            + question()
            + rr(PTR_QNAME, 5, 60, wire_name("edge.cdn.net"))
            + rr(wire_name("edge.cdn.net"), 28, 30, a_rdata("2001:db8::1"))
        )
        msg = parse_message(data)
        assert msg.answers[0].rtype is RecordType.CNAME
        assert msg.answers[0].target == "edge.cdn.net"
        assert msg.answers[1].address == ipaddress.ip_address("2001:db8::1")

    def test_cname_target_compressed_against_the_question(self):
        # "cdn" + pointer to "example.com" inside the question (offset 12 + 4 = 16).
        target = b"\x03cdn\xc0\x10"
        msg = parse_message(header(an=1) + question() + rr(PTR_QNAME, 5, 60, target))
        assert msg.answers[0].target == "cdn.example.com"

    def test_other_types_and_classes_are_skipped_by_rdlength(self):
        data = (
            header(an=4)
            + question()
            + rr(PTR_QNAME, 16, 60, b"\x05hello")  # TXT
            + rr(PTR_QNAME, 15, 60, b"\x00\x0a" + wire_name("mx.example.com"))  # MX
            + rr(PTR_QNAME, 1, 60, a_rdata("10.0.0.1"), rclass=3)  # CHAOS class A
            + rr(PTR_QNAME, 1, 60, a_rdata("10.0.0.2"))
        )
        msg = parse_message(data)
        assert [str(r.address) for r in msg.answers] == ["10.0.0.2"]

    def test_nxdomain(self):
        msg = parse_message(header(rcode=3) + question("nope.example"))
        assert msg.is_nxdomain
        assert msg.rcode == 3

    def test_names_are_lower_cased_and_odd_bytes_escaped(self):
        data = header(qd=1, an=0) + b"\x03WwW\x04a.b\xff\x00" + struct.pack("!HH", 1, 1)
        assert parse_message(data).questions[0].name == "www.a\\.b\\255"

    def test_dot_inside_a_label_is_escaped(self):
        data = header(qd=1, an=0) + b"\x03a.b\x03com\x00" + struct.pack("!HH", 1, 1)
        assert parse_message(data).questions[0].name == "a\\.b.com"

    def test_ttl_with_top_bit_set_is_zero(self):
        # RFC 2181 §8: "values with the most significant bit set ... treated as zero".
        msg = parse_message(header(an=1) + question() + rr(PTR_QNAME, 1, 0x80000001, a_rdata("1.2.3.4")))
        assert msg.answers[0].ttl == 0

    def test_root_name(self):
        msg = parse_message(header() + question("."))
        assert msg.questions[0].name == "."

    def test_header_flags(self):
        msg = parse_message(header(flags=0x0400 | 0x0200) + question())
        assert msg.authoritative and msg.tc and msg.recursion_desired and msg.recursion_available
        assert msg.opcode == 0

    def test_name_of_exactly_255_octets_is_accepted(self):
        labels = ["a" * 63, "b" * 63, "c" * 63, "d" * 61]  # 4 + 63*3 + 61 + 1 = 255 octets
        name = ".".join(labels)
        assert len(name) == 253
        assert parse_message(header(an=0) + question(name)).questions[0].name == name

    def test_ten_pointer_hops_are_accepted(self):
        msg = parse_message(pointer_chain(10))
        assert len(msg.answers) == 10
        assert {r.name for r in msg.answers} == {"x"}


class TestTruncation:
    """Data that ends before the counts are met gives ``truncated=True``, never an error."""

    @pytest.mark.parametrize(
        "cut",
        [pytest.param(n, id=f"cut-{n}") for n in (-1, -4, -10, -16)],
    )
    def test_cut_inside_last_record_keeps_complete_records(self, cut):
        data = simple_response("1.1.1.1", "2.2.2.2")[:cut]
        msg = parse_message(data)
        assert msg.truncated
        assert [str(r.address) for r in msg.answers] == ["1.1.1.1"]

    def test_ancount_lies_upwards(self):
        data = header(an=9) + question() + rr(PTR_QNAME, 1, 60, a_rdata("1.1.1.1"))
        msg = parse_message(data)
        assert msg.truncated and msg.ancount == 9
        assert len(msg.answers) == 1

    def test_qdcount_lies_upwards(self):
        msg = parse_message(header(qd=3, an=1) + question())
        assert msg.truncated
        assert len(msg.questions) == 1 and msg.answers == ()

    def test_answers_beyond_the_cap_are_not_read(self):
        ips = [f"10.0.0.{i}" for i in range(MAX_ANSWERS + 5)]
        msg = parse_message(simple_response(*ips))
        assert msg.truncated
        assert len(msg.answers) == MAX_ANSWERS

    def test_header_only_response(self):
        msg = parse_message(header(qd=0, an=0))
        assert msg.questions == () and msg.answers == () and not msg.truncated


MALFORMED = {
    "empty": b"",
    "short-header": b"\x12\x34\x81\x80\x00\x01",
    "qdcount-above-cap": header(qd=11) + question() * 11,
    "label-type-01": header() + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01",
    "label-type-10": header() + b"\x80\x00\x00\x01\x00\x01",
    "name-over-255-octets": header() + (b"\x3f" + b"a" * 63) * 4 + b"\x00\x00\x01\x00\x01",
    "pointer-into-header": header() + b"\xc0\x02\x00\x01\x00\x01",
    "pointer-to-itself": header() + b"\xc0\x0c\x00\x01\x00\x01",
    "pointer-forward": header(qd=2) + b"\xc0\x12\x00\x01\x00\x01" + question(),
    # A skipped TXT record's rdata at offset 45 holds "a" + a pointer to 49, where the next
    # record's owner name is a pointer to 45: 49 -> 45 -> 49.
    "pointer-loop": (
        header(an=2)
        + question()
        + rr(PTR_QNAME, 16, 60, b"\x01a\xc0\x31")
        + rr(b"\xc0\x2d", 1, 60, a_rdata("1.2.3.4"))
    ),
    "eleven-pointer-hops": pointer_chain(11),
    "a-rdlength-5": header(an=1) + question() + rr(PTR_QNAME, 1, 60, b"\x01\x02\x03\x04\x05"),
    "aaaa-rdlength-4": header(an=1) + question() + rr(PTR_QNAME, 28, 60, b"\x01\x02\x03\x04"),
    "cname-rdlength-too-long": header(an=1) + question() + rr(PTR_QNAME, 5, 60, wire_name("a.b") + b"\x00"),
    "cname-name-runs-past-rdata": (
        header(an=1) + question() + PTR_QNAME + struct.pack("!HHIH", 5, 1, 60, 2) + b"\x03abc\x00"
    ),
}


class TestMalformed:
    @pytest.mark.parametrize(("data"), list(MALFORMED.values()), ids=list(MALFORMED))
    def test_rejected_with_typed_error(self, data):
        with pytest.raises(DnsParseError) as info:
            parse_message(data)
        assert info.value.reason
        assert "offset" in str(info.value)

    @pytest.mark.parametrize(
        ("name", "reason"),
        [
            ("short-header", "header"),
            ("qdcount-above-cap", "qdcount"),
            ("label-type-01", "label_type"),
            ("name-over-255-octets", "name_length"),
            ("pointer-into-header", "pointer_header"),
            ("pointer-to-itself", "pointer_direction"),
            ("pointer-forward", "pointer_direction"),
            ("pointer-loop", "pointer_direction"),
            ("eleven-pointer-hops", "pointer_hops"),
            ("a-rdlength-5", "rdata"),
            ("cname-name-runs-past-rdata", "rdata"),
        ],
    )
    def test_reason_codes(self, name, reason):
        with pytest.raises(DnsParseError) as info:
            parse_message(MALFORMED[name])
        assert info.value.reason == reason

    def test_loop_and_forward_are_told_apart(self):
        with pytest.raises(DnsParseError, match="loops"):
            parse_message(MALFORMED["pointer-loop"])
        with pytest.raises(DnsParseError, match="points forward"):
            parse_message(MALFORMED["pointer-forward"])


def _parse_or_typed_error(data: bytes) -> None:
    try:
        msg = parse_message(data)
    except DnsParseError:
        return
    assert len(msg.questions) <= 10 and len(msg.answers) <= MAX_ANSWERS
    for record in msg.answers:
        assert len(record.name) <= 253 * 4  # escaped text may be longer than 253, never unbounded
        assert 0 <= record.ttl < 2**31


FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = [
    simple_response("1.2.3.4", "5.6.7.8"),
    header(an=2) + question() + rr(PTR_QNAME, 5, 60, b"\x03cdn\xc0\x10") + rr(PTR_QNAME, 28, 5, bytes(16)),
    header(rcode=3) + question("x.y.z"),
]


class TestFuzz:
    @FUZZ
    @given(st.binary(max_size=600))
    def test_random_bytes(self, data):
        _parse_or_typed_error(data)

    @FUZZ
    @given(st.binary(min_size=12, max_size=600).map(lambda b: header(qd=1, an=3)[:4] + b[4:]))
    def test_random_bodies_behind_a_plausible_header(self, data):
        _parse_or_typed_error(data)

    @FUZZ
    @given(
        st.sampled_from(SEEDS),
        st.lists(st.tuples(st.integers(0, 599), st.integers(0, 255)), max_size=8),
        st.integers(0, 600),
    )
    def test_mutated_valid_messages(self, seed, flips, cut):
        data = bytearray(seed)
        for index, value in flips:
            if index < len(data):
                data[index] = value
        _parse_or_typed_error(bytes(data[:cut]))


class TestScapyOracle:
    """Messages built by scapy (an independent encoder, with compression) parse to the same values."""

    @settings(max_examples=60, deadline=None)
    @given(
        st.lists(st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True), min_size=1, max_size=4),
        st.lists(st.ip_addresses(), min_size=1, max_size=5, unique=True),
        st.integers(0, 2**31 - 1),
        st.booleans(),
    )
    def test_cname_and_address_records(self, labels, ips, ttl, compress):
        from scapy.layers.dns import DNS, DNSQR, DNSRR

        qname = ".".join(labels)
        target = "edge." + qname
        answers = [DNSRR(rrname=qname, type="CNAME", ttl=ttl, rdata=target)]
        answers += [
            DNSRR(rrname=target, type="A" if ip.version == 4 else "AAAA", ttl=ttl, rdata=str(ip))
            for ip in ips
        ]
        packet = DNS(id=99, qr=1, qd=DNSQR(qname=qname), an=answers)
        msg = parse_message(bytes(packet.compress() if compress else packet))
        assert msg.questions[0].name == qname
        assert msg.answers[0].target == target
        assert [r.address for r in msg.answers[1:]] == ips
        assert all(r.ttl == ttl for r in msg.answers)
        assert {r.name for r in msg.answers[1:]} == {target}
