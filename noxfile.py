"""The project's verbs. They run in the uv-managed .venv (tools/setup.sh creates it):
``nox --no-venv -s lint types imports tests`` or ``-s ci`` for all of them, ``-s bpf`` to rebuild
the kernel objects, ``-s bench`` for benchmarks (never part of ci)."""

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["ci"]
PY = ".venv/bin/python"
LAYERS = ("domain", "ports", "application", "infrastructure", "adapters", "agent", "testkit")


@nox.session(python=False)
def bpf(session: nox.Session) -> None:
    """Build the eBPF objects (incremental)."""
    session.run("make", "-s", "-C", "bpf", external=True)


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    session.run(PY, "-m", "ruff", "check", ".", external=True)
    session.run(PY, "-m", "ruff", "format", "--check", ".", external=True)


@nox.session(python=False)
def types(session: nox.Session) -> None:
    """mypy: strict on domain and ports (pyproject), checked on every package."""
    packages = [f"packages/{p}/src/sentinel_{p}" for p in LAYERS]
    session.run(PY, "-m", "mypy", *packages, external=True)


@nox.session(python=False)
def imports(session: nox.Session) -> None:
    """import-linter contracts (architecture rules)."""
    session.run(".venv/bin/lint-imports", "--no-cache", external=True)


@nox.session(python=False)
def tests(session: nox.Session) -> None:
    """Two pytest workers, a test file each at a time (module fixtures share one agent): most of
    the integration time is spent waiting for agents and packets, not on the CPU."""
    session.run(PY, "-m", "pytest", "-n", "2", "--dist", "loadfile", *session.posargs, external=True)


@nox.session(python=False)
def ci(session: nox.Session) -> None:
    """Everything the README's test command promises."""
    for verb in (bpf, lint, types, imports, tests):
        verb(session)


@nox.session(python=False)
def bench(session: nox.Session) -> None:
    """Benchmarks: print figures; never asserted, never in ci."""
    import glob

    for script in sorted(glob.glob("bench/bench_*.py")):
        session.run(PY, script, external=True)


@nox.session(python=False)
def fuzz(session: nox.Session) -> None:
    """Long fuzz runs (docs/fuzzing.md): every target, or those named after ``--``; never in ci.
    FUZZ_SECONDS (default 300) per target; findings and new inputs go to build/fuzz/TARGET/."""
    import os
    import pathlib

    seconds = os.environ.get("FUZZ_SECONDS", "300")
    listed = session.run(PY, "tests/fuzz/run.py", "--list", external=True, silent=True)
    targets = session.posargs or str(listed).split()
    for target in targets:
        scratch = pathlib.Path("build/fuzz") / target / "corpus"
        scratch.mkdir(parents=True, exist_ok=True)
        session.run(
            PY, "tests/fuzz/run.py", target, f"-max_total_time={seconds}", "-timeout=20",
            "-rss_limit_mb=2048", "-print_final_stats=1", f"-artifact_prefix=build/fuzz/{target}/",
            str(scratch), f"tests/fuzz/corpus/{target}", external=True,
        )  # fmt: skip
