"""tc_dns through BPF_PROG_TEST_RUN: what is captured, how it is capped, how it is counted.

Every case runs one frame through the ingress (or egress) program, then reads the ring through
BpfDnsSource and the counters through it too. The program never drops: every run returns
TC_ACT_UNSPEC. (The XDP-metadata path needs a real veth: see tests/integration.)
"""

import ipaddress
import struct
from collections.abc import Iterator

import pytest

from sentinel_adapters.ebpf import codec, codec_dns
from sentinel_adapters.ebpf.dns_source import EGRESS_PROGRAM, INGRESS_PROGRAM, PROGRAM, BpfDnsSource
from sentinel_adapters.ebpf.frames import build_frame
from sentinel_adapters.ebpf.loader import BpfObject
from sentinel_adapters.ebpf.prog_run import prog_test_run
from sentinel_adapters.ebpf.ringbuf import RingBufferReader
from sentinel_domain.common import PacketHeader, Protocol
from sentinel_domain.dns import parse_message
from sentinel_ports.dns_source import DnsCapture, DnsDirection, DnsTransport

A = ipaddress.ip_address
TC_ACT_UNSPEC = 0xFFFFFFFF
CLIENT4, SERVER4, CLIENT6, SERVER6 = "192.0.2.10", "192.0.2.53", "2001:db8::10", "2001:db8::53"


def qname(name: str) -> bytes:
    return b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"


def dns_query(name: str, ident: int = 0x1234, qtype: int = 1) -> bytes:
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + qname(name) + struct.pack("!HH", qtype, 1)


def dns_response(name: str, addresses: list[str], ident: int = 0x1234) -> bytes:
    header = struct.pack("!HHHHHH", ident, 0x8180, 1, len(addresses), 0, 0)
    answers = b"".join(struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + A(a).packed for a in addresses)
    return header + qname(name) + struct.pack("!HH", 1, 1) + answers


class Lab:
    def __init__(self) -> None:
        self.obj = BpfObject.load_bundled(PROGRAM)
        self.source = BpfDnsSource(self.obj)

    def run(self, frame: bytes, egress: bool = False) -> tuple[list[DnsCapture], dict[str, int]]:
        self.source.read(0)
        before = self.source.counters()
        program = EGRESS_PROGRAM if egress else INGRESS_PROGRAM
        assert prog_test_run(self.obj.program_fd(program), frame).retval == TC_ACT_UNSPEC  # never drops
        after = self.source.counters()
        return self.source.read(0), {k: after[k] - before[k] for k in after if after[k] != before[k]}

    def close(self) -> None:
        self.source.close()
        self.obj.close()


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    subject = Lab()
    yield subject
    subject.close()


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes, **kw: object) -> bytes:
    return build_frame(PacketHeader(A(src), A(dst), Protocol.UDP, sport, dport), payload, **kw)  # type: ignore[arg-type]


