"""The element diff that keeps firewall generation writes small (firewall_map.changed_runs)."""

import random

from sentinel_adapters.ebpf.firewall_map import changed_runs


def apply_runs(old: bytes, new: bytes, size: int) -> bytes:
    out = bytearray(old)
    for first, last in changed_runs(old, new, size):
        out[first * size : last * size] = new[first * size : last * size]
    return bytes(out)


def test_runs_cover_exactly_the_changed_elements() -> None:
    rng = random.Random(7)
    for size in (1, 4, 520):
        old = bytes(rng.getrandbits(8) for _ in range(size * 300))
        new = bytearray(old)
        for index in rng.sample(range(300), 17):
            new[index * size + rng.randrange(size)] ^= 0xFF
        runs = changed_runs(old, bytes(new), size)
        assert apply_runs(old, bytes(new), size) == bytes(new)
        written = sum(last - first for first, last in runs)
        # Large elements: exactly the changed ones; small ones: whole 64-element blocks.
        assert written == 17 if size >= 64 else 17 <= written <= 300


def test_adjacent_changes_merge_and_nothing_changed_is_empty() -> None:
    big = [bytes([n]) * 64 for n in range(4)]
    changed = [big[0], b"x" * 64, b"y" * 64, big[3]]
    assert changed_runs(b"".join(big), b"".join(changed), 64) == [(1, 3)]
    assert changed_runs(b"aabbccdd", b"aabbccdx", 2, block=2) == [(2, 4)]
    assert changed_runs(b"aabb", b"aabb", 2) == []
    assert changed_runs(None, b"aabb", 2) == [(0, 2)]


def test_a_table_that_grows_or_shrinks_is_diffed_over_what_both_hold() -> None:
    assert changed_runs(b"aa", b"aabb", 2) == [(1, 2)]  # grown: the new tail
    assert changed_runs(b"aabb", b"aaxxcc", 2, block=1) == [(1, 3)]  # a change next to it merges
    assert changed_runs(b"aabbcc", b"aaxx", 2, block=1) == [(1, 2)]  # shrunk: the tail is left
