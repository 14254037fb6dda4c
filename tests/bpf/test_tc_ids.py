"""tc_ids through BPF_PROG_TEST_RUN: prefilter, payload capture, sampling, parsing, ring accounting.

Every case runs a real frame through the verified program and reads the event it wrote to the
ring. Test runs cannot hand a SCHED_CLS program XDP metadata (proved below), so the metadata
path is covered live in tests/integration/test_tc_ids_live.py.
"""

import ctypes
import ipaddress
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_adapters.ebpf import _libbpf as bpf
from sentinel_adapters.ebpf import codec_payload as cp
from sentinel_adapters.ebpf.frames import build_frame
from sentinel_adapters.ebpf.ids_map import BpfIdsPrefilter
from sentinel_adapters.ebpf.prog_run import prog_test_run
from sentinel_adapters.ebpf.ringbuf import RingBufferReader
from sentinel_domain.common import PacketHeader, Protocol, address_to_words
from sentinel_domain.ids import ANY_PORT, PrefilterKey
from sentinel_ports.ids_prefilter import PrefilterOverride

A = ipaddress.ip_address
TC_ACT_UNSPEC = 0xFFFFFFFF  # -1 as the kernel reports retval
TCP, UDP, ICMP = Protocol.TCP, Protocol.UDP, Protocol.ICMP
CLIENT, SERVER = "198.18.9.2", "198.18.9.1"
KEYS = [PrefilterKey(TCP, 80), PrefilterKey(UDP, ANY_PORT), PrefilterKey(ICMP, 0), PrefilterKey(TCP, 8443)]


@dataclass
class Harness:
    ids: BpfIdsPrefilter
    reader: RingBufferReader

    def run(self, frame: bytes, egress: bool = False, repeat: int = 1) -> list[cp.IdsRecord]:
        """Run ``frame``; the decoded events it produced (the ring is drained first)."""
        self.reader.read_batch()
        result = prog_test_run(self.ids.prog_fd(egress), frame, repeat=repeat)
        assert result.retval == TC_ACT_UNSPEC  # tc_ids never changes a verdict
        stats = cp.PayloadDecodeStats()
        records = cp.decode_ids_records(self.reader.read_batch(), stats)
        assert stats.decoded == len(records) and stats.as_dict()["bad_length"] == 0
        return records

    def delta(self, frame: bytes, **kwargs: object) -> tuple[list[cp.IdsRecord], dict[str, int]]:
        before = self.ids.counters()
        records = self.run(frame, **kwargs)  # type: ignore[arg-type]
        after = self.ids.counters()
        return records, {k: after[k] - before[k] for k in after if after[k] != before[k]}


@pytest.fixture(scope="module")
def loaded() -> Iterator[Harness]:
    """One verified object for the module (loading it is the slow part); tests reset its settings."""
    ids = BpfIdsPrefilter.standalone()
    ring = ids.bpf_object.map("ids_events")
    reader = RingBufferReader(ring.fd, ring.max_entries)
    try:
        yield Harness(ids, reader)
    finally:
        reader.close()
        ids.close()


@pytest.fixture
def tc(loaded: Harness) -> Harness:
    loaded.ids.install(KEYS)
    loaded.ids.configure(cp.IDS_CAPTURE_DEFAULT)
    loaded.reader.read_batch()
    return loaded


def pkt(
    sport: int | None, dport: int | None, proto: int = TCP, src: str = CLIENT, dst: str = SERVER
) -> PacketHeader:
    return PacketHeader(A(src), A(dst), proto, sport, dport)


def tcp_with_options(payload: bytes, option_words: int = 3, flags: int = 0x18) -> bytes:
    """An IPv4/TCP frame whose header carries ``option_words`` 4-byte NOP words (doff > 5)."""
    tcp = struct.pack("!HHIIBBHHH", 40000, 80, 1, 1, (5 + option_words) << 4, flags, 65535, 0, 0)
    tcp += b"\x01" * 4 * option_words + payload
    addresses = A(CLIENT).packed + A(SERVER).packed
    ip = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0) + addresses
    return bytes.fromhex("020000000002020000000001") + b"\x08\x00" + ip + tcp


def expected_hash(p: PacketHeader) -> int:
    return cp.flow_hash(
        address_to_words(p.src), address_to_words(p.dst), p.src_port or 0, p.dst_port or 0, p.protocol
    )


