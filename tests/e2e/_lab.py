"""The end-to-end lab: the agent as an operator runs it, real packets from an attacker namespace.

    attacker netns            root netns (the agent)                 sink netns
    [att peer_if] <== veth ==> [att host_if]  XDP/TC   ... routed ... [snk host_if] <== veth ==> [snk peer_if]
     198.18.A.2                 198.18.A.1                             198.18.S.1                  198.18.S.2

IPv4 is forwarded between the two veths by their own ``forwarding`` sysctls (the host's global
``ip_forward`` is never touched); both veths and namespaces are deleted on close, whatever happened.
The agent is a subprocess (``tests/integration/_agent.py``) with a generated YAML config; tests talk
to it only through its contract: REST, ``/metrics``, the CLI, signals and the files it writes.
"""

import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

_INTEGRATION = str(Path(__file__).resolve().parents[1] / "integration")
if _INTEGRATION not in sys.path:
    sys.path.insert(0, _INTEGRATION)

from _agent import AgentProcess, agent_yaml, free_port, wait_until  # noqa: E402
from _traffic import count_arrivals, mac_of, send_syns  # noqa: E402

from sentinel_agent.lab import VethLab, run  # noqa: E402

__all__ = [
    "Agent",
    "AgentProcess",
    "Lab",
    "agent_yaml",
    "count_arrivals",
    "free_port",
    "mac_of",
    "metric",
    "parse_metrics",
    "poll",
    "send_syns",
    "wait_until",
]


class Agent(AgentProcess):  # type: ignore[misc]  # imported by path: untyped here
    """``AgentProcess`` with a readiness wait sized for a loaded 2-core machine (bounded: 90 s)."""

    def __enter__(self) -> "Agent":
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"agent exited: {self.log_path.read_text()[-2000:]}")
            try:
                if self.get("/readyz")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"agent not ready: {self.log_path.read_text()[-2000:]}")

    def text(self, path: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=15) as resp:
            return str(resp.read().decode())


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Prometheus text exposition → (name, labels, value) samples."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m:
            labels = dict(_LABEL.findall(m.group(2) or ""))
            out.append((m.group(1), labels, float(m.group(3))))
    return out


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels`` (0 when absent)."""
    return sum(
        v
        for n, lab, v in parse_metrics(text)
        if n == name and all(lab.get(k) == x for k, x in labels.items())
    )


class Lab:
    """Attacker and sink namespaces around the root namespace, where the agent runs."""

    def __init__(self, prefix: str = "e2e") -> None:
        self.attacker = VethLab(prefix=f"{prefix}a")
        self.sink = VethLab(prefix=f"{prefix}s", subnet=self.attacker.subnet % 250 + 1)
        self._opened: list[VethLab] = []

    def open(self) -> "Lab":
        try:
            for side in (self.attacker, self.sink):
                side.open()
                self._opened.append(side)
                run("sysctl", "-qw", f"net.ipv4.conf.{side.host_if}.forwarding=1")
            self.attacker.ns("ip", "route", "add", "default", "via", self.attacker.host_ip)
            self.sink.ns("ip", "route", "add", "default", "via", self.sink.host_ip)
            self.attacker.ns("ip", "-6", "route", "add", "default", "via", self.attacker.host_ip6)
        except Exception:
            self.close()
            raise
        return self

    def close(self) -> None:
        for side in reversed(self._opened):
            side.close()
        self._opened.clear()

    def __enter__(self) -> "Lab":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- traffic from the attacker namespace -------------------------------------------------

    def attacker_py(self, code: str, *args: str, timeout: float = 30, check: bool = True) -> str:
        """Run Python ``code`` inside the attacker namespace; its stdout."""
        result = self.attacker.ns(sys.executable, "-c", code, *args, timeout=timeout, check=check)
        return result.stdout

    def sink_py(self, code: str, *args: str) -> subprocess.Popen[str]:
        """Start Python ``code`` inside the sink namespace (a server); the caller stops it."""
        return subprocess.Popen(
            ["ip", "netns", "exec", self.sink.netns, sys.executable, "-c", code, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def pings(self, target: str, count: int = 1) -> int:
        return self.attacker.ping_from_peer(target, count=count)


def poll(fn: Callable[[], Any], timeout: float = 10.0, step: float = 0.1) -> Any:
    """The first truthy value of ``fn`` within ``timeout`` (bounded), else its last value."""
    deadline = time.monotonic() + timeout
    value = fn()
    while not value and time.monotonic() < deadline:
        time.sleep(step)
        value = fn()
    return value
