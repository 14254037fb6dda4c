"""import-linter's contracts hold, and would catch a violation."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = [
    sys.executable,
    "-c",
    "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
]


def run_lint(pythonpath: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": pythonpath or ""}
    result = subprocess.run(
        [*LINT, "--no-cache"], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120, check=False
    )
    result.stdout = " ".join(result.stdout.split())  # the report wraps long lines
    return result


def test_contracts_are_kept() -> None:
    result = run_lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_config_has_no_ignore_imports() -> None:
    assert "ignore_imports" not in (ROOT / "pyproject.toml").read_text()


def _copy_sources(tmp_path: Path) -> str:
    for package in (ROOT / "packages").iterdir():
        src = package / "src"
        if src.is_dir():
            shutil.copytree(
                src, tmp_path, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.o", "__pycache__")
            )
    return str(tmp_path)


def test_domain_importing_a_third_party_package_breaks_a_contract(tmp_path: Path) -> None:
    path = _copy_sources(tmp_path)
    (tmp_path / "sentinel_domain" / "firewall" / "_violation.py").write_text("import lmdb  # noqa\n")
    result = run_lint(path)
    assert result.returncode != 0
    assert "sentinel_domain.firewall._violation imports lmdb" in result.stdout


def test_engine_importing_another_engine_breaks_a_contract(tmp_path: Path) -> None:
    path = _copy_sources(tmp_path)
    target = tmp_path / "sentinel_domain" / "reputation"
    target.mkdir(exist_ok=True)
    (target / "__init__.py").touch()
    (target / "_violation.py").write_text("import sentinel_domain.firewall  # noqa\n")
    result = run_lint(path)
    assert result.returncode != 0
    assert "sentinel_domain.reputation must not depend on sentinel_domain.firewall" in result.stdout


def test_ctypes_outside_the_ebpf_adapter_breaks_a_contract(tmp_path: Path) -> None:
    path = _copy_sources(tmp_path)
    (tmp_path / "sentinel_agent" / "_violation.py").write_text("import ctypes  # noqa\n")
    result = run_lint(path)
    assert result.returncode != 0
    assert "sentinel_agent is not allowed to import ctypes" in result.stdout
