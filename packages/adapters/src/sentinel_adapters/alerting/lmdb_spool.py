"""LmdbAlertSpool: the durable AlertSpool, one LMDB environment (contract §10's store, our use).

Layout (sub-database ``entries``): key = ``<destination utf-8> 0x00 <seq u64 big-endian>`` so one
destination's entries are contiguous and in acceptance order; value = ``<enqueued_ns u64 BE>`` +
the alert as JSON. Sub-database ``meta`` holds ``next_seq``.

Durability: ``put`` returns only after its data and the LMDB meta page are on disk (fsync), so an
accepted alert survives a crash or power loss. Removals flush their data but not the meta page
(``MDB_NOMETASYNC``: one fsync instead of two); a power loss may undo the last removal, which
means one alert delivered again (the receiver sees the same alert id), never one lost.

Bounds: ``max_per_destination`` entries per destination (the oldest are dropped and reported) and
the ``map_size`` of the file; when the map is full, the destination's oldest entries are dropped
(a tenth, then doubling, at most ``MAP_FULL_ROUNDS`` rounds) until the write fits. A put that would
leave fewer than ``RESERVE_PAGES`` pages allocatable counts as not fitting: LMDB needs fresh pages
even to delete, so a put that took the last ones left a spool that could neither drop nor remove
anything again. A corrupt entry
is dropped (and counted in ``corrupt_dropped``) instead of wedging its destination; a corrupt
environment is moved aside and a new one started.
"""

import json
import os
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

import lmdb
import structlog

from sentinel_adapters._lmdb_reserve import keeps_reserve, reserve_for_map
from sentinel_adapters.alerting._alert_record import alert_from_record, alert_to_record
from sentinel_domain.alert import Alert
from sentinel_ports.alert_spool import AlertSpool, SpooledAlert

log = structlog.get_logger("ebpfsentinel.alerting")
DEFAULT_MAP_SIZE = 256 * 1024 * 1024
MAP_FULL_ROUNDS = 8  # room-making attempts per put before the batch itself is dropped
# A put leaves this many pages (at most a quarter of the map) allocatable, so that dropping and
# removing still can.
RESERVE_PAGES = 32
_SEP = b"\x00"
_NEXT_SEQ = b"next_seq"


class _ReserveTakenError(Exception):
    """The put fitted but took pages the next delete needs: handled like a full map."""


def _prefix(destination: str) -> bytes:
    if "\x00" in destination or not destination:
        raise ValueError(f"invalid destination name {destination!r}")
    return destination.encode("utf-8") + _SEP


