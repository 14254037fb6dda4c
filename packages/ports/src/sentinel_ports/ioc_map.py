"""IocMap: where threat-intel address IOCs are enforced on packets (the kernel, or a fake).

What is enforced (the same for every implementation): live IP IOCs only — host addresses, and
CIDRs narrow enough to list (at most ``MAX_EXPANDED_PREFIX_ADDRESSES`` addresses: IPv4 /24 or
longer, IPv6 /120 or longer), each expanded to its addresses. Broader CIDRs, domains and URLs are
not enforced here (``IocLoadReport`` counts them): userspace engines handle those. Expiry is
judged at load time; reloading is how expired IOCs leave.

Per address the entry is the one ``sentinel_domain.threatintel.IocDatabase`` would pick among
the enforced IOCs: highest confidence, then the most specific, then block over alert. A packet
is checked on both addresses; when both hit, the higher action (block over alert) decides and
the source wins a tie. A deciding ``block`` entry drops the packet; ``alert`` passes it.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass

from sentinel_domain.common import IpAddress, PacketHeader
from sentinel_domain.threatintel import Ioc, IocAction, ThreatType

MAX_EXPANDED_PREFIX_ADDRESSES = 256


@dataclass(frozen=True, slots=True)
class IocLoadReport:
    """What one load did with its input.

    ``addresses``: entries now enforced (hosts plus expanded CIDR addresses, both families).
    ``expanded_cidrs``: CIDR IOCs enforced by listing their addresses. ``broad_cidrs``: CIDR
    IOCs too broad to list. ``not_addresses``: domain and URL IOCs. ``expired``: IOCs already
    expired at load. ``over_capacity``: addresses refused because a family's set was full
    (hosts first, in input order, then CIDR addresses). ``invalid``: IP IOCs whose value is not
    a canonical address or CIDR.
    ``feeds``: feed ids of the enforced entries (the kernel adapter lists them in the order of
    its feed indexes; no other order is promised).
    """

    addresses: int = 0
    expanded_cidrs: int = 0
    broad_cidrs: int = 0
    not_addresses: int = 0
    expired: int = 0
    over_capacity: int = 0
    invalid: int = 0
    feeds: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IocHit:
    """The enforced entry for one address."""

    address: IpAddress
    action: IocAction
    feed_id: str
    confidence: int
    threat_type: ThreatType


@dataclass(frozen=True, slots=True)
class IocVerdict:
    """What the enforced set did to one packet: ``hit`` is the deciding entry (None: no IOC)."""

    hit: IocHit | None = None
    src_hit: bool = False
    dst_hit: bool = False

    @property
    def dropped(self) -> bool:
        return self.hit is not None and self.hit.action is IocAction.BLOCK


class IocMap(ABC):
    @abstractmethod
    def load(self, iocs: Iterable[Ioc], now: float) -> IocLoadReport:
        """Replace the whole enforced set with ``iocs`` (judged at ``now``, Unix seconds).

        A packet checked during the load sees the old set or the new one, never a mix.
        """

    @abstractmethod
    def lookup(self, address: IpAddress) -> IocHit | None:
        """The enforced entry for ``address``, or None."""

    @abstractmethod
    def check(self, packet: PacketHeader) -> IocVerdict:
        """Run ``packet`` against the enforced set (see the module docstring for the rules)."""

    @abstractmethod
    def counters(self) -> dict[str, int]:
        """Totals since creation: at least ``seen``, ``matched`` and ``dropped``."""
