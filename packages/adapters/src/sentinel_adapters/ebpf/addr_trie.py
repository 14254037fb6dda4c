"""Build the address tables of ``bpf/include/sentinel/addr_trie.h`` (pure, no syscalls).

A table answers "value of the longest rule prefix containing this address" in a few array reads.
It is one u16 array cut into 256-entry chunks: chunks 0-255 are the IPv4 root and 256-511 the
IPv6 root (65,536 entries each, by the address's top 16 bits); the rest is a pool of chunks both
families draw from. An entry is a value, or ``CHUNK | c``: continue in chunk ``c`` with the next
address byte (``CHUNK | CHECK | c``: chunk ``c`` skips bytes, below). Prefixes are painted over
the entries they cover, shortest first, so every read already holds the longest match so far.

- IPv4 (DIR-16-8-8): a chunk for the third byte below a root entry, one for the fourth below
  that.
- IPv6: chunks are path-compressed. A chunk may index any later byte (``check_len // 8``); if
  that skips bytes, its header (``struct sentinel_addr_chunk``) holds the bits before that byte
  every address reaching it must share, and the match (``fallback``) of one that does not. The
  busiest heads (at least ``WIDE_MIN_PREFIXES`` prefixes below them, ``MAX_WIDE`` at most) get a
  *wide* chunk instead, indexed by bits 16-31 at once, so a walk through a head dense with rule
  prefixes does not go byte by byte (``CHUNK | WIDE_BASE + w`` in the root).

Every chunk paints a prefix or branches into two chunks or more, so n prefixes need at most 2n
chunks: the pool's 8,192 hold any 4,096 rule prefixes.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field

CHUNK = 0x8000  # SENTINEL_ADDR_CHUNK
CHECK = 0x4000  # SENTINEL_ADDR_CHECK
ID = 0x3FFF  # SENTINEL_ADDR_ID: a chunk number or a value
V4_ROOT, V6_ROOT = 0, 256  # the first chunk of each family's root
MAX_CHUNKS = 8192  # SENTINEL_ADDR_MAX_CHUNKS
CHUNKS = 512 + MAX_CHUNKS  # SENTINEL_ADDR_CHUNKS: chunk slots per generation
ENTRIES = CHUNKS * 256  # SENTINEL_ADDR_ENTRIES
V6_HOPS = 14  # SENTINEL_ADDR_V6_HOPS
WIDE_BASE = 16128  # SENTINEL_ADDR_WIDE_BASE
MAX_WIDE = 8  # SENTINEL_ADDR_MAX_WIDE
WIDE_ENTRIES = MAX_WIDE * 65536  # SENTINEL_ADDR_WIDE_ENTRIES
WIDE_MIN_PREFIXES = 32  # below this many prefixes under a head, byte chunks cost little

# struct sentinel_addr_chunk {u32 prefix[4], mask[4] (network order); u8 check_len; u8 _pad;
# u16 fallback}
CHUNK_HEADER_FIELDS = {
    "prefix": (0, "16s"),
    "mask": (16, "16s"),
    "check_len": (32, "B"),
    "_pad": (33, "x"),
    "fallback": (34, "H"),
}
CHUNK_HEADER = struct.Struct("<16s16sBxH")

Prefix = tuple[int, int]  # (network address as int, prefix length)


@dataclass(slots=True)
class AddressTable:
    """One field's table (both families) for one generation."""

    entries: array[int]  # 'H': 512 root chunks, then the pool
    headers: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # chunk -> (prefix, len, fallback)
    wide: list[array[int]] = field(default_factory=list)  # 'H' x 65,536 each

    def wide_bytes(self) -> bytes:
        return b"".join(chunk.tobytes() for chunk in self.wide)

    @property
    def pool_chunks(self) -> int:
        return len(self.entries) // 256 - 512

    def table_bytes(self) -> bytes:
        return self.entries.tobytes()

    def header_bytes(self) -> bytes:
        """``struct sentinel_addr_chunk`` per chunk slot up to the last one used (zeros: none)."""
        out = bytearray(CHUNK_HEADER.size * (len(self.entries) // 256))
        for chunk, (prefix, length, fallback) in self.headers.items():
            CHUNK_HEADER.pack_into(
                out,
                chunk * CHUNK_HEADER.size,
                prefix.to_bytes(16, "big"),
                _mask(length, 128).to_bytes(16, "big"),
                length,
                fallback,
            )
        return bytes(out)

    def lookup(self, address: int, version: int) -> int:
        """What the kernel's walk returns for ``address`` (the model the tests compare with)."""
        if version == 4:
            entry = self.entries[V4_ROOT * 256 + (address >> 16)]
            for shift in (8, 0):
                if not entry & CHUNK:
                    break
                entry = self.entries[(entry & ID) * 256 + ((address >> shift) & 0xFF)]
            return entry & ID
        entry = self.entries[V6_ROOT * 256 + (address >> 112)]
        position = 16  # bits consumed
        if entry & CHUNK and (entry & ID) >= WIDE_BASE:
            entry = self.wide[(entry & ID) - WIDE_BASE][(address >> 96) & 0xFFFF]
            position = 32
        for _ in range(V6_HOPS):
            if not entry & CHUNK:
                break
            chunk = entry & ID
            if entry & CHECK:
                prefix, position, fallback = self.headers[chunk]
                if address & _mask(position, 128) != prefix:
                    return fallback
            entry = self.entries[chunk * 256 + ((address >> (120 - position)) & 0xFF)]
            position += 8
        return entry & ID


def _mask(length: int, width: int) -> int:
    return ((1 << length) - 1) << (width - length)


Group = list[tuple[Prefix, int]]  # (prefix, value) pairs, shortest prefix first


def _paint(entries: array[int], first: int, count: int, value: int) -> None:
    entries[first : first + count] = array("H", [value]) * count


def _paint_level(
    entries: array[int], prefixes: Group, end: int, bits: int, width: int, offset: int = 0
) -> dict[int, Group]:
    """One level of a table: ``entries[offset + i]`` stands for the addresses whose ``bits`` bits
    before bit ``end`` are ``i``. Paint the prefixes that end within the level over the entries
    they cover; return the longer ones grouped by their entry, for the level below."""
    shift, field_mask = width - end, (1 << bits) - 1
    longer: dict[int, Group] = {}
    for (address, length), value in prefixes:
        index = (address >> shift) & field_mask
        if length <= end:
            _paint(entries, offset + index, 1 << (end - length), value)
        else:
            longer.setdefault(index, []).append(((address, length), value))
    return longer


class _Builder:
    def __init__(self) -> None:
        self.root = array("H", bytes(2 * 512 * 256))
        self.pool: list[array[int]] = []
        self.headers: dict[int, tuple[int, int, int]] = {}  # checked chunks only
        self.wide: list[array[int]] = []

    def new_chunk(self, inherited: int) -> tuple[int, array[int]]:
        if len(self.pool) == MAX_CHUNKS:
            raise ValueError(f"address prefixes need more than the kernel's {MAX_CHUNKS} table chunks")
        self.pool.append(array("H", [inherited]) * 256)
        return 512 + len(self.pool) - 1, self.pool[-1]

    def paint_root(self, values: Mapping[Prefix, int], root_chunk: int, width: int) -> dict[int, Group]:
        """Paint the prefixes of at most 16 bits into a family's root; return the longer ones by
        head (top 16 bits)."""
        return _paint_level(self.root, _shortest_first(values), 16, 16, width, offset=root_chunk * 256)

    def add_v4(self, values: Mapping[Prefix, int]) -> None:
        for head, prefixes in sorted(self.paint_root(values, V4_ROOT, 32).items()):
            chunk, third = self.new_chunk(self.root[V4_ROOT * 256 + head])
            self.root[V4_ROOT * 256 + head] = CHUNK | chunk
            for byte, longer in sorted(_paint_level(third, prefixes, 24, 8, 32).items()):
                sub, fourth = self.new_chunk(third[byte])
                third[byte] = CHUNK | sub
                _paint_level(fourth, longer, 32, 8, 32)  # every prefix ends here

    def add_v6(self, values: Mapping[Prefix, int]) -> None:
        below = self.paint_root(values, V6_ROOT, 128)
        busiest = sorted(below, key=lambda head: (-len(below[head]), head))[:MAX_WIDE]
        wide_heads = {head for head in busiest if len(below[head]) >= WIDE_MIN_PREFIXES}
        for head, prefixes in sorted(below.items()):
            slot = V6_ROOT * 256 + head
            if head in wide_heads:
                self.root[slot] = CHUNK | (WIDE_BASE + self._wide_chunk(prefixes, self.root[slot]))
            else:
                self.root[slot] = self._v6_chunk(prefixes, self.root[slot], 16)

    def _wide_chunk(self, prefixes: Group, inherited: int) -> int:
        """A wide chunk for one head's ``prefixes`` (address bits 16-31); returns its number."""
        entries = array("H", [inherited]) * 65536
        for index, group in sorted(_paint_level(entries, prefixes, 32, 16, 128).items()):
            entries[index] = self._v6_chunk(group, entries[index], 32)
        self.wide.append(entries)
        return len(self.wide) - 1

    def _v6_chunk(self, prefixes: Group, fallback: int, position: int) -> int:
        """A chunk for ``prefixes`` (shortest first, all sharing the ``position`` bits the walk
        has consumed, all longer), falling back to ``fallback``; returns the entry pointing to it."""
        # Index the deepest byte all of them still share and none of them ends above.
        shared = _common_prefix_len([p for p, _ in prefixes])
        check_len = min(shared, prefixes[0][0][1] - 1) // 8 * 8
        chunk, entries = self.new_chunk(fallback)
        ref = CHUNK | chunk
        if check_len > position:  # bytes skipped: the walk must check them
            self.headers[chunk] = (prefixes[0][0][0] & _mask(check_len, 128), check_len, fallback)
            ref |= CHECK
        for byte, group in sorted(_paint_level(entries, prefixes, check_len + 8, 8, 128).items()):
            entries[byte] = self._v6_chunk(group, entries[byte], check_len + 8)
        return ref

    def table(self) -> AddressTable:
        entries = self.root
        for chunk in self.pool:
            entries += chunk
        return AddressTable(entries, self.headers, self.wide)


def _shortest_first(values: Mapping[Prefix, int]) -> Group:
    for value in values.values():
        if not 0 <= value <= ID:
            raise ValueError(f"address table value {value} does not fit 14 bits")
    return sorted(values.items(), key=lambda item: item[0][1])


def _common_prefix_len(prefixes: list[Prefix]) -> int:
    """How many leading bits all the (128-bit) prefixes' addresses share, within their lengths."""
    first = prefixes[0][0]
    shared = min(length for _, length in prefixes)
    for address, _ in prefixes[1:]:
        differ = (address ^ first) >> (128 - shared)
        if differ:
            shared -= differ.bit_length()
    return shared


def build_address_table(v4: Mapping[Prefix, int], v6: Mapping[Prefix, int]) -> AddressTable:
    """The table mapping each address to the value of its longest prefix in ``v4`` / ``v6``
    ((network address, prefix length) -> value up to ID; an address no prefix contains maps to
    0). Raises ValueError when the prefixes need more chunks than the kernel holds."""
    builder = _Builder()
    builder.add_v4(v4)
    builder.add_v6(v6)
    return builder.table()
