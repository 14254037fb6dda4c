"""Process statistics of the agent itself, read from /proc at scrape time."""

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ProcessSample:
    memory_bytes: int  # resident set size
    cpu_percent: float  # since the previous sample; 100 = one core busy
    open_fds: int
    threads: int


def process_cpu_seconds() -> float:
    """User + system CPU time of this process, all threads included."""
    times = os.times()
    return times.user + times.system


class ProcessSampler:
    """Reads ``proc_dir`` (``/proc/self``); the CPU figure covers the time since the last sample
    (the first one: since the sampler was made), so it needs no background thread."""

    def __init__(
        self,
        proc_dir: Path = Path("/proc/self"),
        cpu_seconds: Callable[[], float] = process_cpu_seconds,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._proc = proc_dir
        self._cpu_seconds = cpu_seconds
        self._clock = clock
        self._lock = threading.Lock()  # two listeners may scrape at once
        self._last = (clock(), cpu_seconds())

    def sample(self) -> ProcessSample:
        status = self._status()
        return ProcessSample(
            memory_bytes=status.get("VmRSS", 0) * 1024,  # /proc reports kB
            cpu_percent=self._cpu_percent(),
            open_fds=len(os.listdir(self._proc / "fd")),
            threads=status.get("Threads", 0),
        )

    def _status(self) -> dict[str, int]:
        """The numeric fields of ``status`` (``VmRSS: 1234 kB`` → ``{"VmRSS": 1234}``)."""
        out = {}
        for line in (self._proc / "status").read_text().splitlines():
            key, _, rest = line.partition(":")
            words = rest.split()
            if words and words[0].isdigit():
                out[key] = int(words[0])
        return out

    def _cpu_percent(self) -> float:
        with self._lock:
            now, cpu = self._clock(), self._cpu_seconds()
            then, cpu_then = self._last
            self._last = (now, cpu)
        elapsed = now - then
        return 100.0 * max(0.0, cpu - cpu_then) / elapsed if elapsed > 0 else 0.0
