"""``ebpfsentinel-agent config test``: exit 0 for a valid file, 1 with every error listed."""

import subprocess
import sys
from pathlib import Path

AGENT = str(Path(sys.executable).parent / "ebpfsentinel-agent")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AGENT, *args], capture_output=True, text=True, timeout=60, check=False)


def test_valid_invalid_and_strict(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("agent:\n  interfaces: [eth0]\n")
    result = run("config", "test", "-c", str(good))
    assert (result.returncode, result.stdout.strip()) == (0, f"configuration OK: {good}")

    bad = tmp_path / "bad.yaml"
    bad.write_text("agent:\n  interfaces: []\n  http_port: 8080\n  grpc_port: 8080\nfirewall:\n  mode: x\n")
    result = run("config", "test", "-c", str(bad))
    assert result.returncode == 1
    assert (
        f"{bad}:2:3: agent.interfaces: validation error: at least one interface is required" in result.stderr
    )
    assert "http_port, grpc_port and metrics_port must be distinct" in result.stderr
    assert f"{bad}:6:3: firewall.mode:" in result.stderr

    typo = tmp_path / "typo.yaml"
    typo.write_text("agent:\n  interfaces: [eth0]\n  log_levle: debug\n")
    lenient = run("config", "test", "-c", str(typo))
    assert lenient.returncode == 0 and "unknown key 'log_levle'" in lenient.stderr
    assert run("config", "test", "-c", str(typo), "--strict").returncode == 1


def test_version_and_missing_file() -> None:
    assert run("version").stdout.strip().startswith("ebpfsentinel-agent ")
    missing = run("config", "test", "-c", "/nonexistent/config.yaml")
    assert missing.returncode == 1 and "cannot read config file" in missing.stderr
