"""The ring-event decoder never raises on bad records: it counts them."""

from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_adapters.ebpf import codec

GOOD = codec.PACKET_EVENT.pack(1, 1, 0, 0, 0, 2, 0, 0, 0, 1, 2, 6, 0, 1, 0, 5, 0, 0)


def test_malformed_records_are_counted_and_skipped() -> None:
    stats = codec.DecodeStats()
    bad_type = GOOD[:45] + bytes([99]) + GOOD[46:]
    events = codec.decode_packet_events([GOOD, b"short", GOOD + b"x", bad_type, b""], stats)
    assert len(events) == 1
    assert (events[0].rule_id, events[0].protocol, events[0].event_type) == (5, 6, 0)
    assert (stats.decoded, stats.wrong_size, stats.unknown_type) == (1, 3, 1)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=120), max_size=20))
def test_arbitrary_records_never_raise(records: list[bytes]) -> None:
    stats = codec.DecodeStats()
    events = codec.decode_packet_events(records, stats)
    assert stats.decoded + stats.wrong_size + stats.unknown_type == len(records)
    assert len(events) == stats.decoded


def test_metadata_decoding() -> None:
    meta = codec.XDP_META.pack(7, 2, 1, codec.META_PRESENT, 6, 14, 34, 1000, 80)
    assert codec.decode_xdp_meta(meta) == (7, 2, 1, 1)
    assert codec.decode_xdp_meta(codec.XDP_META.pack(7, 2, 1, 0, 0, 0, 0, 0, 0)) is None
    assert codec.decode_xdp_meta(b"\x01") is None
