"""Coalesced, validated reloads: build the complete new state first, then swap it in.

Any number of triggers (SIGHUP, file watch, REST) may ask for a reload at any rate; at most one
reload runs and at most one more is queued behind it (a storm of 200 requests costs two
reloads). A reload that fails to load or validate changes nothing and is counted.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

StateT = TypeVar("StateT")


@dataclass(frozen=True, slots=True)
class ReloadResult:
    ok: bool
    trigger: str
    error: str = ""


class ReloadService(Generic[StateT]):
    """``load`` builds and validates the new state (raising on any problem); ``apply`` installs it.

    ``on_result`` is told about every finished reload (for logs and metrics).
    """

    def __init__(
        self,
        load: Callable[[], StateT],
        apply: Callable[[StateT], None],
        on_result: Callable[[ReloadResult], None] = lambda _: None,
    ) -> None:
        self._load = load
        self._apply = apply
        self._on_result = on_result
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._pending: list[str] = []  # triggers waiting for the next reload (coalesced)
        self._generation = 0  # completed reloads
        self._last: ReloadResult | None = None
        self._stopping = False
        self._busy = False
        self.succeeded = 0
        self.failed = 0
        self._worker = threading.Thread(target=self._run, name="reload", daemon=True)
        self._worker.start()

    def request(self, trigger: str) -> int:
        """Ask for a reload; returns the reload generation that will include this request."""
        with self._lock:
            self._pending.append(trigger)
            self._wakeup.notify()
            return self._generation + 1 + (1 if self._busy else 0)

    def wait(self, generation: int, timeout: float) -> ReloadResult | None:
        """Block until reload ``generation`` finished (None on timeout); its result."""
        with self._lock:
            finished = self._wakeup.wait_for(lambda: self._generation >= generation, timeout)
            return self._last if finished else None

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._wakeup.notify_all()
        self._worker.join(timeout=10)

    def _run(self) -> None:
        while True:
            with self._lock:
                self._wakeup.wait_for(lambda: self._pending or self._stopping)
                if self._stopping:
                    return
                triggers, self._pending = self._pending, []
                self._busy = True
            result = self._reload("+".join(sorted(set(triggers))))
            with self._lock:
                self._busy = False
                self._generation += 1
                self._last = result
                self._wakeup.notify_all()
            self._on_result(result)

    def _reload(self, trigger: str) -> ReloadResult:
        try:
            state = self._load()
        except Exception as exc:  # the old state keeps running whatever went wrong
            self.failed += 1
            return ReloadResult(False, trigger, str(exc))
        try:
            self._apply(state)
        except Exception as exc:
            self.failed += 1
            return ReloadResult(False, trigger, f"apply failed: {exc}")
        self.succeeded += 1
        return ReloadResult(True, trigger)
