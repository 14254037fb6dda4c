"""A seeded mutation fuzzer: the stand-in engine where atheris cannot be installed.

Not coverage-guided: it mutates the seed corpus at random (bit flips, interesting integers,
byte runs, cuts, duplications, splices with another seed) with a fixed seed, so a run is
reproducible. It understands the libFuzzer flags the runner and the smoke test use (``-runs``,
``-seed``, ``-max_len``, ``-timeout``, ``-max_total_time``, ``-artifact_prefix``) and ignores
the others; it prints the same closing lines (``Done N runs``, ``stat::…``). Corpus arguments
that are files are replayed once each (reproducing a crash), directories are seed corpora.
"""

import hashlib
import random
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType

_INTERESTING = (0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF)


class _HangError(Exception):
    """One input ran longer than ``-timeout`` seconds."""


def _on_alarm(_signum: int, _frame: FrameType | None) -> None:
    raise _HangError


def _mutate(rng: random.Random, data: bytearray, seeds: list[bytes], max_len: int) -> bytes:
    for _ in range(rng.randint(1, 4)):
        pos = rng.randrange(len(data) + 1)
        choice = rng.randrange(7)
        if choice == 0 and data:
            data[min(pos, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif choice == 1:
            width = rng.choice((1, 2, 4))
            value = rng.choice(_INTERESTING) & ((1 << (8 * width)) - 1)
            data[pos:pos] = value.to_bytes(width, rng.choice(("big", "little")))
        elif choice == 2:
            data[pos:pos] = bytes([rng.randrange(256)]) * rng.randint(1, 64)
        elif choice == 3 and data:
            del data[pos : pos + rng.randint(1, 32)]
        elif choice == 4 and data:
            start = rng.randrange(len(data))
            data[pos:pos] = data[start : start + rng.randint(1, 64)]
        elif choice == 5:
            other = rng.choice(seeds)
            start = rng.randrange(len(other) + 1)
            data[pos:] = other[start:]
        else:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(data[:max_len])


def _flags(argv: list[str]) -> tuple[dict[str, str], list[Path]]:
    flags: dict[str, str] = {}
    paths: list[Path] = []
    for arg in argv:
        if arg.startswith("-") and "=" in arg:
            key, value = arg[1:].split("=", 1)
            flags[key] = value
        elif not arg.startswith("-"):
            paths.append(Path(arg))
    return flags, paths


def _run_one(harness: Callable[[bytes], None], data: bytes, timeout: int, prefix: str | None) -> bool:
    """Run one input; on a finding report it and (``prefix`` set) save it as ``<prefix>crash-<sha1>``."""
    signal.alarm(timeout)
    try:
        harness(data)
    except Exception as exc:  # anything escaping a harness is a finding
        kind = "timeout" if isinstance(exc, _HangError) else "crash"
        saved = ""
        if prefix is not None:
            artifact = Path(f"{prefix}{kind}-{hashlib.sha1(data).hexdigest()}")
            artifact.write_bytes(data)
            saved = f"; input saved to {artifact}"
        print(f"==ERROR: {kind} in the harness{saved}", flush=True)
        traceback.print_exc()
        return False
    finally:
        signal.alarm(0)
    return True


def fuzz(harness: Callable[[bytes], None], argv: list[str]) -> int:
    """Fuzz ``harness`` as ``argv`` (libFuzzer-style flags and paths) asks; 0 when nothing was found."""
    flags, paths = _flags(argv)
    timeout = int(flags.get("timeout", "20"))
    prefix = flags.get("artifact_prefix", "./")
    signal.signal(signal.SIGALRM, _on_alarm)
    files = [p for p in paths if p.is_file()]
    if files:
        ok = all(_run_one(harness, p.read_bytes(), timeout, None) for p in files)  # already on disk
        print(f"Executed {len(files)} inputs", flush=True)
        return 0 if ok else 1
    max_len = int(flags.get("max_len", "4096"))
    runs = int(flags.get("runs", "-1"))
    deadline = time.monotonic() + (float(flags["max_total_time"]) if "max_total_time" in flags else 1e12)
    rng = random.Random(int(flags.get("seed", "1")))
    corpus = [p for d in paths if d.is_dir() for p in sorted(d.iterdir()) if p.is_file()]
    seeds = [p.read_bytes()[:max_len] for p in corpus] or [b""]
    start = time.monotonic()
    executed = 0
    for seed in seeds:  # every seed once, as libFuzzer does before mutating
        executed += 1
        if not _run_one(harness, seed, timeout, prefix):
            return 1
    while executed != runs and time.monotonic() < deadline:
        data = _mutate(rng, bytearray(rng.choice(seeds)), seeds, max_len)
        executed += 1
        if not _run_one(harness, data, timeout, prefix):
            return 1
    elapsed = time.monotonic() - start
    print(f"Done {executed} runs in {int(elapsed)} second(s)")
    print(f"stat::number_of_executed_units: {executed}")
    print(f"stat::average_exec_per_sec:     {int(executed / max(elapsed, 1e-9))}", flush=True)
    sys.stdout.flush()
    return 0
