"""The header fields of one packet, as engines see them (already parsed, no bytes)."""

from dataclasses import dataclass

from sentinel_domain.common.addresses import IpAddress
from sentinel_domain.common.protocol import Protocol


@dataclass(frozen=True, slots=True)
class PacketHeader:
    """What the datapath knows about a packet.

    ``src_port``/``dst_port`` are ``None`` when the packet has no L4 ports (ICMP, or a non-first
    fragment); ``vlan_id`` is 0 for an untagged packet; ``interface`` is the ingress interface name.
    """

    src: IpAddress
    dst: IpAddress
    protocol: int = Protocol.ANY
    src_port: int | None = None
    dst_port: int | None = None
    vlan_id: int = 0
    interface: str = ""
    icmp_type: int | None = None
    icmp_code: int | None = None

    @property
    def is_ipv6(self) -> bool:
        return self.src.version == 6
