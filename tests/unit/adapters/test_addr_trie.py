"""The address table builder: its lookup model equals a brute-force longest-prefix match, its
layout is the kernel's, and it refuses what the kernel cannot hold. (The kernel's walk is proven
equal to this model in tests/bpf/test_addr_trie_kernel.py and to the domain engine in
tests/bpf/test_differential.py.)"""

import random

import pytest

from sentinel_adapters.ebpf.addr_trie import (
    CHECK,
    CHUNK,
    CHUNK_HEADER,
    ID,
    MAX_CHUNKS,
    MAX_WIDE,
    WIDE_BASE,
    WIDE_MIN_PREFIXES,
    build_address_table,
)

Values = dict[tuple[int, int], int]


def longest_match(values: Values, address: int, width: int) -> int:
    best, best_len = 0, -1
    for (network, length), value in values.items():
        mask = ((1 << length) - 1) << (width - length)
        if address & mask == network and length > best_len:
            best, best_len = value, length
    return best


def random_prefixes(rng: random.Random, width: int, count: int) -> Values:
    """Clustered prefixes (many share heads and bytes, many nest), values 1.. (0 = no match)."""
    bases = [rng.getrandbits(width) for _ in range(4)]
    lengths = (
        [0, 8, 12, 16, 17, 20, 23, 24, 28, 31, 32]
        if width == 32
        else [0, 16, 20, 32, 33, 47, 48, 56, 64, 80, 112, 127, 128]
    )
    values: Values = {}
    while len(values) < count:
        length = rng.choice(lengths)
        keep = rng.choice([12, 24, 40, 64]) if width == 128 else 12
        address = rng.choice(bases) ^ rng.getrandbits(width - min(keep, width - 1))  # near a base
        mask = ((1 << length) - 1) << (width - length)
        values[(address & mask, length)] = len(values) + 1
    return values


def probes(rng: random.Random, values: Values, width: int) -> list[int]:
    """Addresses inside each prefix (first, last, random, one bit flipped below it) and random ones."""
    out = [rng.getrandbits(width) for _ in range(200)]
    for network, length in values:
        host = (1 << (width - length)) - 1
        inside = network | (rng.getrandbits(width) & host)
        out += [network, network | host, inside]
        if length:
            out.append(inside ^ (1 << rng.randrange(width - length, width)))  # just outside
    return out


@pytest.mark.parametrize("version", [4, 6])
@pytest.mark.parametrize("seed", range(16))
def test_lookup_equals_brute_force_longest_prefix_match(version: int, seed: int) -> None:
    width = 32 if version == 4 else 128
    rng = random.Random(seed * 7919 + width)
    values = random_prefixes(rng, width, rng.choice([1, 5, 40, 300]))
    other = random_prefixes(rng, 160 - width, 30)  # the other family shares the pool
    table = build_address_table(values, other) if version == 4 else build_address_table(other, values)
    assert table.pool_chunks <= 2 * (len(values) + len(other))
    for address in probes(rng, values, width):
        assert table.lookup(address, version) == longest_match(values, address, width), hex(address)


def test_ipv4_layout_root_then_chunks() -> None:
    # 198.18.0.0/16 -> 1; 198.18.7.0/24 -> 2; 198.18.7.9/32 -> 3: pool chunk 512 for the third
    # byte below 198.18, 513 for the fourth below 198.18.7.
    head = 0xC612
    v4 = {(0, 0): 0, (head << 16, 16): 1, ((head << 16) | 0x0700, 24): 2, ((head << 16) | 0x0709, 32): 3}
    table = build_address_table(v4, {})
    assert table.pool_chunks == 2 and table.headers == {}
    assert table.entries[head] == CHUNK | 512
    assert table.entries[512 * 256 + 6] == 1 and table.entries[512 * 256 + 7] == CHUNK | 513
    assert table.entries[513 * 256 + 9] == 3 and table.entries[513 * 256 + 8] == 2
    assert len(table.table_bytes()) == 2 * 514 * 256


