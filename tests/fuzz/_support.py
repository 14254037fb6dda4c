"""What the harnesses share: invariant checks, bytes → text, bytes → a batch of ring records.

Ring records: the first byte chooses how the rest is cut, so one harness explores both the
size checks and the field checks: records of any length (length-prefixed), records of exactly
the ABI sizes (the fields are what varies), and, for payload rings, a header followed by as
many bytes as its own ``captured_len`` claims (a record that is mostly self-consistent).
"""

import struct

MAX_RECORDS = 64  # a ring batch is bounded in the adapters too; keeps one input cheap


def length_prefixed(data: bytes) -> list[bytes]:
    """Records as ``u16 little-endian length, bytes``; the last one may be short."""
    records: list[bytes] = []
    pos = 0
    while pos < len(data) and len(records) < MAX_RECORDS:
        length = int.from_bytes(data[pos : pos + 2], "little")
        pos += 2
        records.append(data[pos : pos + length])
        pos += length
    return records


def fixed_size(data: bytes, size: int) -> list[bytes]:
    """``data`` cut into ``size``-byte records (the last one may be short)."""
    return [data[i : i + size] for i in range(0, min(len(data), size * MAX_RECORDS), size)]


def self_sized(data: bytes, header: int, captured: struct.Struct, captured_at: int) -> list[bytes]:
    """A ``header``-byte header, then as many bytes as the header's captured-length field says."""
    records: list[bytes] = []
    pos = 0
    while pos < len(data) and len(records) < MAX_RECORDS:
        head = data[pos : pos + header]
        pos += len(head)
        if len(head) < header:
            records.append(head)
            break
        (want,) = captured.unpack_from(head, captured_at)
        records.append(head + data[pos : pos + want])
        pos += want
    return records


def split_records(
    data: bytes,
    sizes: tuple[int, ...],
    captured: tuple[struct.Struct, int] | None = None,
) -> list[bytes]:
    """One batch of records from ``data`` (see the module docstring); never raises."""
    if not data:
        return []
    mode, rest = data[0], data[1:]
    if mode % 3 == 0 or not rest:
        return length_prefixed(rest)
    if mode % 3 == 1 or captured is None:
        return fixed_size(rest[1:], sizes[rest[0] % len(sizes)])
    return self_sized(rest, sizes[0], *captured)


def check(condition: bool, what: str) -> None:
    """An ``assert`` that survives ``python -O``: a broken invariant is a finding, like a crash."""
    if not condition:
        raise AssertionError(what)


def as_text(data: bytes) -> str:
    """Any ``str`` a caller could hand a text parser: UTF-8 with replacement characters, or
    (first byte odd) Latin-1, which turns every byte into one code point (NUL, CR, U+0085 …)."""
    if data[:1] and data[0] & 1:
        return data[1:].decode("latin-1")
    return data[1:].decode("utf-8", "replace")