def tcp(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    return build_frame(PacketHeader(A(src), A(dst), Protocol.TCP, sport, dport), payload)


def patched(data: bytes, offset: int, new: bytes) -> bytes:
    """``data`` with the bytes at ``offset`` replaced by ``new``."""
    return data[:offset] + new + data[offset + len(new) :]


QUERY = dns_query("www.example.test")
RESPONSE = dns_response("www.example.test", ["198.51.100.80", "198.51.100.81"])
BIG = dns_response("big.example.test", [f"198.51.100.{i}" for i in range(150)])  # 2,434 bytes
MEDIUM = dns_response("mid.example.test", [f"198.51.100.{i}" for i in range(20)])  # 354 bytes
EMITTED = {"inspected": 1, "events_emitted": 1}

CASES = {
    # name: (frame, egress?, expected (direction, transport, message, message_length) or None, counters)
    "UDP query, v4": (
        udp(CLIENT4, SERVER4, 40000, 53, QUERY),
        False,
        (DnsDirection.QUERY, DnsTransport.UDP, QUERY, len(QUERY)),
        EMITTED,
    ),
    "UDP response, v6, egress": (
        udp(SERVER6, CLIENT6, 53, 40000, RESPONSE),
        True,
        (DnsDirection.RESPONSE, DnsTransport.UDP, RESPONSE, len(RESPONSE)),
        EMITTED,
    ),
    "TCP query: the length prefix is not part of the message": (
        tcp(CLIENT4, SERVER4, 40001, 53, struct.pack("!H", len(QUERY)) + QUERY),
        False,
        (DnsDirection.QUERY, DnsTransport.TCP, QUERY, len(QUERY)),
        EMITTED,
    ),
    "TCP response, v6": (
        tcp(SERVER6, CLIENT6, 53, 40001, struct.pack("!H", len(RESPONSE)) + RESPONSE),
        False,
        (DnsDirection.RESPONSE, DnsTransport.TCP, RESPONSE, len(RESPONSE)),
        EMITTED,
    ),
    "TCP message longer than its segment: the segment's part, the prefix's length": (
        tcp(SERVER4, CLIENT4, 53, 40002, struct.pack("!H", len(BIG)) + BIG[:300]),
        False,
        (DnsDirection.RESPONSE, DnsTransport.TCP, BIG[:300], len(BIG)),
        {**EMITTED, "truncated": 1},
    ),
    "medium message: the 512-byte tier": (
        udp(SERVER4, CLIENT4, 53, 40003, MEDIUM),
        False,
        (DnsDirection.RESPONSE, DnsTransport.UDP, MEDIUM, len(MEDIUM)),
        EMITTED,
    ),
    "oversized UDP message: capped at 1232 bytes with the original length": (
        udp(SERVER4, CLIENT4, 53, 40004, BIG),
        False,
        (DnsDirection.RESPONSE, DnsTransport.UDP, BIG[: codec_dns.MAX_CAPTURE], len(BIG)),
        {**EMITTED, "truncated": 1},
    ),
    "DNS message cut inside a record: captured as it is": (
        udp(SERVER4, CLIENT4, 53, 40005, RESPONSE[:-6]),
        False,
        (DnsDirection.RESPONSE, DnsTransport.UDP, RESPONSE[:-6], len(RESPONSE) - 6),
        EMITTED,
    ),
    "VLAN-tagged query": (
        udp(CLIENT4, SERVER4, 40006, 53, QUERY, vlan_ids=(300,)),
        False,
        (DnsDirection.QUERY, DnsTransport.UDP, QUERY, len(QUERY)),
        EMITTED,
    ),
    "other UDP port: ignored": (udp(CLIENT4, SERVER4, 40000, 5353, QUERY), False, None, {}),
    "empty UDP datagram to 53: not a message": (udp(CLIENT4, SERVER4, 40000, 53, b""), False, None, {}),
    "TCP segment without payload (padded bare ACK): not a message": (
        tcp(CLIENT4, SERVER4, 40001, 53, b""),
        False,
        None,
        {},
    ),
    "TCP segment too short for a length prefix": (
        tcp(CLIENT4, SERVER4, 40001, 53, b"\x00"),
        False,
        None,
        {"not_a_message": 1},
    ),
    "UDP length beyond the IP packet: error": (
        patched(udp(CLIENT4, SERVER4, 40000, 53, QUERY), 38, struct.pack("!H", 900)),
        False,
        None,
        {"errors": 1},
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_capture_table(lab: Lab, name: str) -> None:
    data, egress, expected, counters = CASES[name]
    captures, changed = lab.run(data, egress)
    assert changed == {"seen": 1, **counters}
    if expected is None:
        assert captures == []
        return
    direction, transport, message, length = expected
    [c] = captures
    assert (c.direction, c.transport, c.message, c.message_length, c.egress) == (
        direction,
        transport,
        message,
        length,
        egress,
    )
    assert c.truncated == (len(message) < length)
    assert c.vlan_id == (300 if "VLAN" in name else 0)
    assert (c.src_port == 53) == (direction is DnsDirection.RESPONSE)


def test_captured_messages_parse_as_dns(lab: Lab) -> None:
    [query], _ = lab.run(udp(CLIENT4, SERVER4, 40000, 53, QUERY))
    [response], _ = lab.run(tcp(SERVER6, CLIENT6, 53, 40001, struct.pack("!H", len(RESPONSE)) + RESPONSE))
    assert parse_message(query.message).questions[0].name == "www.example.test"
    parsed = parse_message(response.message)
    assert parsed.is_response and [str(r.address) for r in parsed.answers] == [
        "198.51.100.80",
        "198.51.100.81",
    ]
    [cut], _ = lab.run(udp(SERVER4, CLIENT4, 53, 40005, RESPONSE[:-6]))
    assert parse_message(cut.message).truncated  # the parser sees the cut, the kernel copied it


def test_record_tiers_match_the_message_size() -> None:
    with BpfObject.load_bundled(PROGRAM) as obj:
        ring = RingBufferReader(obj.map("dns_events").fd, obj.map("dns_events").max_entries)
        sizes = {}
        for message in (QUERY, MEDIUM, BIG):
            prog_test_run(obj.program_fd(INGRESS_PROGRAM), udp(SERVER4, CLIENT4, 53, 40000, message))
            [record] = ring.read_batch()
            sizes[len(message)] = len(record)
        ring.close()
    assert sizes == {len(QUERY): 192, len(MEDIUM): 576, len(BIG): 1296}


def test_ring_accounting_under_a_paused_consumer_flood(lab: Lab) -> None:
    """Nobody reads while N messages arrive: emitted + skipped + reserve_failed + copy_failed =
    inspected, and every emitted record is then read back."""
    flood = 3_000  # 192-byte records: the 256 KiB ring's 75 % mark is hit after ~980
    lab.source.read(0)
    before = lab.source.counters()
    result = prog_test_run(
        lab.obj.program_fd(INGRESS_PROGRAM), udp(CLIENT4, SERVER4, 1, 53, QUERY), repeat=flood
    )
    assert result.retval == TC_ACT_UNSPEC
    after = lab.source.counters()
    d = {k: after[k] - before[k] for k in after}
    assert d["inspected"] == flood and d["events_skipped"] > 0
    assert d["events_emitted"] + d["events_skipped"] + d["reserve_failed"] + d["copy_failed"] == flood
    assert d["events_dropped"] == d["events_skipped"] + d["reserve_failed"] + d["copy_failed"]
    consumed = 0
    for _ in range(100):  # bounded: the ring holds at most ~1,300 records
        batch = lab.source.read(0)
        if not batch:
            break
        consumed += len(batch)
    assert consumed == d["events_emitted"]


def test_decoder_counts_bad_records_and_never_raises() -> None:
    stats = codec.DecodeStats()
    good = udp_record(QUERY)
    bad_size = good[:100]
    lying_length = good[:46] + struct.pack("<H", 129) + good[48:]  # more than the 128-byte tier
    bad_direction = good[:48] + b"\x07" + good[49:]
    records = codec_dns.decode_dns_events([good, bad_size, lying_length, bad_direction, b""], stats)
    assert [r.message for r in records] == [QUERY]
    assert (stats.decoded, stats.wrong_size, stats.unknown_type, stats.by_reason) == (
        1,
        2,
        1,
        {"captured_len": 1},
    )


def udp_record(message: bytes) -> bytes:
    header = codec_dns.DNS_EVENT.pack(
        1, 1, 0, 0, 0, 2, 0, 0, 0, 40000, 53, len(message), len(message), 0, 0, 0, 1, 0
    )
    return header + message + bytes(codec_dns.TIER_SMALL - len(message))
