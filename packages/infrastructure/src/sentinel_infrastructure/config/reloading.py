"""Re-reading the configuration for reloads without parsing the same bytes twice.

A REST reload validates the file first (so the caller gets the errors) and then the reload
service loads it again; with thousands of rules, parsing YAML is most of a reload. The loader
remembers the last good result together with a fingerprint of everything it was built from
(the config bytes and mode, the referenced IDS rule files, the EBPFSENTINEL_ environment) and
returns it while that fingerprint is unchanged.
"""

import hashlib
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from sentinel_infrastructure.config.files import read_bounded
from sentinel_infrastructure.config.loader import MAX_FILE_BYTES, LoadedConfig


def _file_digest(path: Path) -> bytes:
    # Read like the loader reads (a FIFO or device named as the config must not hang a reload).
    try:
        mode = path.stat().st_mode
        content = read_bounded(path, MAX_FILE_BYTES)
    except OSError as exc:  # the load reports it; keep the fingerprint distinct
        return f"unreadable:{exc.errno}".encode()
    return hashlib.sha256(content).digest() + mode.to_bytes(4, "little")


class CachedConfigLoader:
    """``load()`` = ``load_config(path, …)``, memoised on the inputs' fingerprint. Thread-safe."""

    def __init__(
        self, path: str | Path, load: Callable[[], LoadedConfig], environ: Mapping[str, str] | None = None
    ) -> None:
        self._path = Path(path)
        self._load = load
        self._environ = environ if environ is not None else os.environ
        self._lock = threading.Lock()
        self._last: tuple[bytes, LoadedConfig] | None = None
        self.parses = 0  # how many times the file was really parsed (for tests and logs)

    def _fingerprint(self, rules_files: list[str]) -> bytes:
        digest = hashlib.sha256(_file_digest(self._path))
        base = self._path.parent
        for name in rules_files:
            digest.update(_file_digest(base / name))
        for key in sorted(k for k in self._environ if k.startswith("EBPFSENTINEL_")):
            digest.update(f"{key}={self._environ[key]}\0".encode())
        return digest.digest()

    def __call__(self) -> LoadedConfig:
        with self._lock:
            guess = list(self._last[1].config.ids.rules_files) if self._last is not None else []
            before = self._fingerprint(guess)
            if self._last is not None and self._last[0] == before:
                return self._last[1]
            self._last = None
            loaded = self._load()  # raises ConfigError: nothing is remembered
            self.parses += 1
            rules_files = list(loaded.config.ids.rules_files)
            after = self._fingerprint(rules_files)
            # Remember it only if the files did not change while they were being read.
            if rules_files != guess or after == before:
                self._last = (after, loaded)
            return loaded
