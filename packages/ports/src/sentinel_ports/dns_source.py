"""DnsSource: a stream of DNS messages seen on the wire (passive capture), one per packet."""

import enum
from abc import ABC
from dataclasses import dataclass

from sentinel_domain.common import IpAddress
from sentinel_ports.event_source import EventSource


class DnsDirection(enum.Enum):
    QUERY = "query"  # to port 53
    RESPONSE = "response"  # from port 53


class DnsTransport(enum.Enum):
    UDP = "udp"
    TCP = "tcp"  # the message without its 2-byte length prefix


@dataclass(frozen=True, slots=True)
class DnsCapture:
    """One captured DNS message, ready for ``sentinel_domain.dns.parse_message``.

    ``message`` holds at most the capture cap; ``message_length`` is the whole message's
    length (the UDP payload, or the TCP length prefix). ``egress`` says the packet was leaving
    ``ifindex`` (else arriving). ``timestamp_ns`` is Unix epoch nanoseconds.
    """

    timestamp_ns: int
    direction: DnsDirection
    transport: DnsTransport
    src: IpAddress
    dst: IpAddress
    src_port: int
    dst_port: int
    message: bytes
    message_length: int
    vlan_id: int = 0
    ifindex: int = 0
    egress: bool = False

    @property
    def truncated(self) -> bool:
        """True when only the first ``len(message)`` bytes of the message were captured."""
        return len(self.message) < self.message_length


class DnsSource(EventSource[DnsCapture], ABC):
    """DNS messages in the order the datapath saw them; malformed records counted, never raised."""
