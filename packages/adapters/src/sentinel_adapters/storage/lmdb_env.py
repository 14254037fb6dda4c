"""One LMDB environment per data directory: named sub-databases and the policy for a full store.

Settings, and why:
- ``writemap=False``: pages reach the file through ``pwrite``, so a full disk is an error
  (``lmdb.DiskError`` for ENOSPC; a short write is reported as EIO, so a failed write while the
  file system has under 1 MiB free counts as disk full too) instead of a SIGBUS in the mapping.
- ``sync=True, metasync=False`` by default: one data ``fsync`` per commit. A killed process loses
  nothing it committed (the pages are in the kernel's cache); a power loss may undo the last
  commit but never corrupts (LMDB keeps two meta pages). ``metasync=True`` makes the last commit
  durable too, at the price of a second flush per commit.
- ``max_readers`` slots, and ``reader_check()`` at open: a process killed inside a read
  transaction leaves a stale slot that would pin old pages and let the map fill.

Why a full map needs care: LMDB never overwrites a page of the last committed snapshot, and pages
freed by a commit are reusable only after the *next* commit. Even a delete copies a leaf and its
branch pages, so a map with no allocatable page left cannot delete anything and stays stuck for
good (seen with a 1 MiB map: one batch of alerts took the map from under the headroom limit to its
last page, and from then on every write and every eviction failed). Hence writes go through
:meth:`LmdbEnvironment.write`, which never raises because storage is full:

1. headroom: before each write, when the B-trees use more pages than
   ``min(high_watermark * map, map - reserve_pages)``, the registered evictors (alerts, then audit
   entries; rules are never evicted) delete their oldest records, 32 at first and doubling up to
   512 per commit, until the trees are under ``min(low_watermark * map, that limit - reserve/2)``;
2. the work runs in one write transaction, which commits only if ``reserve_pages`` pages (at most
   a quarter of the map) are still allocatable afterwards (``sentinel_adapters._lmdb_reserve``:
   the B-tree counts above do not see free-list pages, nor pages pinned by the previous commit or
   by readers). The reserve is what the evictions of the next write run on;
3. on ``MapFullError``, a reserve not left, or ``ENOSPC`` (a batch larger than the headroom, or
   readers pinning old pages) the transaction is aborted, nothing half-written; the evictors
   delete a chunk twice (two commits, so the first one's pages become reusable) and the work is
   retried, at most ``max_attempts`` times, the chunk doubling from 32 each time; a chunk whose
   delete itself does not fit is retried as 4, then 1 record. After that the write is dropped and
   counted;
4. should not even one record fit to be deleted, the eviction is tried again once no read
   transaction of the process is open (their snapshots may be what pins the pages; every read
   passes :mod:`._txn_gate`, and the wait gives up after ``GROW_WAIT_SECONDS``). If it still does
   not fit (a map filled by an earlier version, which kept no reserve), the map is grown once, to
   ``map_size + reserve_pages`` pages, which is safe only while no transaction is open (LMDB
   remaps the file). That is the one deliberate exception to ``map_size`` as the file's bound; the
   headroom still plans with ``map_size``.

The first time storage fills, ``on_storage_full(reason)`` is called once (``map_full`` or
``disk_full``) so the application can raise one alert; ``stats()`` keeps counting afterwards.
"""

import errno
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import lmdb

from sentinel_adapters._lmdb_reserve import keeps_reserve, reserve_for_map
from sentinel_adapters.storage._txn_gate import TxnGate

