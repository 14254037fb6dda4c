"""A minimal HPACK decoder (RFC 7541) with caps on every size an attacker controls.

The decoder is an explicit object because the dynamic table lives for the whole connection:
decode every header block of one direction, in order, with the same decoder.
"""

from collections import deque

from sentinel_domain.l7._common import Reader
from sentinel_domain.l7._huffman import huffman_decode
from sentinel_domain.l7.errors import HpackError

# RFC 7541 Appendix A, indices 1-61.
STATIC_TABLE: tuple[tuple[bytes, bytes], ...] = (
    (b":authority", b""), (b":method", b"GET"), (b":method", b"POST"), (b":path", b"/"),
    (b":path", b"/index.html"), (b":scheme", b"http"), (b":scheme", b"https"), (b":status", b"200"),
    (b":status", b"204"), (b":status", b"206"), (b":status", b"304"), (b":status", b"400"),
    (b":status", b"404"), (b":status", b"500"), (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"), (b"accept-language", b""), (b"accept-ranges", b""),
    (b"accept", b""), (b"access-control-allow-origin", b""), (b"age", b""), (b"allow", b""),
    (b"authorization", b""), (b"cache-control", b""), (b"content-disposition", b""),
    (b"content-encoding", b""), (b"content-language", b""), (b"content-length", b""),
    (b"content-location", b""), (b"content-range", b""), (b"content-type", b""), (b"cookie", b""),
    (b"date", b""), (b"etag", b""), (b"expect", b""), (b"expires", b""), (b"from", b""),
    (b"host", b""), (b"if-match", b""), (b"if-modified-since", b""), (b"if-none-match", b""),
    (b"if-range", b""), (b"if-unmodified-since", b""), (b"last-modified", b""), (b"link", b""),
    (b"location", b""), (b"max-forwards", b""), (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""), (b"range", b""), (b"referer", b""), (b"refresh", b""),
    (b"retry-after", b""), (b"server", b""), (b"set-cookie", b""),
    (b"strict-transport-security", b""), (b"transfer-encoding", b""), (b"user-agent", b""),
    (b"vary", b""), (b"via", b""), (b"www-authenticate", b""),
)  # fmt: skip
ENTRY_OVERHEAD = 32  # RFC 7541 §4.1: an entry's size is name + value + 32 octets
MAX_INTEGER_BYTES = 5  # continuation bytes; 2^35 is far above any size we accept
DEFAULT_TABLE_SIZE = 4096  # RFC 9113 §6.5.2 SETTINGS_HEADER_TABLE_SIZE initial value
DEFAULT_MAX_HEADER_LIST = 16384


def decode_integer(reader: Reader, first: int, prefix_bits: int) -> int:
    """RFC 7541 §5.1 integer whose first byte (already read) is ``first``; caps continuation bytes."""
    limit = (1 << prefix_bits) - 1
    value = first & limit
    if value < limit:
        return value
    shift = 0
    for _ in range(MAX_INTEGER_BYTES):
        byte = reader.u8("HPACK integer")
        value += (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value
    raise HpackError(f"HPACK integer longer than {MAX_INTEGER_BYTES} continuation bytes", reader.pos)


class HpackDecoder:
    """Decodes header blocks of one direction of one connection.

    ``max_table_size`` is the SETTINGS_HEADER_TABLE_SIZE the decoding side announced (the encoder
    may only shrink below it); ``max_header_list_size`` caps the decoded list of every block,
    counted as RFC 9113 §6.5.2 does (name + value + 32 per field), which also stops "HPACK bombs"
    that reference one large table entry many times.
    """

    def __init__(
        self, max_table_size: int = DEFAULT_TABLE_SIZE, max_header_list_size: int = DEFAULT_MAX_HEADER_LIST
    ) -> None:
        self.max_table_size = max_table_size
        self.max_header_list_size = max_header_list_size
        self._table_size_limit = max_table_size
        self._entries: deque[tuple[bytes, bytes]] = deque()  # newest first (index 62)
        self._size = 0

    @property
    def table_size(self) -> int:
        """Current dynamic table size in RFC 7541 §4.1 octets."""
        return self._size

    def _entry(self, index: int, offset: int) -> tuple[bytes, bytes]:
        if index == 0:
            raise HpackError("header index 0 (RFC 7541 §6.1)", offset)
        if index <= len(STATIC_TABLE):
            return STATIC_TABLE[index - 1]
        dynamic = index - len(STATIC_TABLE) - 1
        if dynamic >= len(self._entries):
            raise HpackError(f"header index {index} beyond the tables (RFC 7541 §2.3.3)", offset)
        return self._entries[dynamic]

    def _evict_to(self, limit: int) -> None:
        while self._size > limit:
            name, value = self._entries.pop()
            self._size -= len(name) + len(value) + ENTRY_OVERHEAD

    def _add(self, name: bytes, value: bytes) -> None:
        size = len(name) + len(value) + ENTRY_OVERHEAD
        # §4.4: an entry larger than the table empties it and is not added (not an error).
        self._evict_to(self._table_size_limit - size if size <= self._table_size_limit else 0)
        if size <= self._table_size_limit:
            self._entries.appendleft((name, value))
            self._size += size

    def _string(self, reader: Reader, budget: int) -> bytes:
        """RFC 7541 §5.2 string literal; the raw length may not exceed ``budget``."""
        first = reader.u8("HPACK string length")
        length = decode_integer(reader, first, 7)
        if length > budget:
            raise HpackError(f"HPACK string of {length} bytes exceeds the header list cap", reader.pos)
        raw = reader.take(length, "HPACK string")
        if not first & 0x80:
            return raw
        decoded = huffman_decode(raw)
        if len(decoded) > budget:
            raise HpackError("decoded HPACK string exceeds the header list cap", reader.pos)
        return decoded

    def decode(self, block: bytes) -> list[tuple[bytes, bytes]]:
        """Decode one complete header block into (name, value) pairs, updating the dynamic table.

        Raises :class:`HpackError` (and nothing else) on any malformed block; the decoder must
        then be discarded, as the connection would be (RFC 9113 COMPRESSION_ERROR).
        """
        reader = Reader(bytes(block), HpackError)
        fields: list[tuple[bytes, bytes]] = []
        list_size = 0
        while not reader.at_end():
            offset = reader.pos
            first = reader.u8("HPACK representation")
            if first & 0x80:  # §6.1 indexed header field
                name, value = self._entry(decode_integer(reader, first, 7), offset)
            elif first & 0xE0 == 0x20:  # §6.3 dynamic table size update
                size = decode_integer(reader, first, 5)
                if fields:
                    # §4.2: the update "MUST occur at the beginning of the first header block".
                    raise HpackError("dynamic table size update after a header field", offset)
                if size > self.max_table_size:
                    raise HpackError(
                        f"table size update to {size} above the {self.max_table_size} limit", offset
                    )
                self._table_size_limit = size
                self._evict_to(size)
                continue
            else:  # §6.2 literal: with incremental indexing (01), without (0000), never indexed (0001)
                indexing = bool(first & 0x40)
                index = decode_integer(reader, first, 6 if indexing else 4)
                budget = self.max_header_list_size - list_size
                name = self._entry(index, offset)[0] if index else self._string(reader, budget)
                value = self._string(reader, budget - len(name))
                if indexing:
                    self._add(name, value)
            list_size += len(name) + len(value) + ENTRY_OVERHEAD
            if list_size > self.max_header_list_size:
                raise HpackError(f"decoded header list exceeds {self.max_header_list_size} bytes", offset)
            fields.append((name, value))
        return fields
