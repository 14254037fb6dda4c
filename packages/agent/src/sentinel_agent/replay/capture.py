"""Read a pcap or pcapng capture (dpkt) into Ethernet frames with nanosecond timestamps.

The kernel programs expect Ethernet frames, so the other common link types are given a
synthetic Ethernet header: raw IP (``tcpdump -i any`` on some systems, tun devices), Linux
cooked captures v1 and v2 (``tcpdump -i any``). A file that ends in the middle of a record is an
error, not a silently shorter capture: dpkt reads records with ``read(n)``, and a short read
anywhere but at a record boundary means the file was cut.
"""

import os
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import dpkt

DLT_EN10MB, DLT_RAW, DLT_LINUX_SLL, DLT_RAW_LINUX, DLT_LINUX_SLL2 = 1, 101, 113, 12, 276
SUPPORTED_LINKTYPES = {
    DLT_EN10MB: "Ethernet",
    DLT_RAW: "raw IP",
    DLT_RAW_LINUX: "raw IP",
    DLT_LINUX_SLL: "Linux cooked v1",
    DLT_LINUX_SLL2: "Linux cooked v2",
}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
PCAP_MAGICS = {bytes.fromhex(m) for m in ("a1b2c3d4", "d4c3b2a1", "a1b23c4d", "4d3cb2a1")}
_SYNTHETIC_MACS = bytes.fromhex("020000000002") + bytes.fromhex("020000000001")


class CaptureError(Exception):
    """The capture cannot be read; the message says why and where."""


@dataclass(frozen=True, slots=True)
class CapturedFrame:
    index: int  # 1-based, as Wireshark numbers packets
    timestamp_ns: int
    frame: bytes  # Ethernet


class _TruncatedError(Exception):
    pass


class _ExactReads:
    """A file wrapper whose ``read(n)`` raises when the file ends inside the ``n`` bytes.

    After the file header (:meth:`records`), dpkt reads each record as a header then a body;
    the file may end cleanly only where a header would start. Lengths are checked against the
    file size before reading, so a corrupt length never allocates gigabytes.
    """

    def __init__(self, f: BinaryIO, name: str) -> None:
        self._f = f
        self.name = name
        self._size = os.fstat(f.fileno()).st_size
        self._records = False
        self._expect_header = True

    def records(self) -> None:
        self._records, self._expect_header = True, True

    def read(self, n: int = -1) -> bytes:
        remaining = self._size - self._f.tell()
        header = self._expect_header
        if self._records:
            self._expect_header = not header
        if 0 <= remaining < n:
            if self._records and header and remaining == 0:
                return b""  # a clean end, between records
            if self._records and not header and remaining == 0:
                raise _TruncatedError("the file ends right after a record header")
            raise _TruncatedError(f"the file ends {n - remaining} bytes short of a complete record")
        return self._f.read(n)

    def fileno(self) -> int:
        return self._f.fileno()


def _ethernet(linktype: int, data: bytes) -> bytes:
    if linktype == DLT_EN10MB:
        return data
    if linktype in (DLT_RAW, DLT_RAW_LINUX):
        version = data[0] >> 4 if data else 0
        ethertype = 0x86DD if version == 6 else 0x0800
        return _SYNTHETIC_MACS + struct.pack("!H", ethertype) + data
    if linktype == DLT_LINUX_SLL:  # 16-byte header, protocol in the last two bytes
        return _SYNTHETIC_MACS + data[14:16] + data[16:]
    # DLT_LINUX_SLL2: 20-byte header, protocol first
    return _SYNTHETIC_MACS + data[0:2] + data[20:]


def read_capture(path: str | Path) -> Iterator[CapturedFrame]:
    """Frames of ``path`` in file order. Raises CaptureError (never a dpkt/struct exception);
    the file header is checked at once, a cut or corrupt record when iteration reaches it."""
    path = Path(path)
    try:
        f = path.open("rb")
    except OSError as exc:
        raise CaptureError(f"{path}: cannot open: {exc.strerror}") from None
    try:
        kind, reader = _open_reader(f, path)
    except BaseException:
        f.close()
        raise
    return _frames(f, path, kind, reader)


def _open_reader(f: BinaryIO, path: Path) -> tuple[str, Any]:
    head = f.read(4)
    f.seek(0)
    if head != PCAPNG_MAGIC and head not in PCAP_MAGICS:
        raise CaptureError(f"{path}: not a pcap or pcapng file (magic {head.hex() or 'missing'})")
    kind = "pcapng" if head == PCAPNG_MAGIC else "pcap"
    wrapped = _ExactReads(f, str(path))
    try:
        reader = dpkt.pcapng.Reader(wrapped) if kind == "pcapng" else dpkt.pcap.Reader(wrapped)
    except _TruncatedError:
        raise CaptureError(f"{path}: truncated {kind} file header") from None
    except (ValueError, dpkt.Error, struct.error) as exc:
        raise CaptureError(f"{path}: not a valid {kind} file ({exc})") from None
    wrapped.records()
    linktype = reader.datalink()
    if linktype not in SUPPORTED_LINKTYPES:
        supported = ", ".join(f"{k} ({v})" for k, v in sorted(SUPPORTED_LINKTYPES.items()))
        raise CaptureError(f"{path}: link type {linktype} is not supported (supported: {supported})")
    return kind, reader


def _frames(f: BinaryIO, path: Path, kind: str, reader: Any) -> Iterator[CapturedFrame]:
    linktype = reader.datalink()
    # dpkt gives float seconds; rounding to the file's resolution restores exact stamps.
    resolution = int(getattr(reader, "_divisor", 1e6))
    scale = 10**9 // resolution if resolution and 10**9 % resolution == 0 else 0
    index = 0
    with f:
        try:
            for ts, data in reader:
                index += 1
                ns = round(float(ts) * resolution) * scale if scale else round(float(ts) * 1e9)
                yield CapturedFrame(index, ns, _ethernet(linktype, bytes(data)))
        except _TruncatedError as exc:
            raise CaptureError(f"{path}: truncated {kind} capture after packet {index}: {exc}") from None
        except (ValueError, dpkt.Error, struct.error, OverflowError) as exc:
            raise CaptureError(f"{path}: malformed {kind} record after packet {index} ({exc})") from None


def describe(frame: bytes) -> str:
    """``tcp 192.0.2.1:1234 > 192.0.2.2:80`` for a frame (best effort: ``ethertype 0x0806`` …)."""
    try:
        eth = dpkt.ethernet.Ethernet(frame)
    except (dpkt.Error, struct.error, ValueError):
        return "malformed"
    ip = eth.data
    if not isinstance(ip, dpkt.ip.IP | dpkt.ip6.IP6):
        return f"ethertype 0x{eth.type:04x}"
    src, dst = (
        socket.inet_ntop(socket.AF_INET6 if isinstance(ip, dpkt.ip6.IP6) else socket.AF_INET, a)
        for a in (ip.src, ip.dst)
    )
    l4 = ip.data
    proto = getattr(ip, "p", getattr(ip, "nxt", 0))
    name = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6"}.get(proto, f"proto {proto}")
    if isinstance(l4, dpkt.tcp.TCP | dpkt.udp.UDP):
        if ":" in src:
            src, dst = f"[{src}]", f"[{dst}]"
        return f"{name} {src}:{l4.sport} > {dst}:{l4.dport}"
    return f"{name} {src} > {dst}"
