"""IP addresses and CIDRs (v4 and v6), and their kernel word form.

The contract carries addresses as four u32 words, each the big-endian value of four wire bytes;
IPv4 is ``[v4, 0, 0, 0]``.
"""

import ipaddress

from sentinel_domain.common.errors import ValidationError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_address(text: str) -> IpAddress:
    """Parse a bare IPv4 or IPv6 address, raising ValidationError on anything else."""
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError as exc:
        raise ValidationError(f"invalid IP address '{text}': {exc}") from None


def parse_cidr(text: str) -> IpNetwork:
    """Parse ``a.b.c.d[/0-32]`` or an IPv6 prefix (bare address = host prefix).

    Host bits are not allowed to be set (``10.0.0.1/8`` is rejected) so a rule always means what it
    says; the message uses the contract's wording ``invalid CIDR notation '<v>': <reason>``.
    """
    raw = text.strip()
    if not raw:
        raise ValidationError(f"invalid CIDR notation '{text}': empty")
    if "/" in raw:
        addr, _, plen = raw.partition("/")
        if not plen.isdigit():
            raise ValidationError(f"invalid CIDR notation '{text}': prefix length must be a number")
        limit = 128 if ":" in addr else 32
        if int(plen) > limit:
            raise ValidationError(f"invalid CIDR notation '{text}': prefix length must be 0-{limit}")
    try:
        return ipaddress.ip_network(raw, strict=True)
    except ValueError as exc:
        raise ValidationError(f"invalid CIDR notation '{text}': {exc}") from None


def address_to_words(addr: IpAddress) -> tuple[int, int, int, int]:
    """The contract's ``[u32; 4]`` form of an address."""
    if addr.version == 4:
        return (int(addr), 0, 0, 0)
    value = int(addr)
    return (
        (value >> 96) & 0xFFFFFFFF,
        (value >> 64) & 0xFFFFFFFF,
        (value >> 32) & 0xFFFFFFFF,
        value & 0xFFFFFFFF,
    )


def address_from_words(words: tuple[int, int, int, int] | list[int], is_ipv6: bool) -> IpAddress:
    """Inverse of :func:`address_to_words`."""
    if not is_ipv6:
        return ipaddress.IPv4Address(words[0] & 0xFFFFFFFF)
    value = 0
    for word in words:
        value = (value << 32) | (word & 0xFFFFFFFF)
    return ipaddress.IPv6Address(value)
