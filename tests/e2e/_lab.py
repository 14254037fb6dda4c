"""The end-to-end lab: the agent as an operator runs it, real packets from an attacker namespace.

    attacker netns            root netns (the agent)                 sink netns
    [att peer_if] <== veth ==> [att host_if]  XDP/TC   ... routed ... [snk host_if] <== veth ==> [snk peer_if]
     198.18.A.2                 198.18.A.1                             198.18.S.1                  198.18.S.2

IPv4 is forwarded between the two veths by their own ``forwarding`` sysctls (the host's global
``ip_forward`` is never touched); both veths and namespaces are deleted on close, whatever happened.
The agent is a subprocess (``tests/integration/_agent.py``) with a generated YAML config; tests talk
to it only through its contract: REST, ``/metrics``, the CLI, signals and the files it writes.
"""

import ipaddress
import re
import socket
import struct
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

from _agent import AGENT, AgentProcess, agent_yaml, free_port, wait_until  # noqa: E402
from _traffic import count_arrivals, mac_of, send_syns  # noqa: E402

from sentinel_agent.lab import VethLab, run  # noqa: E402

__all__ = [
    "AGENT",
    "SNIFFER",
    "Agent",
    "AgentProcess",
    "Lab",
    "agent_yaml",
    "arrivals",
    "count_arrivals",
    "free_port",
    "ipv4_frame",
    "mac_of",
    "metric",
    "parse_metrics",
    "poll",
    "send_frames",
    "send_syns",
    "udp_to",
    "wait_until",
]


class Agent(AgentProcess):  # type: ignore[misc]  # imported by path: untyped here
    """``AgentProcess`` with a readiness wait sized for a loaded 2-core machine (bounded: 90 s)."""

    def __enter__(self) -> "Agent":
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise AssertionError(f"agent exited: {self.log_path.read_text()[-2000:]}")
            try:
                if self.get("/readyz")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()  # never leave an agent behind (``with`` does not call __exit__ here)
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


# --- raw frames from the attacker namespace, counted where they arrive ---------------------------

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4

FRAME_SENDER = r"""
import socket, sys
iface, frames = sys.argv[1], [bytes.fromhex(h) for h in sys.stdin.read().split()]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
for f in frames:
    s.send(f)
print(len(frames))
"""

SNIFFER = r"""
import select, socket, struct, sys
iface, proto, dport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind((iface, 0))
def match(frame, addr):
    if addr[2] == 4 or frame[12:14] != b"\x08\x00" or frame[23] != proto:
        return 0
    ihl = (frame[14] & 0x0F) * 4
    return int(struct.unpack_from("!H", frame, 14 + ihl + 2)[0] == dport)
print("ready", flush=True)
seen = 0
while True:  # until stdin closes (then drain what is queued), or 60 s of silence
    ready, _, _ = select.select([s, sys.stdin], [], [], 60)
    if not ready:
        break
    if sys.stdin in ready:
        s.setblocking(False)
        while True:
            try:
                seen += match(*s.recvfrom(4096))
            except BlockingIOError:
                break
        break
    seen += match(*s.recvfrom(4096))
print(seen, flush=True)
"""


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_frame(
    dst_mac: str,
    src: str,
    dst: str,
    proto: int,
    dport: int,
    sport: int = 40000,
    vlan: int | None = None,
    payload: bytes = b"",
    flags: int = 0x02,
) -> bytes:
    """Ethernet (+ one 802.1Q tag) / IPv4 / TCP (SYN) or UDP, checksummed, ready for the wire."""
    if proto == 6:
        l4 = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, flags, 65535, 0, 0) + payload
    else:
        l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    s, d = ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed
    pseudo = s + d + struct.pack("!BBH", 0, proto, len(l4))
    csum_at = 16 if proto == 6 else 6
    l4 = l4[:csum_at] + struct.pack("!H", _csum(pseudo + l4)) + l4[csum_at + 2 :]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0, 64, proto, 0, s, d)
    ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
    eth = bytes.fromhex(dst_mac) + bytes.fromhex("020000000099")
    eth += struct.pack("!HHH", 0x8100, vlan, 0x0800) if vlan is not None else b"\x08\x00"
    return eth + ip + l4


def send_frames(lab: VethLab, frames: list[bytes]) -> int:
    """Send raw ``frames`` from the lab namespace's peer interface; returns how many were sent."""
    result = subprocess.run(
        ["ip", "netns", "exec", lab.netns, sys.executable, "-c", FRAME_SENDER, lab.peer_if],
        input=" ".join(f.hex() for f in frames),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(result.stdout.strip())


def arrivals(
    interface: str, match: Callable[[bytes], bool], action: Callable[[], object], settle: float = 0.5
) -> int:
    """Inbound frames on ``interface`` (root namespace: only what XDP passed) matching ``match``
    while ``action`` runs and ``settle`` seconds after."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind((interface, 0))
    sock.settimeout(0.1)
    try:
        action()
        seen, deadline = 0, time.monotonic() + settle
        while time.monotonic() < deadline:
            try:
                frame, addr = sock.recvfrom(4096)
            except TimeoutError:
                continue
            if addr[2] != PACKET_OUTGOING and match(frame):
                seen += 1
        return seen
    finally:
        sock.close()


def udp_to(dport: int) -> Callable[[bytes], bool]:
    """Matches untagged or tagged IPv4/UDP frames to ``dport`` (as received on a veth)."""

    def match(frame: bytes) -> bool:
        offset = 18 if frame[12:14] == b"\x81\x00" else 14
        if frame[offset - 2 : offset] != b"\x08\x00" or frame[offset + 9] not in (6, 17):
            return False
        ihl = (frame[offset] & 0x0F) * 4
        return bool(struct.unpack_from("!H", frame, offset + ihl + 2)[0] == dport)

    return match