# -- prefilter: which key lets a packet through ---------------------------------------------------

HITS = {
    "dst port": (pkt(40000, 80), cp.IDS_F_MATCH_DST),
    "src port (reply)": (pkt(80, 40000, src=SERVER, dst=CLIENT), cp.IDS_F_MATCH_SRC),
    "protocol-wide udp": (pkt(5353, 12345, UDP), cp.IDS_F_MATCH_PROTO),
    "icmp port 0": (PacketHeader(A(CLIENT), A(SERVER), ICMP, icmp_type=8), cp.IDS_F_MATCH_PROTO),
    "ipv6 dst port": (pkt(40000, 8443, TCP, "2001:db8:9::2", "2001:db8:9::1"), cp.IDS_F_MATCH_DST),
}


@pytest.mark.parametrize("packet, how", HITS.values(), ids=HITS.keys())
def test_prefilter_hits_name_the_key_and_carry_the_headers(
    tc: Harness, packet: PacketHeader, how: int
) -> None:
    [event], delta = tc.delta(build_frame(packet, b"payload!"))
    assert event.flags & (cp.IDS_F_MATCH_DST | cp.IDS_F_MATCH_SRC | cp.IDS_F_MATCH_PROTO) == how
    assert (event.src_addr, event.dst_addr) == (address_to_words(packet.src), address_to_words(packet.dst))
    assert (event.src_port, event.dst_port) == (packet.src_port or 0, packet.dst_port or 0)
    assert (event.protocol, event.direction, event.payload) == (packet.protocol, cp.IDS_INGRESS, b"payload!")
    assert event.is_ipv6 == (packet.src.version == 6)
    assert not event.flags & cp.IDS_F_XDP_META  # a test run never carries XDP metadata
    assert event.flow_hash == expected_hash(packet)
    assert delta == {"seen": 1, "matched": 1, "inspected": 1, "events_emitted": 1}


MISSES = {
    "other tcp port": (build_frame(pkt(40000, 81), b"x"), "not_matched"),
    "sctp (no header we read)": (build_frame(pkt(40000, 80, 132), b"x"), "no_l4"),
    "non-first fragment": (build_frame(pkt(None, None, UDP), b"x" * 16, fragment_offset=64), "no_l4"),
    "arp": (bytes.fromhex("ffffffffffff020000000001") + b"\x08\x06" + bytes(46), "not_ip"),
    "ipv4 length lies": (bytes.fromhex("020000000002020000000001") + b"\x08\x00\x45" + bytes(45), "errors"),
    "empty payload": (build_frame(pkt(40000, 80)), "empty"),
}


@pytest.mark.parametrize("frame, counter", MISSES.values(), ids=MISSES.keys())
def test_prefilter_misses_emit_nothing_and_say_why(tc: Harness, frame: bytes, counter: str) -> None:
    events, delta = tc.delta(frame)
    assert events == []
    assert delta == ({"seen": 1, counter: 1} | ({"matched": 1} if counter == "empty" else {}))


def test_vlan_tagged_frames_report_the_inner_vlan(tc: Harness) -> None:
    [event] = tc.run(build_frame(pkt(40000, 80), b"tagged", vlan_ids=(100, 200)))
    assert (event.vlan_id, event.payload) == (200, b"tagged")
    assert event.flags & cp.IDS_F_VLAN


def test_egress_program_reports_the_egress_direction(tc: Harness) -> None:
    [event] = tc.run(build_frame(pkt(80, 40000, src=SERVER, dst=CLIENT), b"HTTP/1.1 200 OK"), egress=True)
    assert (event.direction, event.payload) == (cp.IDS_EGRESS, b"HTTP/1.1 200 OK")


def test_empty_payloads_are_sent_when_configured(tc: Harness) -> None:
    tc.ids.configure(capture_bytes=64, include_empty=True)
    [event] = tc.run(build_frame(pkt(40000, 80)))  # a bare SYN, padded to 60 bytes on the wire
    assert (event.payload_len, event.payload, event.tcp_flags) == (0, b"", 0x02)


# -- payload capture ----------------------------------------------------------------------------

CAPTURES = {
    # name: (capture setting, payload size, expected captured size)
    "smaller than the cap": (64, 10, 10),
    "exactly the cap": (64, 64, 64),
    "cut at the cap": (64, 1000, 64),
    "one byte": (1, 50, 1),
    "maximum record": (cp.IDS_CAPTURE_MAX, 3000, cp.IDS_CAPTURE_MAX),
}


