"""Real packets for the namespace labs: a raw SYN sender (run inside a namespace) and a
receiver that counts what XDP let through (AF_PACKET sees only packets XDP passed)."""

import socket
import struct
import sys
import time
from collections.abc import Callable

from sentinel_agent.lab import VethLab

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4

SENDER = r"""
import socket, struct, sys, time
iface, dst_mac, src, dst = sys.argv[1], bytes.fromhex(sys.argv[2]), sys.argv[3], sys.argv[4]
count, dport = int(sys.argv[5]), int(sys.argv[6])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
src_mac = s.getsockname()[4]
frames = []
for i in range(count):
    tcp = struct.pack("!HHIIBBHHH", 20000 + i, dport, i, 0, 5 << 4, 0x02, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, i & 0xFFFF, 0, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    frames.append(dst_mac + src_mac + b"\x08\x00" + ip + tcp + b"\0" * 6)
t0 = time.monotonic()
for f in frames:
    s.send(f)
print(time.monotonic() - t0)
"""


def mac_of(interface: str) -> str:
    with open(f"/sys/class/net/{interface}/address") as f:
        return f.read().strip().replace(":", "")


def send_syns(lab: VethLab, count: int, dport: int) -> float:
    """Send ``count`` TCP SYNs from the lab namespace to the host side; returns the send duration."""
    result = lab.ns(
        sys.executable,
        "-c",
        SENDER,
        lab.peer_if,
        mac_of(lab.host_if),
        lab.peer_ip,
        lab.host_ip,
        str(count),
        str(dport),
        timeout=60,
    )
    return float(result.stdout.strip())


def count_arrivals(
    interface: str, dport: int, action: Callable[[], object], settle: float = 0.5
) -> tuple[int, object]:
    """Count inbound TCP SYNs to ``dport`` seen on ``interface`` while ``action`` runs."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind((interface, 0))
    sock.settimeout(0.2)
    result = action()
    seen = 0
    deadline = time.monotonic() + settle
    while time.monotonic() < deadline:
        try:
            frame, addr = sock.recvfrom(2048)
        except TimeoutError:
            continue
        if addr[2] == PACKET_OUTGOING or frame[12:14] != b"\x08\x00" or frame[23] != 6:
            continue
        ihl = (frame[14] & 0x0F) * 4
        port, flags = struct.unpack_from("!H", frame, 14 + ihl + 2)[0], frame[14 + ihl + 13]
        if port == dport and flags & 0x02:
            seen += 1
    sock.close()
    return seen, result
