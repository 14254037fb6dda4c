"""A gate every read transaction of an environment passes, so the map can be resized safely.

LMDB may change the map size only while no transaction of the process is active (the map is
remapped; py-lmdb invalidates every open transaction and cursor). Readers share the gate; a
resize waits for them to leave and holds new ones back meanwhile. Writes need no gate: the
environment runs them and the resize under the same write lock.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class TxnGate:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._exclusive_waiting = 0
        self._exclusive_held = False
        self._depth = threading.local()  # a thread may nest reads; only its first one counts

    @contextmanager
    def shared(self) -> Iterator[None]:
        depth = getattr(self._depth, "value", 0)
        if depth == 0:
            with self._cond:
                self._cond.wait_for(lambda: not (self._exclusive_held or self._exclusive_waiting))
                self._readers += 1
        self._depth.value = depth + 1
        try:
            yield
        finally:
            self._depth.value = depth
            if depth == 0:
                with self._cond:
                    self._readers -= 1
                    self._cond.notify_all()

    def held_here(self) -> bool:
        """True while the calling thread is inside ``shared`` (it cannot wait for ``exclusive``)."""
        return getattr(self._depth, "value", 0) > 0

    @contextmanager
    def exclusive(self, timeout: float | None) -> Iterator[bool]:
        """Yield True once no reader is inside (new ones wait), or False after ``timeout`` seconds."""
        with self._cond:
            self._exclusive_waiting += 1
            try:
                acquired = self._cond.wait_for(lambda: not (self._readers or self._exclusive_held), timeout)
            finally:
                self._exclusive_waiting -= 1
            self._exclusive_held = acquired
            self._cond.notify_all()  # on a timeout, readers held back may go on
        try:
            yield acquired
        finally:
            if acquired:
                with self._cond:
                    self._exclusive_held = False
                    self._cond.notify_all()
