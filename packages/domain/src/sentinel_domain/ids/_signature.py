"""Suricata/Snort rules (the supported subset) as value objects, and their header matching.

Address and port specs keep Suricata's tree: ``any``, a leaf, ``!x`` and ``[a, b, !c]``. A list
matches when it has no positive item or one positive item matches, and no negated item matches —
so ``[10.0.0.0/8, !10.0.0.1]`` is the /8 minus one host and ``[!a, !b]`` is everything but a and b.
"""

import enum
from dataclasses import dataclass

from sentinel_domain.common.addresses import IpAddress, IpNetwork
from sentinel_domain.common.packet import PacketHeader
from sentinel_domain.common.ports import PortRange
from sentinel_domain.common.protocol import Protocol
from sentinel_domain.ids.entity import FlowDirection, PayloadEvent, RuleMode, Threshold


@dataclass(frozen=True, slots=True)
class AddressSpec:
    """``kind`` is any, net (``network``), not (``items[0]``) or list (``items``)."""

    kind: str
    network: IpNetwork | None = None
    items: tuple["AddressSpec", ...] = ()

    def matches(self, address: IpAddress) -> bool:
        if self.kind == "any":
            return True
        if self.kind == "net":
            assert self.network is not None
            return self.network.version == address.version and address in self.network
        if self.kind == "not":
            return not self.items[0].matches(address)
        positives = [i for i in self.items if i.kind != "not"]
        if positives and not any(i.matches(address) for i in positives):
            return False
        return not any(i.items[0].matches(address) for i in self.items if i.kind == "not")


@dataclass(frozen=True, slots=True)
class PortSpec:
    """``kind`` is any, range (``ports``), not (``items[0]``) or list (``items``)."""

    kind: str
    ports: PortRange | None = None
    items: tuple["PortSpec", ...] = ()

    def matches(self, port: int | None) -> bool:
        """``any`` matches portless packets (ICMP); every other spec needs a port."""
        if self.kind == "any":
            return True
        if port is None:
            return False
        if self.kind == "range":
            return port in self.ports  # type: ignore[operator]
        if self.kind == "not":
            return not self.items[0].matches(port)
        positives = [i for i in self.items if i.kind != "not"]
        if positives and not any(i.matches(port) for i in positives):
            return False
        return not any(i.items[0].matches(port) for i in self.items if i.kind == "not")

    def finite_ports(self, limit: int = 256) -> frozenset[int] | None:
        """The ports this spec matches when that is a small positive set, else None ("all")."""
        if self.kind == "range":
            assert self.ports is not None
            if self.ports.end - self.ports.start >= limit:
                return None
            return frozenset(range(self.ports.start, self.ports.end + 1))
        if self.kind != "list" or any(i.kind == "not" for i in self.items):
            return None
        found: set[int] = set()
        for item in self.items:
            ports = item.finite_ports(limit)
            if ports is None:
                return None
            found |= ports
        return frozenset(found) if len(found) <= limit else None


ANY_ADDRESS = AddressSpec("any")
ANY_PORTS = PortSpec("any")


class Action(enum.Enum):
    ALERT = "alert"
    DROP = "drop"
    PASS = "pass"  # a matching pass rule silences every alert for that packet

    @property
    def mode(self) -> RuleMode:
        return RuleMode.BLOCK if self is Action.DROP else RuleMode.ALERT


@dataclass(frozen=True, slots=True)
class ContentMatch:
    """``content`` and its modifiers. Positions are byte offsets into the payload: ``offset``/``depth``
    bound the match to ``[offset, offset + depth)``; ``distance``/``within`` (relative) bound it to
    ``[prev_end + distance, prev_end + distance + within)`` where ``prev_end`` is where the previous
    content or pcre match of the rule ended."""

    pattern: bytes
    nocase: bool = False
    offset: int | None = None
    depth: int | None = None
    distance: int | None = None
    within: int | None = None

    @property
    def relative(self) -> bool:
        return self.distance is not None or self.within is not None


@dataclass(frozen=True, slots=True)
class PcreMatch:
    """``pcre:"/regex/flags"`` with flags i, s, m; it matches anywhere in the payload, and a
    following relative content counts from the end of (any of) its matches."""

    regex: bytes
    nocase: bool = False
    dotall: bool = False
    multiline: bool = False


Condition = ContentMatch | PcreMatch


@dataclass(frozen=True, slots=True)
class FlowCondition:
    """What ``flow`` asks: a direction (None = either) and an established state (None = any)."""

    direction: FlowDirection | None = None
    established: bool | None = None

    def holds(self, event: PayloadEvent) -> bool:
        if self.direction is not None and event.direction is not self.direction:
            return False
        return self.established is None or event.established is self.established


@dataclass(frozen=True, slots=True)
class SignatureRule:
    """One loaded rule. ``protocol`` ANY stands for Suricata's ``ip``; ``icmp`` matches ICMPv4 and v6."""

    sid: int
    action: Action
    protocol: Protocol
    src: AddressSpec = ANY_ADDRESS
    src_ports: PortSpec = ANY_PORTS
    dst: AddressSpec = ANY_ADDRESS
    dst_ports: PortSpec = ANY_PORTS
    bidirectional: bool = False
    msg: str = ""
    conditions: tuple[Condition, ...] = ()
    flow: FlowCondition = FlowCondition()
    rev: int = 1
    gid: int = 1
    classtype: str | None = None
    priority: int = 3
    metadata: tuple[tuple[str, str], ...] = ()
    references: tuple[tuple[str, str], ...] = ()
    threshold: Threshold | None = None
    line: int = 0

    def header_matches(self, header: PacketHeader) -> bool:
        """Protocol, addresses and ports (either orientation for ``<>``)."""
        if self.protocol is Protocol.ICMP:
            if header.protocol not in (Protocol.ICMP, Protocol.ICMPV6):
                return False
        elif self.protocol is not Protocol.ANY and header.protocol != self.protocol:
            return False
        forward = (
            self.src.matches(header.src)
            and self.dst.matches(header.dst)
            and self.src_ports.matches(header.src_port)
            and self.dst_ports.matches(header.dst_port)
        )
        if forward or not self.bidirectional:
            return forward
        return (
            self.src.matches(header.dst)
            and self.dst.matches(header.src)
            and self.src_ports.matches(header.dst_port)
            and self.dst_ports.matches(header.src_port)
        )

    def metadata_values(self, key: str) -> list[str]:
        return [value for k, value in self.metadata if k == key]


@dataclass(frozen=True, slots=True)
class SkippedRule:
    """A rule that was not loaded: where it starts, its sid when readable, and why."""

    line: int
    sid: int | None
    reason: str
    text: str


@dataclass(frozen=True, slots=True)
class SignatureSet:
    """The result of loading a ``.rules`` text: the rules in file order and the skip report."""

    rules: tuple[SignatureRule, ...]
    skipped: tuple[SkippedRule, ...]

    @property
    def loaded(self) -> int:
        return len(self.rules)
