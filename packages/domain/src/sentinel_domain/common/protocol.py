"""IP protocols as the kernel numbers them; ``ANY`` is 0, the contract's wildcard."""

import enum

from sentinel_domain.common.errors import ValidationError


class Protocol(enum.IntEnum):
    ANY = 0
    ICMP = 1
    TCP = 6
    UDP = 17
    ICMPV6 = 58

    @property
    def label(self) -> str:
        return self.name.lower()


_ALIASES = {
    "any": Protocol.ANY,
    "*": Protocol.ANY,
    "tcp": Protocol.TCP,
    "udp": Protocol.UDP,
    "icmp": Protocol.ICMP,
    "icmpv6": Protocol.ICMPV6,
    "ipv6-icmp": Protocol.ICMPV6,
}


def parse_protocol(value: object) -> Protocol:
    """Parse ``tcp|udp|icmp|icmpv6|any|*`` (case-insensitive) or a protocol number we know."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return Protocol(value)
        except ValueError:
            pass
    elif isinstance(value, str) and value.strip().lower() in _ALIASES:
        return _ALIASES[value.strip().lower()]
    allowed = ", ".join(sorted(_ALIASES))
    raise ValidationError(f"invalid value '{value}' for field 'protocol': expected one of {allowed}")
