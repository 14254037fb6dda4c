"""Whether a write transaction still leaves room for the next one, asked of LMDB itself.

Shared by the LMDB adapters (the store in ``storage``, the alert spool in ``alerting``): a
private module, outside the adapter subpackages that must stay independent of each other.

LMDB reuses a page freed by commit N only from commit N+2 on, and even a delete copies pages before
changing them. A commit that takes the last allocatable pages of the map therefore leaves a map in
which nothing, not even the delete that would make room, can ever commit again. How many pages are
still allocatable is not visible from outside (free-list pages, pages pinned by the previous commit
or by readers' snapshots), so the question is put to LMDB: a child transaction allocates the pages
and is aborted, which gives them all back and leaves the parent as it was. (Allocating them in
the transaction itself and deleting them would not do: LMDB may file pages freed that way as freed
by this commit, out of reach of the next one.) Costs about 50 µs per write, next to a commit's
fsync of milliseconds.
"""

from collections.abc import Iterable
from typing import Any

import lmdb

_PROBE_KEY = b"\xff\xff.page-reserve-probe."
_HEADER_ROOM = 64  # a value this much under a page fills one overflow page, whatever the key
_SLACK_PAGES = 16  # main tree and free-list pages a commit may add besides the trees
MAX_RESERVE_SHARE = 4  # the reserve takes at most a quarter of the map


def reserve_for_map(pages: int, map_pages: int) -> int:
    """The reserve to keep in a map of ``map_pages`` pages: ``pages``, but at most a quarter of
    the map. A delete needs a handful of pages (a leaf and its branches per tree, the main tree,
    the free list); a reserve of half a tiny map left too little for the pages the previous
    commit still pins, so writes were refused and the store evicted down to nothing."""
    return max(0, min(pages, map_pages // MAX_RESERVE_SHARE))


def keeps_reserve(env: Any, txn: Any, dbs: Iterable[Any], probe_db: Any, pages: int) -> bool:
    """True if ``txn`` (a write transaction on ``dbs``) leaves ``pages`` pages allocatable: beyond
    doubt while the map is roomy, else asked of LMDB with a probe in ``probe_db``."""
    page_size = int(env.stat()["psize"])
    return surely_leaves_reserve(env, txn, dbs, pages, page_size) or leaves_reserve(
        env, txn, probe_db, pages, page_size
    )


def surely_leaves_reserve(env: Any, txn: Any, dbs: Iterable[Any], pages: int, page_size: int) -> bool:
    """The probe (a child transaction and its abort, which py-lmdb can stall behind busy readers)
    is needed only once the file's end nears the map's: pages past the last committed one are
    never in use, and a transaction cannot have taken more new pages than its trees hold, plus a
    few for the main tree and the free list."""
    held = _SLACK_PAGES
    for db in dbs:
        stat = txn.stat(db)
        held += stat["branch_pages"] + stat["leaf_pages"] + stat["overflow_pages"]
    info = env.info()
    return int(info["last_pgno"]) + 1 + held + pages <= int(info["map_size"]) // page_size


def leaves_reserve(env: Any, txn: Any, db: Any, pages: int, page_size: int) -> bool:
    """True if ``txn`` can still allocate ``pages`` pages (one at a time) before it commits."""
    if pages <= 0:
        return True
    one_page = bytes(page_size - _HEADER_ROOM)
    child = env.begin(write=True, parent=txn)
    try:
        for n in range(pages):
            child.put(_PROBE_KEY + n.to_bytes(4, "big"), one_page, db=db)
    except lmdb.MapFullError:
        return False
    finally:
        child.abort()
    return True