@pytest.mark.parametrize("capture, size, expected", CAPTURES.values(), ids=CAPTURES.keys())
def test_payload_is_captured_up_to_the_configured_size(
    tc: Harness, capture: int, size: int, expected: int
) -> None:
    tc.ids.configure(capture_bytes=capture)
    body = bytes(i * 7 & 0xFF for i in range(size))
    [event], delta = tc.delta(build_frame(pkt(40000, 80), body))
    assert (event.payload, event.payload_len) == (body[:expected], size)
    assert event.truncated == (expected < size) == bool(event.flags & cp.IDS_F_TRUNCATED)
    assert delta.get("truncated", 0) == int(expected < size)


def test_payload_starts_after_tcp_options_and_ends_with_the_ip_packet(tc: Harness) -> None:
    # Bytes after the IP packet (Ethernet padding, trailers) are not payload.
    [event] = tc.run(tcp_with_options(b"hi", option_words=3) + b"\0" * 6)
    assert (event.payload, event.payload_len, event.tcp_flags) == (b"hi", 2, 0x18)
    [padded] = tc.run(build_frame(pkt(40000, 80), b"x"))
    assert len(build_frame(pkt(40000, 80), b"x")) == 60 and padded.payload == b"x"


def test_per_key_capture_override(tc: Harness) -> None:
    tc.ids.install(KEYS, {PrefilterKey(TCP, 8443): PrefilterOverride(capture_bytes=3)})
    [short] = tc.run(build_frame(pkt(40000, 8443), b"abcdef"))
    [full] = tc.run(build_frame(pkt(40000, 80), b"abcdef"))
    assert (short.payload, full.payload) == (b"abc", b"abcdef")


# -- sampling -----------------------------------------------------------------------------------


@pytest.mark.parametrize("every", [2, 3, 7])
def test_sampling_keeps_flows_whose_hash_is_a_multiple_of_n(tc: Harness, every: int) -> None:
    tc.ids.configure(capture_bytes=64, sample_every=every)
    flows = [pkt(20000 + i, 5000 + i % 3, UDP) for i in range(60)]
    kept = [bool(tc.run(build_frame(f, b"q"))) for f in flows]
    backwards = [pkt(f.dst_port, f.src_port, UDP, SERVER, CLIENT) for f in flows]
    replies = [bool(tc.run(build_frame(f, b"r"))) for f in backwards]
    assert kept == [expected_hash(f) % every == 0 for f in flows]
    assert replies == kept  # the hash does not depend on the direction
    assert 0 < sum(kept) < len(flows)


# -- XDP metadata cannot come from a test run -----------------------------------------------------

SK_BUFF_SIZE = 192  # struct __sk_buff on this kernel (BTF)
DATA_META_OFFSET = 140


def run_with_skb_ctx(prog_fd: int, frame: bytes, data_meta: int) -> int:
    ctx = bytearray(SK_BUFF_SIZE)
    struct.pack_into("<I", ctx, DATA_META_OFFSET, data_meta)
    ctx_buf = ctypes.create_string_buffer(bytes(ctx), SK_BUFF_SIZE)
    data_in = ctypes.create_string_buffer(frame, len(frame))
    opts = bpf.bpf_test_run_opts(
        sz=ctypes.sizeof(bpf.bpf_test_run_opts),
        data_in=ctypes.cast(data_in, ctypes.c_void_p),
        data_size_in=len(frame),
        ctx_in=ctypes.cast(ctx_buf, ctypes.c_void_p),
        ctx_size_in=SK_BUFF_SIZE,
        repeat=1,
    )
    return int(bpf.lib.bpf_prog_test_run_opts(prog_fd, ctypes.byref(opts)))


def test_a_test_run_cannot_supply_data_meta_to_a_tc_program(tc: Harness) -> None:
    frame = build_frame(pkt(40000, 80), b"x")
    assert run_with_skb_ctx(tc.ids.prog_fd(), frame, data_meta=0) == 0
    assert run_with_skb_ctx(tc.ids.prog_fd(), frame, data_meta=16) == -22  # EINVAL
    assert tc.ids.counters()["meta_used"] == 0


# -- ring accounting ----------------------------------------------------------------------------