T = TypeVar("T")
DATABASES = ("alerts", "alert_ids", "audit", "rule_changes", "rules", "meta")
DEFAULT_MAP_SIZE = 1 << 30  # 1 GiB of address space; the file only grows as pages are used
MIN_MAP_PAGES = 256  # 1 MiB: see "Why a full map needs care" above
FIRST_CHUNK = 32  # records per eviction commit at first; doubled while more room is needed
MAX_HEADROOM_CHUNK = 512
MAX_RETRY_CHUNK = 4096
FALLBACK_CHUNKS = (4, 1)  # when deleting a chunk itself needs more pages than are left
# LMDB reports a short write as EIO, not ENOSPC: a failed write with less free space than this on
# the file system is taken as a full disk.
DISK_FULL_BELOW = 1 << 20
GROW_WAIT_SECONDS = 5.0  # how long growing the map waits for open read transactions to end
_COUNTERS = (
    "map_full_errors",
    "disk_full_errors",
    "write_errors",
    "writes_dropped",
    "headroom_evictions",
    "map_grown",
)

# An evictor deletes up to ``limit`` of its oldest records inside ``txn`` and says how many.
Evictor = Callable[[Any, int], int]


class _ReserveTakenError(Exception):
    """The work fitted, but took pages the next transaction needs: handled like a full map."""


class StorageError(OSError):
    """The environment cannot be opened (unreadable, corrupted, incompatible); carries the path."""


