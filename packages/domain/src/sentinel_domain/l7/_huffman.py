"""HPACK Huffman decoding (RFC 7541 §5.2 and Appendix B).

The code of Appendix B is canonical: codes are assigned in order of (bit length, symbol), so
the table below keeps only each symbol's code length (the "len in bits" column) and the codes
are rebuilt from it. Decoding walks one bit at a time with per-length first-code tables, so
the work is linear in the input and nothing can loop.
"""

from sentinel_domain.l7.errors import HpackError

EOS = 256
# Code length in bits of symbols 0x00-0xff and EOS (256), from RFC 7541 Appendix B.
CODE_LENGTHS: tuple[int, ...] = (
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,  # 0x00-0x0f
    28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,  # 0x10-0x1f
    6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,  # 0x20-0x2f
    5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,  # 0x30-0x3f
    13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,  # 0x40-0x4f
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,  # 0x50-0x5f
    15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,  # 0x60-0x6f
    6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,  # 0x70-0x7f
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,  # 0x80-0x8f
    24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,  # 0x90-0x9f
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,  # 0xa0-0xaf
    21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,  # 0xb0-0xbf
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,  # 0xc0-0xcf
    19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,  # 0xd0-0xdf
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,  # 0xe0-0xef
    26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,  # 0xf0-0xff
    30,  # EOS
)  # fmt: skip
MAX_CODE_LENGTH = 30


def _canonical_tables() -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """(first code, count, offset into symbols) per bit length, and the symbols by (length, value)."""
    symbols = tuple(sorted(range(len(CODE_LENGTHS)), key=lambda s: (CODE_LENGTHS[s], s)))
    first = [0] * (MAX_CODE_LENGTH + 2)
    count = [0] * (MAX_CODE_LENGTH + 2)
    offset = [0] * (MAX_CODE_LENGTH + 2)
    for length in CODE_LENGTHS:
        count[length] += 1
    code = index = 0
    for length in range(1, MAX_CODE_LENGTH + 1):
        first[length], offset[length] = code, index
        code = (code + count[length]) << 1
        index += count[length]
    return tuple(first), tuple(count), tuple(offset), symbols


_FIRST, _COUNT, _OFFSET, _SYMBOLS = _canonical_tables()


def code_of(symbol: int) -> tuple[int, int]:
    """(code, bit length) of ``symbol`` in the canonical code (used by tests and encoders)."""
    length = CODE_LENGTHS[symbol]
    rank = _SYMBOLS.index(symbol, _OFFSET[length], _OFFSET[length] + _COUNT[length]) - _OFFSET[length]
    return _FIRST[length] + rank, length


def huffman_decode(data: bytes) -> bytes:
    """Decode a Huffman-coded HPACK string literal.

    RFC 7541 §5.2: "A padding strictly longer than 7 bits MUST be treated as a decoding error.
    A padding not corresponding to the most significant bits of the code for the EOS symbol MUST
    be treated as a decoding error. A Huffman-encoded string literal containing the EOS symbol
    MUST be treated as a decoding error."
    """
    out = bytearray()
    code = length = 0
    for byte in data:
        for shift in range(7, -1, -1):
            code = (code << 1) | ((byte >> shift) & 1)
            length += 1
            rank = code - _FIRST[length]
            if 0 <= rank < _COUNT[length]:
                symbol = _SYMBOLS[_OFFSET[length] + rank]
                if symbol == EOS:
                    raise HpackError("Huffman string contains the EOS symbol (RFC 7541 §5.2)")
                out.append(symbol)
                code = length = 0
            elif length >= MAX_CODE_LENGTH:
                raise HpackError("invalid Huffman code (RFC 7541 Appendix B)")
    if length > 7:
        raise HpackError("Huffman padding longer than 7 bits (RFC 7541 §5.2)")
    if code != (1 << length) - 1:
        raise HpackError("Huffman padding is not a prefix of EOS (RFC 7541 §5.2)")
    return bytes(out)