class LmdbAlertSpool(AlertSpool):
    def __init__(
        self, path: str | Path, max_per_destination: int = 100_000, map_size: int = DEFAULT_MAP_SIZE
    ) -> None:
        if max_per_destination < 1:
            raise ValueError("max_per_destination must be >= 1")
        self.path = Path(path)
        self.max_per_destination = max_per_destination
        self.corrupt_dropped = 0
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._env = lmdb.open(
            str(self.path), map_size=map_size, max_dbs=2, subdir=True, mode=0o600, metasync=False
        )
        self._env.reader_check()  # clear reader slots left by a crashed process
        map_pages = int(self._env.info()["map_size"]) // int(self._env.stat()["psize"])
        self._reserve = reserve_for_map(RESERVE_PAGES, map_pages)
        self._entries = self._env.open_db(b"entries")
        self._meta = self._env.open_db(b"meta")
        self._lock = threading.Lock()
        self._closed = False
        self._counts, self._next_seq = self._scan()

    @classmethod
    def open(
        cls, path: str | Path, max_per_destination: int = 100_000, map_size: int = DEFAULT_MAP_SIZE
    ) -> "LmdbAlertSpool":
        """Open ``path``; a corrupt environment is renamed ``<path>.corrupt-<unix time>`` and replaced."""
        try:
            return cls(path, max_per_destination, map_size)
        except lmdb.Error as exc:
            aside = Path(f"{path}.corrupt-{int(time.time())}")
            os.replace(path, aside)
            log.error(
                "alert spool unreadable, moved aside", path=str(path), moved_to=str(aside), error=str(exc)
            )
            return cls(path, max_per_destination, map_size)

    def _scan(self) -> tuple[dict[str, int], int]:
        counts: dict[str, int] = {}
        highest = 0
        with self._env.begin() as txn:
            stored = txn.get(_NEXT_SEQ, db=self._meta)
            for key in txn.cursor(db=self._entries).iternext(keys=True, values=False):
                raw = bytes(key)  # <name> 0x00 <8-byte seq>; the seq itself may contain 0x00
                destination = raw[:-9].decode("utf-8", "replace")
                counts[destination] = counts.get(destination, 0) + 1
                highest = max(highest, int.from_bytes(raw[-8:], "big"))
        next_seq = max(int.from_bytes(stored, "big") if stored else 1, highest + 1)
        return counts, next_seq

    # -- AlertSpool -------------------------------------------------------------------------------
    def put(self, destination: str, alerts: Sequence[Alert], enqueued_ns: int) -> int:
        if not alerts:
            return 0
        prefix = _prefix(destination)
        values = [
            enqueued_ns.to_bytes(8, "big") + json.dumps(alert_to_record(a), ensure_ascii=False).encode()
            for a in alerts
        ]
        with self._lock:
            freed = 0
            chunk = max(len(values), self.depth(destination) // 10, 1)
            for _ in range(MAP_FULL_ROUNDS):
                try:
                    evicted = self._append(destination, prefix, values)
                    self._env.sync(True)  # data and meta page on disk before the caller counts it kept
                    return freed + evicted
                except (lmdb.MapFullError, _ReserveTakenError):
                    if self.depth(destination) == 0:
                        break
                    # Make room from this destination's oldest end, more each round.
                    freed += self._drop_oldest(destination, prefix, chunk)
                    chunk *= 2
                    log.warning("alert spool map full, dropped oldest", destination=destination, count=freed)
            log.error(
                "alert spool could not keep a batch, dropped it",
                destination=destination,
                count=len(values),
                reason=self._why_no_room(destination),
            )
            return freed + len(values)

    def _why_no_room(self, destination: str) -> str:
        if self.depth(destination):
            return f"still full after dropping {destination}'s oldest alerts {MAP_FULL_ROUNDS} times"
        if any(count for name, count in self._counts.items() if name != destination):
            return "full of other destinations' alerts"
        return "the batch is larger than the spool's map"

    def _append(self, destination: str, prefix: bytes, values: list[bytes]) -> int:
        seq = self._next_seq
        with self._env.begin(write=True) as txn:
            for value in values:
                txn.put(prefix + seq.to_bytes(8, "big"), value, db=self._entries, overwrite=False)
                seq += 1
            txn.put(_NEXT_SEQ, seq.to_bytes(8, "big"), db=self._meta)
            count = self._counts.get(destination, 0) + len(values)
            excess = max(0, count - self.max_per_destination)
            if excess:
                self._delete_front(txn, prefix, excess)
            if not keeps_reserve(self._env, txn, (self._entries, self._meta), self._meta, self._reserve):
                raise _ReserveTakenError  # aborts: nothing of this put is kept
        self._next_seq = seq
        self._counts[destination] = count - excess
        return excess

    def _drop_oldest(self, destination: str, prefix: bytes, count: int) -> int:
        with self._env.begin(write=True) as txn:
            dropped = self._delete_front(txn, prefix, count)
        self._counts[destination] = self._counts.get(destination, 0) - dropped
        return dropped

    def _delete_front(self, txn: lmdb.Transaction, prefix: bytes, count: int) -> int:
        cursor = txn.cursor(db=self._entries)
        deleted = 0
        if not cursor.set_range(prefix):
            return 0
        while deleted < count and bytes(cursor.key()).startswith(prefix):
            if not cursor.delete():  # moves to the next entry
                break
            deleted += 1
        return deleted

    def _iter(self, txn: lmdb.Transaction, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        cursor = txn.cursor(db=self._entries)
        if not cursor.set_range(prefix):
            return
        for key, value in cursor:
            if not bytes(key).startswith(prefix):
                return
            yield bytes(key), bytes(value)

    def peek(self, destination: str, limit: int) -> list[SpooledAlert]:
        prefix = _prefix(destination)
        out: list[SpooledAlert] = []
        corrupt: list[bytes] = []
        with self._lock:
            with self._env.begin() as txn:
                for key, value in self._iter(txn, prefix):
                    if len(out) >= limit:
                        break
                    try:
                        alert = alert_from_record(json.loads(value[8:]))
                    except (ValueError, TypeError, KeyError) as exc:
                        log.error(
                            "corrupt alert spool entry dropped", destination=destination, error=str(exc)
                        )
                        corrupt.append(key)
                        continue
                    seq = int.from_bytes(key[len(prefix) :], "big")
                    out.append(SpooledAlert(seq, int.from_bytes(value[:8], "big"), alert))
            if corrupt:
                self._delete_keys(destination, corrupt)
                self.corrupt_dropped += len(corrupt)
        return out

    def remove(self, destination: str, seqs: Collection[int]) -> int:
        prefix = _prefix(destination)
        with self._lock:
            return self._delete_keys(destination, [prefix + s.to_bytes(8, "big") for s in seqs if s >= 0])

    def _delete_keys(self, destination: str, keys: list[bytes]) -> int:
        with self._env.begin(write=True) as txn:
            removed = sum(1 for key in keys if txn.delete(key, db=self._entries))
        self._counts[destination] = self._counts.get(destination, 0) - removed
        return removed

    def expire(self, destination: str, older_than_ns: int) -> int:
        prefix = _prefix(destination)
        with self._lock:
            with self._env.begin(write=True) as txn:
                cursor = txn.cursor(db=self._entries)
                expired = 0
                found = cursor.set_range(prefix)
                while found and bytes(cursor.key()).startswith(prefix):
                    if int.from_bytes(bytes(cursor.value())[:8], "big") >= older_than_ns:
                        break
                    found = cursor.delete()
                    expired += 1
            self._counts[destination] = self._counts.get(destination, 0) - expired
            return expired

    def depth(self, destination: str) -> int:
        return self._counts.get(destination, 0)

    def destinations(self) -> list[str]:
        return sorted(name for name, count in self._counts.items() if count > 0)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._env.close()