class LmdbEnvironment:
    """An open LMDB environment in directory ``path`` (created 0700 if missing)."""

    def __init__(
        self,
        path: str | Path,
        *,
        map_size: int = DEFAULT_MAP_SIZE,
        max_readers: int = 126,
        sync: bool = True,
        metasync: bool = False,
        high_watermark: float = 0.8,
        low_watermark: float = 0.6,
        reserve_pages: int = 32,
        max_attempts: int = 16,
        on_storage_full: Callable[[str], None] | None = None,
    ) -> None:
        if not 0 < low_watermark <= high_watermark <= 1:
            raise ValueError(
                f"watermarks must satisfy 0 < low ({low_watermark}) <= high ({high_watermark}) <= 1"
            )
        self.path = Path(path)
        try:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._env = lmdb.open(
                str(self.path),
                map_size=map_size,
                max_dbs=len(DATABASES),
                max_readers=max_readers,
                sync=sync,
                metasync=metasync,
                writemap=False,
                readahead=False,  # random access to a file that may exceed RAM
                subdir=True,
                lock=True,
            )
        except (lmdb.Error, OSError) as exc:
            raise StorageError(errno.EIO, f"cannot open LMDB environment: {exc}", str(self.path)) from exc
        self._page = int(self._env.stat()["psize"])
        if self._map_pages() < MIN_MAP_PAGES:
            self._env.close()
            raise ValueError(f"map_size {map_size} is below the minimum of {MIN_MAP_PAGES} pages")
        # The bound the headroom plans with, even after the map was grown once (policy step 4).
        self._configured_pages = max(map_size // self._page, MIN_MAP_PAGES)
        self._high, self._low = high_watermark, low_watermark
        self._reserve = reserve_for_map(reserve_pages, self._configured_pages)
        self._max_attempts = max_attempts
        self._on_storage_full = on_storage_full
        self._write_lock = threading.RLock()
        self._gate = TxnGate()
        self._eviction_found_no_room = False
        self._dbs: dict[str, Any] = {}
        self._evictors: list[tuple[int, str, Evictor]] = []
        self._evicted: dict[str, int] = {}
        self._counters = dict.fromkeys(_COUNTERS, 0)
        self._reported = False
        self._disk_cap_pages: int | None = None
        self._counters["stale_readers_cleared"] = self.reader_check()
        self._probe_db = self.database("meta")  # the reserve is probed in here, never committed

    # --- handles ----------------------------------------------------------------------------

    def database(self, name: str) -> Any:
        """The named sub-database (created on first use); names are those of ``DATABASES``."""
        if name not in DATABASES:
            raise ValueError(f"unknown database '{name}': expected one of {', '.join(DATABASES)}")
        with self._write_lock:
            if name not in self._dbs:
                self._dbs[name] = self._env.open_db(name.encode(), create=True)
        return self._dbs[name]

    @contextmanager
    def read(self) -> Iterator[Any]:
        """A read-only snapshot; readers never block the writer (or each other), only a map resize."""
        with self._gate.shared(), self._env.begin() as txn:
            yield txn

    def add_evictor(self, name: str, priority: int, evict: Evictor) -> None:
        """Register ``evict`` to make room when full; lower ``priority`` is asked first."""
        with self._write_lock:
            self._evictors.append((priority, name, evict))
            self._evictors.sort(key=lambda item: item[0])
            self._evicted.setdefault(name, 0)

    # --- writing ----------------------------------------------------------------------------

    def write(self, work: Callable[[Any], T]) -> T | None:
        """Run ``work(txn)`` in one committed write transaction and return its result.

        Returns None when storage stayed full and the write was dropped (``work`` must not return
        None itself). Errors other than a full map/disk are counted and the write dropped too;
        exceptions raised by ``work`` itself propagate after the transaction is aborted.
        """
        with self._write_lock:
            self._ensure_headroom()
            chunk = FIRST_CHUNK
            for _ in range(self._max_attempts):
                try:
                    with self._env.begin(write=True) as txn:
                        result = work(txn)
                        if not keeps_reserve(
                            self._env, txn, self._dbs.values(), self._probe_db, self._reserve
                        ):
                            raise _ReserveTakenError
                    return result
                except (lmdb.MapFullError, _ReserveTakenError):
                    self._full("map_full")
                except lmdb.DiskError:
                    self._full("disk_full")
                except lmdb.MapResizedError:
                    if self._resize(0):  # another process grew the map: adopt its size
                        continue
                    self._counters["write_errors"] += 1
                    break
                except lmdb.Error:
                    if not self._disk_nearly_full():
                        self._counters["write_errors"] += 1
                        break
                    self._full("disk_full")  # a short write on a full disk surfaces as EIO
                if not (self._evict(chunk) and self._evict(chunk)):
                    break
                chunk = min(chunk * 2, MAX_RETRY_CHUNK)
            self._counters["writes_dropped"] += 1
            return None

    def _free_disk_bytes(self) -> int | None:
        try:
            fs = os.statvfs(self.path)
        except OSError:
            return None
        return fs.f_bavail * fs.f_frsize

    def _disk_nearly_full(self) -> bool:
        free = self._free_disk_bytes()
        return free is not None and free < DISK_FULL_BELOW

    def _full(self, reason: str) -> None:
        if reason == "disk_full":
            self._counters["disk_full_errors"] += 1
            # The file cannot grow: until space comes back, it is the map the headroom guards.
            self._disk_cap_pages = int(self._env.info()["last_pgno"]) + 1
        else:
            self._counters["map_full_errors"] += 1
        self._report(reason)

    def _report(self, reason: str) -> None:
        if self._reported:
            return
        self._reported = True
        if self._on_storage_full is not None:
            self._on_storage_full(reason)

    def _evict_once(self, limit: int) -> int:
        """Ask the evictors in priority order; the first that removes something commits alone."""
        for _, name, evict in self._evictors:
            try:
                with self._env.begin(write=True) as txn:
                    removed = evict(txn, limit)
            except lmdb.MapFullError:
                self._eviction_found_no_room = True
                return 0  # even this delete needs pages: the caller retries with a smaller chunk
            except lmdb.DiskError:
                return 0
            except lmdb.Error:
                if not self._disk_nearly_full():
                    self._counters["write_errors"] += 1
                return 0
            if removed:
                self._evicted[name] += removed
                return removed
        return 0

    def _evict(self, first_chunk: int) -> int:
        """Evict one chunk, shrinking it while the delete itself does not fit; 0 if nothing went."""
        self._eviction_found_no_room = False
        removed = self._evict_shrinking(first_chunk)
        if not removed and self._eviction_found_no_room:
            removed = self._evict_alone()
        return removed

    def _evict_shrinking(self, first_chunk: int) -> int:
        for chunk in (first_chunk, *(c for c in FALLBACK_CHUNKS if c < first_chunk)):
            removed = self._evict_once(chunk)
            if removed:
                return removed
        return 0

    def _evict_alone(self) -> int:
        """Policy step 4: evict one record with no reader in the way, growing the map if need be.

        Readers' snapshots may be what pins the pages; once they are closed the delete often
        fits, and the map grows only when it still does not.
        """
        if self._gate.held_here():
            return 0  # this thread's own snapshot is open: waiting for it would never end
        with self._gate.exclusive(GROW_WAIT_SECONDS) as alone:
            if not alone:
                return 0
            self._eviction_found_no_room = False
            removed = self._evict_shrinking(FALLBACK_CHUNKS[-1])
            grown = (self._configured_pages + self._reserve) * self._page
            if removed or not self._eviction_found_no_room or self._map_pages() * self._page >= grown:
                return removed
            self._env.set_mapsize(grown)
            self._counters["map_grown"] += 1
            return self._evict_shrinking(FALLBACK_CHUNKS[-1])

    def _resize(self, map_size: int) -> bool:
        """``set_mapsize`` once no read transaction of this process is open (0: adopt the file's)."""
        if self._gate.held_here():
            return False
        with self._gate.exclusive(GROW_WAIT_SECONDS) as alone:
            if alone:
                self._env.set_mapsize(map_size)
            return alone

    def _ensure_headroom(self) -> None:
        if not self._evictors:
            return
        pages = self._capacity_pages()
        limit = min(self._high * pages, pages - self._reserve)
        if self.used_pages() <= limit:
            return
        target = min(self._low * pages, limit - self._reserve / 2)
        self._report("map_full")
        chunk = FIRST_CHUNK
        for _ in range(1024):  # bounded; the chunk doubles, so a large excess goes in few rounds
            removed = self._evict(chunk)
            if not removed:
                return
            self._counters["headroom_evictions"] += removed
            if self.used_pages() <= target:
                return
            chunk = min(chunk * 2, MAX_HEADROOM_CHUNK)

    # --- inspection -------------------------------------------------------------------------

    def _map_pages(self) -> int:
        return int(self._env.info()["map_size"]) // self._page

    def _capacity_pages(self) -> int:
        """Pages writes may use: the configured map, or the file's size while the disk is full."""
        pages = min(self._map_pages(), self._configured_pages)
        if self._disk_cap_pages is not None:
            free = self._free_disk_bytes()
            if free is not None and free >= 4 * DISK_FULL_BELOW:
                self._disk_cap_pages = None  # space came back: the file may grow again
            else:
                pages = min(pages, self._disk_cap_pages)
        return pages

    def used_pages(self) -> int:
        """Pages held by the B-trees (meta pages included; free pages are reusable, so excluded)."""
        stat = self._env.stat()
        used = 2 + stat["branch_pages"] + stat["leaf_pages"] + stat["overflow_pages"]
        with self.read() as txn:
            for db in self._dbs.values():
                stat = txn.stat(db)
                used += stat["branch_pages"] + stat["leaf_pages"] + stat["overflow_pages"]
        return int(used)

    def evicted(self, name: str) -> int:
        """Records the evictor ``name`` removed to make room since open."""
        return self._evicted.get(name, 0)

    def reader_check(self) -> int:
        """Clear reader slots of dead processes; returns how many were cleared."""
        return int(self._env.reader_check())

    def stats(self) -> dict[str, int]:
        """Full-storage and error counters, map size and pages in use."""
        out = dict(self._counters)
        out["map_size"] = self._map_pages() * self._page
        out["used_pages"] = self.used_pages()
        out["storage_full_reported"] = int(self._reported)
        return out

    def close(self) -> None:
        """Close the environment (committed data is already on disk)."""
        with self._write_lock:
            self._env.close()