def test_ipv6_chunks_skip_shared_bytes_and_fall_back() -> None:
    # A /64 and a /128 below it: the first chunk indexes byte 7 (the /64's last), checked
    # against the 56 bits above it; the /128 gets a chunk of its own below.
    net = 0x20010DB8_00010002 << 64
    v6 = {(0, 0): 7, (net, 64): 1, (net | 0x0500_0000_0000_0009, 128): 2}
    table = build_address_table({}, v6)
    head_entry = table.entries[256 * 256 + 0x2001]
    assert head_entry & CHUNK and head_entry & CHECK  # bytes 2-6 skipped: checked
    first = head_entry & ID
    assert table.headers[first] == (net >> 72 << 72, 56, 7)
    assert table.pool_chunks == 2
    second = table.entries[first * 256 + 0x02]
    assert second & CHUNK and second & CHECK and (second & ID) in table.headers
    assert table.lookup(net | 0x0500_0000_0000_0009, 6) == 2
    assert table.lookup(net | 0x0500_0000_0000_0008, 6) == 1
    assert table.lookup(net ^ (1 << 80), 6) == 7  # differs above the /64: the fallback
    raw = table.header_bytes()
    prefix, mask, length, fallback = CHUNK_HEADER.unpack_from(raw, first * CHUNK_HEADER.size)
    assert (int.from_bytes(prefix, "big"), length, fallback) == table.headers[first]
    assert mask == bytes([0xFF] * 7 + [0] * 9)


def test_ipv6_chunk_for_the_next_byte_is_not_checked() -> None:
    # /20 and /24 below 2001::/16: the chunk indexes byte 2, right after the root's two.
    v6 = {(0x2001_0A00 << 96, 24): 1, (0x2001_0000 << 96, 20): 2}
    table = build_address_table({}, v6)
    entry = table.entries[256 * 256 + 0x2001]
    assert entry & CHUNK and not entry & CHECK and table.headers == {}
    assert table.lookup(0x2001_0A01 << 96, 6) == 1 and table.lookup(0x2001_0B01 << 96, 6) == 2


def test_values_must_leave_the_chunk_bit_free() -> None:
    with pytest.raises(ValueError, match="14 bits"):
        build_address_table({(0, 0): ID + 1}, {})


def test_more_chunks_than_the_kernel_holds_are_refused() -> None:
    # Each /32 in a /16 of its own needs two chunks.
    v4 = {((n << 16) | 0x0101, 32): 1 for n in range(MAX_CHUNKS // 2 + 1)}
    with pytest.raises(ValueError, match="table chunks"):
        build_address_table(v4, {})
    del v4[(((MAX_CHUNKS // 2) << 16) | 0x0101, 32)]
    assert build_address_table(v4, {}).pool_chunks == MAX_CHUNKS


def test_a_head_dense_with_prefixes_gets_a_wide_chunk() -> None:
    rng = random.Random(11)
    head = 0xFD00 << 112
    v6 = {(0, 0): 1}
    while len(v6) < WIDE_MIN_PREFIXES + 20:
        length = rng.choice([17, 24, 32, 33, 48, 64, 128])
        address = head | rng.getrandbits(112)
        v6[(address & (((1 << length) - 1) << (128 - length)), length)] = len(v6) + 1
    v6[(0x2001 << 112, 32)] = 99  # a quiet head keeps byte chunks
    table = build_address_table({}, v6)
    entry = table.entries[256 * 256 + 0xFD00]
    assert entry & CHUNK and (entry & ID) == WIDE_BASE and len(table.wide) == 1
    assert not (table.entries[256 * 256 + 0x2001] & ID) >= WIDE_BASE
    assert len(table.wide_bytes()) == 2 * 65536
    for address in probes(rng, v6, 128):
        assert table.lookup(address, 6) == longest_match(v6, address, 128), hex(address)


def test_only_the_busiest_heads_get_wide_chunks() -> None:
    v6 = {((head << 112) | (n << 80), 48): n + 1 for head in range(1, MAX_WIDE + 3) for n in range(40)}
    table = build_address_table({}, v6)
    assert len(table.wide) == MAX_WIDE
