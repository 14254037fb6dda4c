"""A throwaway lab: one network namespace joined to the root namespace by a veth pair.

Names are unique per lab (tests run in parallel and must never touch real interfaces);
``close`` removes everything and is safe to call twice. Addresses come from the benchmarking
range 198.18.0.0/15 and the documentation range 2001:db8::/32, which no real network uses.
"""

import contextlib
import os
import re
import secrets
import signal
import subprocess
from dataclasses import dataclass, field


def run(*cmd: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=timeout)


def free_subnets(count: int, taken: set[int] | None = None) -> list[int]:
    """``count`` values of N such that no interface holds an address in 198.18.N.0/24 right now."""
    out = run("ip", "-4", "-o", "addr", "show", check=False).stdout
    used = {int(m) for m in re.findall(r"inet 198\.18\.(\d+)\.", out)} | (taken or set())
    free = [n for n in range(1, 251) if n not in used]
    if len(free) < count:
        raise RuntimeError("no free 198.18.N.0/24 lab subnet left")
    picked: list[int] = []
    while len(picked) < count:
        n = free[secrets.randbelow(len(free))]
        if n not in picked:
            picked.append(n)
    return picked


@dataclass
class VethLab:
    """``host_if`` lives in the root namespace (the agent attaches there); ``peer_if`` in ``netns``."""

    prefix: str = "sen"
    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    subnet: int = field(default_factory=lambda: secrets.randbelow(250) + 1)

    def __post_init__(self) -> None:
        self.netns = f"{self.prefix}-{self.tag}"
        self.host_if = f"{self.prefix}{self.tag}h"[:15]
        self.peer_if = f"{self.prefix}{self.tag}p"[:15]
        self.host_ip = f"198.18.{self.subnet}.1"
        self.peer_ip = f"198.18.{self.subnet}.2"
        self.host_ip6 = f"2001:db8:{self.subnet:x}::1"
        self.peer_ip6 = f"2001:db8:{self.subnet:x}::2"
        self._up = False

    def open(self) -> "VethLab":
        try:
            run("ip", "netns", "add", self.netns)
            self._up = True
            run("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.peer_if)
            run("ip", "link", "set", self.peer_if, "netns", self.netns)
            run("ip", "addr", "add", f"{self.host_ip}/24", "dev", self.host_if)
            run("ip", "-6", "addr", "add", f"{self.host_ip6}/64", "dev", self.host_if, "nodad")
            run("ip", "link", "set", self.host_if, "up")
            self.ns("ip", "addr", "add", f"{self.peer_ip}/24", "dev", self.peer_if)
            self.ns("ip", "-6", "addr", "add", f"{self.peer_ip6}/64", "dev", self.peer_if, "nodad")
            self.ns("ip", "link", "set", self.peer_if, "up")
            self.ns("ip", "link", "set", "lo", "up")
        except Exception:
            self.close()
            raise
        return self

    def add_peer_address(self, address: str) -> None:
        """One more IPv4 address (same /24) on the namespace side, e.g. a second "attacker"."""
        self.ns("ip", "addr", "add", f"{address}/24", "dev", self.peer_if)

    def peer_address(self, host: int) -> str:
        """``198.18.<subnet>.<host>``: an address of the lab's IPv4 subnet."""
        return f"198.18.{self.subnet}.{host}"

    def ns_pids(self) -> list[int]:
        """Processes running inside the lab namespace now."""
        if not self._up:
            return []
        out = run("ip", "netns", "pids", self.netns, check=False).stdout
        return [int(p) for p in out.split() if p.isdigit()]

    def ns(self, *cmd: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run ``cmd`` inside the lab namespace."""
        return run("ip", "netns", "exec", self.netns, *cmd, check=check, timeout=timeout)

    def ping_from_peer(self, target: str, count: int = 3) -> int:
        """Pings sent from the namespace to ``target``; returns how many replies came back."""
        result = self.ns(
            "ping",
            "-n",
            "-q",
            "-c",
            str(count),
            "-i",
            "0.2",
            "-W",
            "1",
            target,
            check=False,
            timeout=10 + count,
        )
        for line in result.stdout.splitlines():
            if "received" in line:
                return int(line.split(",")[1].split()[0])
        return 0

    def close(self) -> None:
        if self._up:
            for pid in self.ns_pids():  # a namespace outlives ``ip netns del`` while a process holds it
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            run("ip", "netns", "del", self.netns, check=False)
            self._up = False
        run("ip", "link", "del", self.host_if, check=False)

    def __enter__(self) -> "VethLab":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
