"""Run one fuzz target under atheris (libFuzzer), or list the targets.

    .venv/bin/python tests/fuzz/run.py --list
    .venv/bin/python tests/fuzz/run.py TARGET [libFuzzer flags] [NEW_CORPUS_DIR] [SEED_DIR ...]
    .venv/bin/python tests/fuzz/run.py TARGET crash-<sha1>          # replay one input

libFuzzer writes new interesting inputs into the FIRST corpus directory, so pass a scratch
directory first and ``tests/fuzz/corpus/TARGET`` after it to keep the committed seeds as they
are. ``-max_len`` defaults to the target's cap (a later ``-max_len=`` overrides it).

Engine: atheris when it is installed (``--engine=mutate`` forces the fallback), else the seeded
mutation fuzzer of ``_mutate.py``, which takes the same flags and prints the same closing lines.
"""

import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from targets import TARGETS


def main(argv: list[str]) -> int:
    engine = "atheris"
    if argv and argv[0].startswith("--engine="):
        engine = argv.pop(0).split("=", 1)[1]
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    if argv[0] == "--list":
        print("\n".join(TARGETS))
        return 0
    target = TARGETS.get(argv[0])
    if target is None:
        print(f"unknown target '{argv[0]}'; --list shows them", file=sys.stderr)
        return 2
    flags = [f"-max_len={target.max_len}", *argv[1:]]
    try:
        import atheris
    except ImportError:
        engine = "mutate"
    print(f"fuzz target {target.name}: engine {engine}", flush=True)
    if engine == "mutate":
        from _mutate import fuzz

        return fuzz(target.harness(), flags)
    with atheris.instrument_imports(include=list(target.instrument)):
        harness = target.harness()
    # libFuzzer re-runs argv[0] through the shell for -merge, -fork and -jobs: make it a command
    # that names the interpreter, this script and the target.
    self_command = shlex.join([sys.executable, str(Path(__file__).resolve()), target.name])
    atheris.Setup([self_command, *flags], harness)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
