"""Watch the config file (and files it references) and call back after changes settle.

Watches the parent directories rather than the files, so editors that save by writing a
temporary file and renaming it over the original are seen; events are debounced (500 ms).
A watcher that fails only disables this trigger (SIGHUP and REST still work).
"""

import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import structlog
from watchfiles import watch

log = structlog.get_logger("ebpfsentinel.config")


class ConfigWatcher:
    def __init__(
        self, paths: Iterable[str | Path], on_change: Callable[[], object], debounce_ms: int = 500
    ) -> None:
        self._files = {Path(p).resolve() for p in paths}
        self._on_change = on_change
        self._debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="config-watch", daemon=True)

    def start(self) -> "ConfigWatcher":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        dirs = sorted({str(f.parent) for f in self._files})
        try:
            for changes in watch(
                *dirs,
                debounce=self._debounce_ms,
                stop_event=self._stop,
                recursive=False,
                rust_timeout=500,
                yield_on_timeout=False,
            ):
                if any(Path(path).resolve() in self._files for _, path in changes):
                    self._on_change()
        except Exception as exc:  # never take the agent down; the other triggers still work
            log.error("config watcher stopped", error=str(exc))
