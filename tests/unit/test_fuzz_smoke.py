"""Short fuzz runs of every parser and decoder (docs/fuzzing.md), and a replay of the seed corpora.

Each target runs in its own subprocess through ``tests/fuzz/run.py`` (atheris when installed,
else the seeded mutation fuzzer), with a fixed seed and an exact run count so a run is
reproducible: ``smoke_runs`` executions (100,000 for every target), inputs up to
``smoke_max_len`` bytes, one CPU each,
as many at once as there are CPUs. A finding (an exception a harness does not allow, a broken
invariant, an input running 20 s) fails the target's test with the saved input's path and the
traceback; fixing it is the parser's owner's job, and the input then goes into
``tests/fuzz/corpus/<target>/regress-<name>`` so the replay test keeps it fixed.
"""

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

FUZZ_DIR = Path(__file__).resolve().parents[1] / "fuzz"
sys.path.insert(0, str(FUZZ_DIR))

from targets import TARGETS, Target  # noqa: E402 - tests/fuzz is not a package

RUNNER = FUZZ_DIR / "run.py"
SEED = 20240611
HANG_SECONDS = 20  # one input running this long is a finding (libFuzzer -timeout)
SAFETY_SECONDS = 900  # a run never gets this long unless something is badly wrong
# Slowest first (measured CPU time), so the parallel runs finish close together.
SLOWEST = ("config_yaml", "ids_signatures", "l7_inspect", "ti_plain", "ti_csv", "l7_ftp", "l7_grpc")
ORDER = sorted(TARGETS.values(), key=lambda t: SLOWEST.index(t.name) if t.name in SLOWEST else len(SLOWEST))

pytestmark = pytest.mark.timeout(SAFETY_SECONDS + 60)


@dataclass(frozen=True)
class SmokeRun:
    target: Target
    returncode: int
    executed: int
    seconds: float
    output: str
    artifacts: tuple[Path, ...]

    def report(self) -> str:
        rate = self.executed / self.seconds if self.seconds else 0.0
        return f"{self.target.name}: {self.executed} executions in {self.seconds:.1f} s ({rate:.0f}/s)"


def _run(target: Target, workdir: Path) -> SmokeRun:
    scratch = workdir / "new"
    scratch.mkdir(parents=True)
    command = [
        sys.executable, str(RUNNER), target.name,
        f"-runs={target.smoke_runs}", f"-seed={SEED}", f"-max_len={target.smoke_max_len}",
        f"-timeout={HANG_SECONDS}", f"-max_total_time={SAFETY_SECONDS}", "-print_final_stats=1",
        f"-artifact_prefix={workdir}/", str(scratch), str(target.corpus),
    ]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(
        command, check=False, capture_output=True, text=True, errors="replace", stdin=subprocess.DEVNULL,
        timeout=SAFETY_SECONDS + 30, env={**os.environ, "PYTHONHASHSEED": "0"},
    )  # fmt: skip
    seconds = time.monotonic() - started
    output = done.stdout + done.stderr
    executed = [int(n) for n in re.findall(r"stat::number_of_executed_units:\s*(\d+)", output)]
    artifacts = tuple(p for p in workdir.iterdir() if p.is_file())
    return SmokeRun(target, done.returncode, executed[-1] if executed else 0, seconds, output, artifacts)


@pytest.fixture(scope="module")
def smoke_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[SmokeRun]]]:
    """Start the runs of the selected targets, ``os.cpu_count()`` at a time; each test awaits its own."""
    wanted = {
        item.callspec.params["name"]
        for item in request.session.items
        if isinstance(item, pytest.Function) and item.originalname == "test_fuzz_target_finds_nothing"
    }
    base = tmp_path_factory.mktemp("fuzz")
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {t.name: pool.submit(_run, t, base / t.name) for t in ORDER if t.name in wanted}
        yield futures
        for future in futures.values():
            future.cancel()


@pytest.mark.parametrize("name", [t.name for t in ORDER])
def test_fuzz_target_finds_nothing(name: str, smoke_runs: dict[str, Future[SmokeRun]]) -> None:
    run = smoke_runs[name].result()
    print(run.report())
    tail = "\n".join(run.output.splitlines()[-60:])
    assert not run.artifacts, f"{name}: finding saved as {[str(a) for a in run.artifacts]}\n{tail}"
    assert run.returncode == 0, f"{name}: fuzzer exited {run.returncode}\n{tail}"
    assert run.executed >= run.target.smoke_runs, f"{name}: only {run.executed} executions\n{tail}"


@pytest.mark.parametrize("name", list(TARGETS))
def test_committed_corpus_replays_cleanly(name: str) -> None:
    """Every committed seed and regression input goes through its harness in-process, unharmed."""
    target = TARGETS[name]
    inputs = sorted(p for p in target.corpus.iterdir() if p.is_file())
    assert inputs, f"no seed corpus in {target.corpus}"
    harness = target.harness()
    for path in inputs:
        harness(path.read_bytes())
