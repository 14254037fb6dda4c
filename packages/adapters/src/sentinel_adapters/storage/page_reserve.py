"""Whether a write transaction still leaves room for the next one, asked of LMDB itself.

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

from typing import Any

import lmdb

_PROBE_KEY = b"\xff\xff.page-reserve-probe."
_HEADER_ROOM = 64  # a value this much under a page fills one overflow page, whatever the key


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
