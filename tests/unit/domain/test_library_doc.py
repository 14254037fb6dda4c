"""docs/library.md stays true: every python block in it runs, in order, in a fresh namespace."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "library.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


def test_the_page_has_examples() -> None:
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_example_runs(index: int) -> None:
    exec(compile(BLOCKS[index], f"docs/library.md[{index}]", "exec"), {})


def test_importing_the_domain_pulls_in_no_third_party_module() -> None:
    code = (
        "import sys, sentinel_domain, pkgutil, importlib\n"
        "for m in pkgutil.walk_packages(sentinel_domain.__path__, 'sentinel_domain.'):\n"
        "    importlib.import_module(m.name)\n"
        "third = sorted({n.split('.')[0] for n in sys.modules} - set(sys.stdlib_module_names)"
        " - {'sentinel_domain', '__main__'})\n"
        "print(','.join(third))\n"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[3] / "packages/domain/src")},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
