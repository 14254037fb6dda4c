"""Build Ethernet frames for test runs and replay (wire bytes, not kernel ABI)."""

import ipaddress
import struct

from sentinel_domain.common import PacketHeader, Protocol

_ETH_SRC = bytes.fromhex("020000000001")
_ETH_DST = bytes.fromhex("020000000002")


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def l4_bytes(packet: PacketHeader, payload: bytes = b"") -> bytes:
    proto = packet.protocol
    if proto == Protocol.TCP:
        return (
            struct.pack(
                "!HHIIBBHHH", packet.src_port or 0, packet.dst_port or 0, 1, 0, 5 << 4, 0x02, 65535, 0, 0
            )
            + payload
        )
    if proto == Protocol.UDP:
        return struct.pack("!HHHH", packet.src_port or 0, packet.dst_port or 0, 8 + len(payload), 0) + payload
    if proto in (Protocol.ICMP, Protocol.ICMPV6):
        return struct.pack("!BBHHH", packet.icmp_type or 8, packet.icmp_code or 0, 0, 1, 1) + payload
    return payload


def build_frame(
    packet: PacketHeader,
    payload: bytes = b"",
    vlan_ids: tuple[int, ...] | None = None,
    fragment_offset: int = 0,
) -> bytes:
    """An Ethernet frame carrying ``packet``; ``vlan_ids`` outer→inner (default: the packet's vlan_id)."""
    if vlan_ids is None:
        vlan_ids = (packet.vlan_id,) if packet.vlan_id else ()
    l4 = l4_bytes(packet, payload) if fragment_offset == 0 else payload or b"\0" * 8
    if isinstance(packet.src, ipaddress.IPv4Address):
        ethertype = 0x0800
        flags_frag = fragment_offset // 8
        header = struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            20 + len(l4),
            1,
            flags_frag,
            64,
            packet.protocol,
            0,
            packet.src.packed,
            packet.dst.packed,
        )
        l3 = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    else:
        ethertype = 0x86DD
        next_header = packet.protocol
        ext = b""
        if fragment_offset:
            ext = struct.pack("!BBHI", packet.protocol, 0, (fragment_offset // 8) << 3, 1)
            next_header = 44
        l3 = (
            struct.pack(
                "!IHBB16s16s",
                6 << 28,
                len(ext) + len(l4),
                next_header,
                64,
                packet.src.packed,
                packet.dst.packed,
            )
            + ext
        )
    # Two tags = 802.1ad outer + 802.1Q inner; the innermost tag is followed by the real ethertype.
    eth = _ETH_DST + _ETH_SRC
    if vlan_ids:
        tpids = [0x88A8 if (i == 0 and len(vlan_ids) > 1) else 0x8100 for i in range(len(vlan_ids))]
        eth += struct.pack("!H", tpids[0])
        for i, vid in enumerate(vlan_ids):
            nxt = tpids[i + 1] if i + 1 < len(vlan_ids) else ethertype
            eth += struct.pack("!HH", vid & 0x0FFF, nxt)
    else:
        eth += struct.pack("!H", ethertype)
    frame = eth + l3 + l4
    return frame + b"\0" * max(0, 60 - len(frame))
