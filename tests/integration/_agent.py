"""Start the real agent as a subprocess for a test, and talk to it."""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

AGENT = str(Path(sys.executable).parent / "ebpfsentinel-agent")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def agent_yaml(interface: str, http_port: int, body: str = "", data_dir: Path | None = None) -> str:
    """A config for ``interface`` on free ports, plus ``body`` (more YAML sections).

    ``data_dir`` (the LMDB store) defaults to a fresh temporary directory: tests never write to
    /var/lib.
    """
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="sentinel-data-"))
    return (
        f"agent:\n  interfaces: [{interface}]\n  http_port: {http_port}\n"
        f"  grpc_port: {free_port()}\n  metrics_port: {free_port()}\n  data_dir: {data_dir}\n{body}"
    )


class AgentProcess:
    """The agent running ``config``; its JSON log goes to ``log_path``. Use as a context manager."""

    def __init__(self, config: Path, http_port: int, log_path: Path, ready_timeout: float = 60.0) -> None:
        self.config = config
        self.ready_timeout = ready_timeout  # start-up can take longer on a loaded machine
        self.port = http_port
        self.log_path = log_path
        self._log = log_path.open("w")
        self.proc = subprocess.Popen([AGENT, "-c", str(config)], stdout=self._log, stderr=subprocess.STDOUT)

    def __enter__(self) -> "AgentProcess":
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._log.close()
                raise AssertionError(f"agent exited: {self.log_path.read_text()[-2000:]}")
            try:
                if self.get("/readyz")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()  # never leave an agent running (and its programs attached) behind a failed test
        raise AssertionError(f"agent not ready: {self.log_path.read_text()[-2000:]}")

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()
        return self.proc.returncode

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            raw = err.read()
            return err.code, json.loads(raw) if raw else None

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        return self.request("GET", path, headers=headers)

    def records(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text().splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out

    def events(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.records() if r.get("event") == name]

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)


def wait_until(predicate: Any, timeout: float = 10.0, step: float = 0.1) -> bool:
    """Poll ``predicate`` until it is truthy or ``timeout`` passes (bounded, for live checks)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())
