"""SSRF policy for outgoing requests (webhooks, threat-intel feeds): which addresses may be contacted.

Only the policy lives here (standard library); each adapter applies it where its connections are
made, to every address the host resolved to, so neither DNS rebinding nor a redirect reaches an
address that was not checked. Refused: loopback, private (RFC 1918, ULA), link-local, CGNAT
(100.64/10), multicast, unspecified, reserved/special-purpose (anything not globally routable)
and cloud metadata addresses; IPv4 embedded in IPv6 (mapped, NAT64, 6to4) is checked as IPv4.
An operator who needs an internal destination lists its networks in an ``allow_networks`` key.
"""

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any

from sentinel_domain.common import IpAddress, IpNetwork

# Metadata services that are not covered by the ranges above (Azure's wireserver is public space).
METADATA = frozenset(ipaddress.ip_address(a) for a in ("168.63.129.16", "169.254.169.254", "fd00:ec2::254"))
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_6TO4 = ipaddress.ip_network("2002::/16")


class ForbiddenDestinationError(Exception):
    """The destination resolved to an address the guard refuses."""


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _6TO4:
        return address.sixtofour
    return None


def refusal_reason(address: IpAddress) -> str | None:
    """Why ``address`` must not be contacted, or None when it is a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_v4(address)
        if inner is not None:
            reason = refusal_reason(inner)
            return f"{reason} (embedded in {address})" if reason else None
    checks = (
        (address in METADATA, "cloud metadata"),
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address.version == 4 and address in _CGNAT, "CGNAT"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
        (not address.is_global, "not globally routable"),
    )
    return next((reason for hit, reason in checks if hit), None)


class AddressPolicy:
    """Refuse by :func:`refusal_reason` unless the address is inside an allow-listed network.

    ``what`` names the destination kind in refusals (``webhook``, ``feed``)."""

    def __init__(self, allow_networks: Iterable[IpNetwork] = (), what: str = "webhook") -> None:
        self.allow_networks = tuple(allow_networks)
        self.what = what

    def allowed(self, address: IpAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.allow_networks)

    def check(self, host: str, address: IpAddress) -> None:
        """Raise ForbiddenDestinationError when ``address`` (one of ``host``'s) is refused."""
        if self.allowed(address):
            return
        reason = refusal_reason(address)
        if reason is not None:
            raise ForbiddenDestinationError(
                f"{self.what} host {host} resolves to {address}: {reason} address"
            )


def parse_networks(texts: Sequence[str]) -> list[IpNetwork]:
    """Allow-list entries as networks (a bare address is a host network); ValueError if invalid."""
    return [ipaddress.ip_network(text.strip(), strict=False) for text in texts]


def resolved_addresses(infos: Iterable[tuple[Any, ...]]) -> list[IpAddress]:
    """The distinct addresses of ``getaddrinfo`` results, in order (an IPv6 zone id dropped): what
    a guarded connector checks, every one, before it connects to any."""
    addresses: list[IpAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses
