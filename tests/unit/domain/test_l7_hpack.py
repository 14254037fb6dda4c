"""HPACK decoder (RFC 7541): tables, Huffman, the RFC's examples, caps, the hpack library as oracle."""

import hpack
import pytest
from hpack.huffman import HuffmanEncoder
from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH
from hpack.table import HeaderTable
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_domain.l7 import HpackDecoder, HpackError
from sentinel_domain.l7._hpack import STATIC_TABLE
from sentinel_domain.l7._huffman import CODE_LENGTHS, code_of, huffman_decode

_HUFFMAN = HuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH)


def test_static_table_is_rfc_7541_appendix_a() -> None:
    assert tuple(HeaderTable.STATIC_TABLE) == STATIC_TABLE
    assert len(STATIC_TABLE) == 61


def test_huffman_code_is_rfc_7541_appendix_b() -> None:
    assert list(CODE_LENGTHS) == list(REQUEST_CODES_LENGTH)
    assert [code_of(s)[0] for s in range(257)] == list(REQUEST_CODES)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_huffman_round_trip(data: bytes) -> None:
    assert huffman_decode(_HUFFMAN.encode(data)) == data


HUFFMAN_ERRORS = {
    "padding longer than 7 bits": _HUFFMAN.encode(b"a") + b"\xff",
    "padding not all ones": bytes([0b00011000]),  # 'a' (00011) then 000 padding
    "EOS symbol inside": b"\xff\xff\xff\xfc",  # 30 one-bits = EOS, then 2 padding bits
}


@pytest.mark.parametrize("data", HUFFMAN_ERRORS.values(), ids=HUFFMAN_ERRORS.keys())
def test_huffman_errors(data: bytes) -> None:
    with pytest.raises(HpackError):
        huffman_decode(data)


# RFC 7541 Appendix C.3 (no Huffman) and C.4 (Huffman): three requests on one connection.
RFC_REQUESTS = [
    [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b":authority", b"www.example.com")],
    [
        (b":method", b"GET"),
        (b":scheme", b"http"),
        (b":path", b"/"),
        (b":authority", b"www.example.com"),
        (b"cache-control", b"no-cache"),
    ],
    [
        (b":method", b"GET"),
        (b":scheme", b"https"),
        (b":path", b"/index.html"),
        (b":authority", b"www.example.com"),
        (b"custom-key", b"custom-value"),
    ],
]
RFC_BLOCKS = {
    "C.3 without Huffman": [
        "828684410f7777772e6578616d706c652e636f6d",
        "828684be58086e6f2d6361636865",
        "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565",
    ],
    "C.4 with Huffman": [
        "828684418cf1e3c2e5f23a6ba0ab90f4ff",
        "828684be5886a8eb10649cbf",
        "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
    ],
}


@pytest.mark.parametrize("blocks", RFC_BLOCKS.values(), ids=RFC_BLOCKS.keys())
def test_rfc_7541_appendix_c_examples(blocks: list[str]) -> None:
    decoder = HpackDecoder()
    for block, expected in zip(blocks, RFC_REQUESTS, strict=True):
        assert decoder.decode(bytes.fromhex(block)) == expected
    assert decoder.table_size == 164  # the RFC's final dynamic table size


_HEADER = st.tuples(
    st.sampled_from([":path", ":method", "content-type", "x-custom", "user-agent", "grpc-timeout"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=300),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_HEADER, max_size=8), max_size=6), st.booleans(), st.sampled_from([256, 4096]))
def test_hpack_library_oracle(blocks: list[list[tuple[str, str]]], huffman: bool, table_size: int) -> None:
    """Whatever the hpack encoder emits (dynamic table, evictions, size updates), we decode it back."""
    encoder = hpack.Encoder()
    encoder.header_table_size = table_size
    ours = HpackDecoder(max_header_list_size=1 << 20)
    theirs = hpack.Decoder()
    for headers in blocks:
        block = encoder.encode(headers, huffman=huffman)
        decoded = ours.decode(block)
        assert decoded == [(n.encode(), v.encode()) for n, v in headers]
        assert [(n.encode(), v.encode()) for n, v in theirs.decode(block)] == decoded


def test_literal_without_indexing_and_never_indexed_do_not_touch_the_table() -> None:
    decoder = HpackDecoder()
    # 0x00 literal without indexing, new name; 0x10 never indexed, new name (RFC 7541 §6.2.2, §6.2.3).
    block = b"\x00\x01a\x01b" + b"\x10\x01c\x01d"
    assert decoder.decode(block) == [(b"a", b"b"), (b"c", b"d")]
    assert decoder.table_size == 0


def test_entry_larger_than_the_table_empties_it() -> None:
    decoder = HpackDecoder(max_table_size=64)
    decoder.decode(b"\x40\x01a\x01b")  # 34 octets
    assert decoder.table_size == 34
    decoder.decode(b"\x40\x01a" + b"\x1f" + b"x" * 31)  # 1 + 31 + 32 = 64: fits exactly, evicts
    assert decoder.table_size == 64
    decoder.decode(b"\x40\x01a\x20" + b"x" * 32)  # 65 octets: table emptied, not added
    assert decoder.table_size == 0
    with pytest.raises(HpackError, match="beyond the tables"):
        decoder.decode(b"\xbe")  # index 62 no longer exists


def test_size_update_evicts() -> None:
    decoder = HpackDecoder()
    decoder.decode(b"\x40\x01a\x01b")
    assert decoder.decode(b"\x20") == []  # size update to 0
    assert decoder.table_size == 0


ERRORS = {
    "index 0": b"\x80",
    "index beyond the tables": b"\xff\x00",  # 127 + 0
    "size update above the limit": b"\x3f\xe2\x1f",  # 31 + 4066 = 4097
    "size update after a field": b"\x82\x20",
    "integer too long": b"\xff\xff\xff\xff\xff\xff\xff\x01",
    "string longer than the block": b"\x40\x05ab",
    "truncated integer": b"\xff",
    "name index beyond the tables": b"\x7f\x7f\x01a",
    "Huffman string with EOS": b"\x00\x84\xff\xff\xff\xfc\x01a",
}


@pytest.mark.parametrize("block", ERRORS.values(), ids=ERRORS.keys())
def test_malformed_blocks_raise(block: bytes) -> None:
    with pytest.raises(HpackError):
        HpackDecoder().decode(block)


def integer(value: int, prefix_bits: int, first: int = 0) -> bytes:
    """RFC 7541 §5.1 encoding, the first byte's high bits taken from ``first``."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out, value = bytearray([first | limit]), value - limit
    while value >= 128:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes([*out, value])


def test_integer_helper_matches_the_rfc_example() -> None:
    assert integer(1337, 5) == bytes([31, 154, 10])  # RFC 7541 C.1.2


def test_hpack_bomb_is_stopped_by_the_header_list_cap() -> None:
    """One 4 KiB table entry referenced 1000 times would decode to 4 MB: the cap stops it."""
    decoder = HpackDecoder(max_header_list_size=16384)
    decoder.decode(b"\x40\x01x" + integer(4000, 7) + b"y" * 4000)
    with pytest.raises(HpackError, match="exceeds 16384"):
        decoder.decode(b"\xbe" * 1000)


def test_huge_declared_string_is_refused_before_reading() -> None:
    with pytest.raises(HpackError, match="exceeds the header list cap"):
        HpackDecoder(max_header_list_size=100).decode(b"\x00\x7f\xe1\x07")  # name of 1000 bytes


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=512))
def test_random_blocks_raise_only_hpack_error(block: bytes) -> None:
    decoder = HpackDecoder()
    try:
        fields = decoder.decode(block)
    except HpackError:
        return
    assert all(isinstance(n, bytes) and isinstance(v, bytes) for n, v in fields)
    assert decoder.table_size <= decoder.max_table_size
