"""The README's demo runs to completion and leaves nothing behind."""

import subprocess
import sys
from pathlib import Path

AGENT = str(Path(sys.executable).parent / "ebpfsentinel-agent")


def netns_names() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def test_demo_runs_and_cleans_up() -> None:
    before = netns_names()
    result = subprocess.run(
        [AGENT, "demo", "--quiet"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every step gave the expected verdict" in result.stdout
    leftover = {n for n in netns_names() - before if n.startswith("demo-")}
    assert not leftover
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    assert " demo" not in links
    procs = subprocess.run(
        ["pgrep", "-f", "ebpfsentinel-agent -c .*ebpfsentinel-demo-"], capture_output=True, check=False
    )
    assert procs.returncode == 1  # no agent left running
