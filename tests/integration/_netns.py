"""Sockets inside a lab namespace, made from this process (no subprocess per packet), and a
one-SYN probe that tells within milliseconds whether XDP on the host side lets a source through.

A socket belongs to the network namespace it was created in, whatever thread uses it later: a
short-lived thread joins the namespace (``setns`` changes only the calling thread) and creates it.
"""

import ctypes
import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

from sentinel_agent.lab import VethLab

CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
_libc = ctypes.CDLL(None, use_errno=True)


def in_netns(netns: str, make: Callable[[], Any]) -> Any:
    """``make()`` run on a thread that joined ``/var/run/netns/<netns>`` (the thread then ends)."""
    result: list[Any] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            fd = os.open(f"/var/run/netns/{netns}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns failed")
            finally:
                os.close(fd)
            result.append(make())
        except BaseException as exc:  # handed to the caller
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=10)
    if failure:
        raise failure[0]
    return result[0]


def mac_of(interface: str) -> bytes:
    with open(f"/sys/class/net/{interface}/address") as f:
        return bytes.fromhex(f.read().strip().replace(":", ""))


class SynProbe:
    """Raw TCP SYNs from the namespace side (any source address) and a receiver on the host side
    that sees only what XDP passed. ``arrives(src)`` sends one SYN and waits up to ``wait`` s."""

    def __init__(self, lab: VethLab, dport: int, wait: float = 0.05) -> None:
        self.lab, self.dport, self.wait = lab, dport, wait
        self._dst_mac = mac_of(lab.host_if)
        self.tx: socket.socket = in_netns(lab.netns, lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW))
        self.tx.bind((lab.peer_if, 0))
        self._src_mac = self.tx.getsockname()[4]
        self.rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.rx.bind((lab.host_if, 0))
        self._seq = 0

    def frame(self, src: str, seq: int, sport: int = 30000) -> bytes:
        tcp = struct.pack("!HHIIBBHHH", sport, self.dport, seq, 0, 5 << 4, 0x02, 65535, 0, 0)
        ip = struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            40,
            seq & 0xFFFF,
            0,
            64,
            6,
            0,
            socket.inet_aton(src),
            socket.inet_aton(self.lab.host_ip),
        )
        return self._dst_mac + self._src_mac + b"\x08\x00" + ip + tcp + b"\0" * 6

    def _drain(self) -> None:
        self.rx.setblocking(False)
        try:
            while True:
                self.rx.recv(2048)
        except BlockingIOError:
            pass
        finally:
            self.rx.setblocking(True)

    def _seen(self, seqs: set[int], deadline: float) -> set[int]:
        """Sequence numbers of our SYNs that reached the host side before ``deadline``."""
        seen: set[int] = set()
        while seen != seqs:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.rx.settimeout(left)
            try:
                frame, addr = self.rx.recvfrom(2048)
            except TimeoutError:
                break
            if addr[2] == PACKET_OUTGOING or frame[12:14] != b"\x08\x00" or frame[23] != 6:
                continue
            ihl = (frame[14] & 0x0F) * 4
            dport, seq = struct.unpack_from("!HI", frame, 14 + ihl + 2)
            if dport == self.dport and seq in seqs:
                seen.add(seq)
        return seen

    def burst(self, src: str, count: int, settle: float = 0.3) -> int:
        """Send ``count`` SYNs at once; how many reached the host side."""
        self._drain()
        seqs = set()
        frames = []
        for _ in range(count):
            self._seq += 1
            seqs.add(self._seq)
            frames.append(self.frame(src, self._seq, 20000 + self._seq % 20000))
        for f in frames:
            self.tx.send(f)
        return len(self._seen(seqs, time.monotonic() + settle))

    def arrives(self, src: str) -> bool:
        return self.burst(src, 1, self.wait) == 1

    def until(self, src: str, arriving: bool, budget: float = 1.0) -> float | None:
        """Probe until a SYN from ``src`` does (or does not) arrive; the seconds it took, or None
        if ``budget`` passed first (at least one probe is always sent)."""
        start = time.monotonic()
        while True:
            if self.arrives(src) == arriving:
                return time.monotonic() - start
            if time.monotonic() - start > budget:
                return None

    def close(self) -> None:
        self.tx.close()
        self.rx.close()
