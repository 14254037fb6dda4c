"""Helpers shared by the time-keyed stores: cursor positioning (LMDB seeks only forward) and retention."""

from collections.abc import Callable
from typing import Any

from sentinel_adapters.storage import codec
from sentinel_adapters.storage.lmdb_env import LmdbEnvironment

PRUNE_CHUNK = 1000


def last_below(cursor: Any, bound: bytes) -> bool:
    """Put ``cursor`` on the last key strictly below ``bound``; False if there is none."""
    if cursor.set_range(bound):
        return bool(cursor.prev())
    return bool(cursor.last())


def nothing_to_scan(limit: int, from_ns: int | None, to_ns: int | None) -> bool:
    """Nothing can match: a zero limit, or a time range that ends before it starts."""
    return limit == 0 or (from_ns is not None and to_ns is not None and from_ns > to_ns)


def newest_at_or_before(cursor: Any, to_ns: int | None) -> bool:
    """Put ``cursor`` on the newest time-keyed record with ``timestamp_ns <= to_ns`` (None: newest)."""
    if to_ns is None or to_ns >= codec.MAX_U64:
        return bool(cursor.last())
    if to_ns < 0:
        return False
    return last_below(cursor, codec.time_key(to_ns + 1, 0))


# Deletes up to ``limit`` oldest records of a time-keyed database inside ``txn`` (only those keyed
# below ``cutoff`` when it is given) and says how many.
Remover = Callable[[Any, bytes | None, int], int]


def prune_time_keyed(
    env: LmdbEnvironment,
    remove: Remover,
    count: Callable[[], int],
    now_ns: int,
    max_age_ns: int | None,
    max_count: int | None,
) -> int:
    """Retention for a time-keyed database, in chunks so each write transaction stays short."""
    removed = 0
    if max_age_ns is not None:
        cutoff = codec.time_key(now_ns - max_age_ns, 0)

        def by_age(txn: Any) -> int:
            return remove(txn, cutoff, PRUNE_CHUNK)

        while (chunk := env.write(by_age) or 0) > 0:
            removed += chunk
    while max_count is not None and (excess := count() - max(max_count, 0)) > 0:

        def by_count(txn: Any, limit: int = min(excess, PRUNE_CHUNK)) -> int:
            return remove(txn, None, limit)

        chunk = env.write(by_count) or 0
        if not chunk:
            break
        removed += chunk
    return removed
