"""Value types shared by every engine: addresses, CIDRs, ports, protocols, severity, MITRE refs, errors.

Engines never import each other; whatever two engines both need lives here.
"""

from sentinel_domain.common.addresses import (
    IpAddress,
    IpNetwork,
    address_from_words,
    address_to_words,
    parse_address,
    parse_cidr,
)
from sentinel_domain.common.errors import DomainError, ValidationError
from sentinel_domain.common.mitre import MitreRef
from sentinel_domain.common.packet import PacketHeader
from sentinel_domain.common.ports import PortRange, parse_port_range
from sentinel_domain.common.protocol import Protocol, parse_protocol
from sentinel_domain.common.severity import Severity, parse_severity

__all__ = [
    "DomainError",
    "IpAddress",
    "IpNetwork",
    "MitreRef",
    "PacketHeader",
    "PortRange",
    "Protocol",
    "Severity",
    "ValidationError",
    "address_from_words",
    "address_to_words",
    "parse_address",
    "parse_cidr",
    "parse_port_range",
    "parse_protocol",
    "parse_severity",
]