def test_a_flood_against_a_paused_consumer_is_fully_accounted(tc: Harness) -> None:
    tc.ids.configure(capture_bytes=200)
    frame = build_frame(pkt(40000, 80), b"A" * 200)
    ring = tc.ids.bpf_object.map("ids_events")
    before = tc.ids.counters()
    flood = 40_000  # about 3 MiB of 272-byte records fit under the 75 % line
    assert prog_test_run(tc.ids.prog_fd(), frame, repeat=flood).retval == TC_ACT_UNSPEC
    after = tc.ids.counters()
    d = {k: after[k] - before[k] for k in after}
    assert d["seen"] == d["matched"] == d["inspected"] == flood
    assert d["events_skipped"] > 0
    assert d["events_emitted"] + d["events_skipped"] + d["reserve_failed"] + d["capture_failed"] == flood
    assert d["events_dropped"] == d["events_skipped"] + d["reserve_failed"] + d["capture_failed"]
    record_bytes = (cp.IDS_EVENT.size + 200 + 8 + 7) & ~7
    assert d["events_emitted"] <= ring.max_entries * 3 // 4 // record_bytes + 1
    consumed = 0
    while batch := tc.reader.read_batch():
        stats = cp.PayloadDecodeStats()
        consumed += len(cp.decode_ids_records(batch, stats))
        assert stats.decoded == len(batch)
    assert consumed == d["events_emitted"]
    assert tc.reader.pending_bytes() == 0


def test_counters_add_up_over_a_mixed_table(tc: Harness) -> None:
    tc.ids.configure(capture_bytes=64, sample_every=2)
    frames = [build_frame(p, b"x") for p, _ in HITS.values()] + [f for f, _ in MISSES.values()]
    frames += [build_frame(pkt(30000 + i, 53, UDP), b"q") for i in range(20)]
    before = tc.ids.counters()
    for frame in frames:
        tc.run(frame)
    after = tc.ids.counters()
    d = {k: after[k] - before[k] for k in after}
    assert d["seen"] == len(frames)
    assert d["seen"] == d["not_ip"] + d["errors"] + d["no_l4"] + d["not_matched"] + d["matched"]
    assert d["matched"] == d["empty"] + d["sampled_out"] + d["inspected"]
    assert d["inspected"] == d["events_emitted"] + d["events_dropped"]
    assert d["sampled_out"] > 0 and d["dropped"] == 0


# -- the decoder never raises ---------------------------------------------------------------------


def test_decoder_counts_malformed_records() -> None:
    good = cp.IDS_EVENT.pack(1, *(1, 0, 0, 0), *(2, 0, 0, 0), 3, 4, 6, 0, 0, 0x10, 1, 5, 9, 2, 0) + b"ab"
    bad_length = good + b"c"
    bad_direction = bytearray(good)
    bad_direction[45] = 7
    over = cp.IDS_EVENT.pack(1, *(1, 0, 0, 0), *(2, 0, 0, 0), 3, 4, 6, 0, 0, 0, 1, 1, 9, 2, 0) + b"ab"
    stats = cp.PayloadDecodeStats()
    records = cp.decode_ids_records([good, good[:10], bad_length, bytes(bad_direction), over], stats)
    assert [r.payload for r in records] == [b"ab"]
    assert stats.as_dict() == {"decoded": 1, "too_short": 1, "bad_length": 1, "bad_field": 2}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=140), max_size=20))
def test_decoder_never_raises_and_accounts_for_every_record(records: list[bytes]) -> None:
    stats = cp.PayloadDecodeStats()
    decoded = cp.decode_ids_records(records, stats)
    assert stats.decoded == len(decoded)
    assert sum(stats.as_dict().values()) == len(records)


def test_install_takes_every_key_shape_and_refuses_too_many(tc: Harness) -> None:
    keys = [PrefilterKey(p, port) for p in (TCP, UDP) for port in (1, 65535, None)]
    keys += [PrefilterKey(Protocol.ANY, 53), PrefilterKey(Protocol.ICMPV6, 0)]
    tc.ids.install(keys)
    assert tc.ids.keys() == frozenset(keys)
    with pytest.raises(ValueError):
        tc.ids.install([PrefilterKey(TCP, -1)])
    with pytest.raises(ValueError):
        tc.ids.install([PrefilterKey(TCP, port) for port in range(1, 16386)])
    assert tc.ids.keys() == frozenset(keys)
