"""Firewall rules, scopes and decisions (contract §1.2, §7.1)."""

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sentinel_domain.common.addresses import IpNetwork, parse_cidr
from sentinel_domain.common.packet import PacketHeader
from sentinel_domain.common.ports import PortRange, parse_port_range
from sentinel_domain.common.protocol import Protocol, parse_protocol
from sentinel_domain.firewall.errors import FirewallRuleError

MAX_RULES = 4096
MAX_ID_LENGTH = 256
MAX_PRIORITY = 0xFFFFFFFF
_ID_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_IFACE_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")
_NAMESPACE_RE = re.compile(r"^[a-z0-9-]{1,63}$")


class RuleAction(enum.Enum):
    """What a matching rule does. ``reject`` is accepted and enforced as ``deny`` (no RST forging)."""

    ALLOW = "allow"
    DENY = "deny"
    LOG = "log"


_ACTIONS = {
    "allow": RuleAction.ALLOW,
    "pass": RuleAction.ALLOW,
    "deny": RuleAction.DENY,
    "drop": RuleAction.DENY,
    "block": RuleAction.DENY,
    "reject": RuleAction.DENY,
    "reset": RuleAction.DENY,
    "log": RuleAction.LOG,
}


def parse_action(value: object) -> RuleAction:
    if isinstance(value, RuleAction):
        return value
    if isinstance(value, str) and value.strip().lower() in _ACTIONS:
        return _ACTIONS[value.strip().lower()]
    raise FirewallRuleError(
        f"invalid value '{value}' for field 'action': expected one of {', '.join(_ACTIONS)}"
    )


class Verdict(enum.Enum):
    """The packet's fate. ``LOG`` passes the packet and reports it."""

    PASS = "pass"
    DROP = "drop"
    LOG = "log"


class FirewallMode(enum.Enum):
    """``alert``: deny rules only log. ``block``: deny rules drop."""

    ALERT = "alert"
    BLOCK = "block"


_MODES = {
    "alert": FirewallMode.ALERT,
    "monitor": FirewallMode.ALERT,
    "observe": FirewallMode.ALERT,
    "block": FirewallMode.BLOCK,
    "enforce": FirewallMode.BLOCK,
}


def parse_mode(value: object) -> FirewallMode:
    if isinstance(value, FirewallMode):
        return value
    if isinstance(value, str) and value.strip().lower() in _MODES:
        return _MODES[value.strip().lower()]
    raise FirewallRuleError(f"invalid value '{value}' for field 'mode': expected one of {', '.join(_MODES)}")


class DefaultPolicy(enum.Enum):
    PASS = "pass"
    DROP = "drop"


def parse_default_policy(value: object) -> DefaultPolicy:
    text = value.strip().lower() if isinstance(value, str) else value
    if text in ("pass", "allow", "accept"):
        return DefaultPolicy.PASS
    if text in ("drop", "deny", "block"):
        return DefaultPolicy.DROP
    raise FirewallRuleError(f"invalid value '{value}' for field 'default_policy': expected one of pass, drop")


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a rule applies: everywhere, one interface, or interfaces whose name starts with a namespace."""

    kind: str = "global"  # "global" | "interface" | "namespace"
    name: str = ""

    def applies_to(self, interface: str) -> bool:
        if self.kind == "interface":
            return interface == self.name
        if self.kind == "namespace":
            return interface.startswith(self.name)
        return True

    def __str__(self) -> str:
        return "global" if self.kind == "global" else f"{self.kind}:{self.name}"


GLOBAL_SCOPE = Scope()


def parse_scope(value: object) -> Scope:
    """Parse a scope: ``global``, ``<iface>``, ``interface:<iface>``, ``namespace:<ns>``,
    ``{interface: x}`` or ``{namespace: y}``."""
    if value is None:
        return GLOBAL_SCOPE
    if isinstance(value, Mapping):
        if len(value) == 1 and ("interface" in value or "namespace" in value):
            kind, name = next(iter(value.items()))
            return parse_scope(f"{kind}:{name}")
        raise FirewallRuleError(f"invalid scope '{value}': expected {{interface: x}} or {{namespace: y}}")
    if not isinstance(value, str):
        raise FirewallRuleError(f"invalid scope '{value}': expected a string or mapping")
    text = value.strip()
    if text in ("", "global"):
        return GLOBAL_SCOPE
    kind, sep, name = text.partition(":")
    if sep and kind == "namespace":
        if not _NAMESPACE_RE.match(name):
            raise FirewallRuleError(f"invalid scope '{value}': namespace must be 1-63 chars of [a-z0-9-]")
        return Scope("namespace", name)
    iface = name if sep and kind == "interface" else text
    if not _IFACE_RE.match(iface):
        raise FirewallRuleError(f"invalid scope '{value}': interface must be 1-15 chars of [A-Za-z0-9_.:-]")
    return Scope("interface", iface)


@dataclass(frozen=True, slots=True)
class FirewallRule:
    """One rule. Absent fields are wildcards; ``vlan_id`` 0 means "untagged only"."""

    id: str
    priority: int
    action: RuleAction
    protocol: Protocol = Protocol.ANY
    src_ip: IpNetwork | None = None
    dst_ip: IpNetwork | None = None
    src_port: PortRange | None = None
    dst_port: PortRange | None = None
    vlan_id: int | None = None
    scope: Scope = GLOBAL_SCOPE
    enabled: bool = True
    system: bool = False

    def __post_init__(self) -> None:
        if not self.id or len(self.id) > MAX_ID_LENGTH or not _ID_RE.match(self.id):
            raise FirewallRuleError(
                f"invalid rule id '{self.id}': 1-{MAX_ID_LENGTH} characters of [A-Za-z0-9_-]", "id"
            )
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise FirewallRuleError(f"rule '{self.id}': priority must be an integer", "priority")
        if not 0 <= self.priority <= MAX_PRIORITY:
            raise FirewallRuleError(
                f"rule '{self.id}': priority {self.priority} out of range 1-{MAX_PRIORITY}"
            )
        if self.priority == 0 and not self.system:
            raise FirewallRuleError(f"rule '{self.id}': priority 0 is reserved for system rules", "priority")
        if self.src_ip is not None and self.dst_ip is not None and self.src_ip.version != self.dst_ip.version:
            raise FirewallRuleError(f"rule '{self.id}': src_ip and dst_ip mix IPv4 and IPv6")
        if self.vlan_id is not None and not 0 <= self.vlan_id <= 4094:
            raise FirewallRuleError(
                f"rule '{self.id}': vlan_id {self.vlan_id} out of range 0-4094", "vlan_id"
            )

    @property
    def family(self) -> int | None:
        """4 or 6 when the rule names an address, else None (matches both families)."""
        net = self.src_ip or self.dst_ip
        return net.version if net is not None else None

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> "FirewallRule":
        """Build a rule from the contract's YAML/JSON shape, with precise errors."""
        rule_id = data.get("id")
        if not isinstance(rule_id, str):
            raise FirewallRuleError("rule id is required and must be a string", "id")
        for key in ("priority", "action"):
            if key not in data:
                raise FirewallRuleError(f"rule '{rule_id}': {key} is required", key)
        vlan = data.get("vlan_id")
        if vlan is not None and (isinstance(vlan, bool) or not isinstance(vlan, int)):
            raise FirewallRuleError(f"rule '{rule_id}': vlan_id must be an integer", "vlan_id")
        enabled = data.get("enabled", True)
        if not isinstance(enabled, bool):
            raise FirewallRuleError(f"rule '{rule_id}': enabled must be true or false", "enabled")
        priority = data["priority"]
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise FirewallRuleError(f"rule '{rule_id}': priority must be an integer", "priority")

        def opt(key: str, parse):  # type: ignore[no-untyped-def]
            value = data.get(key)
            if value is None:
                return None
            try:
                return parse(value)
            except FirewallRuleError:
                raise
            except ValueError as exc:
                raise FirewallRuleError(f"rule '{rule_id}': {exc}", key) from None

        def cidr(value: object) -> IpNetwork:
            if not isinstance(value, str):
                raise FirewallRuleError(f"invalid CIDR notation '{value}': expected a string")
            return parse_cidr(value)

        return cls(
            id=rule_id,
            priority=priority,
            action=parse_action(data["action"]),
            protocol=opt("protocol", parse_protocol) or Protocol.ANY,
            src_ip=opt("src_ip", cidr),
            dst_ip=opt("dst_ip", cidr),
            src_port=opt("src_port", parse_port_range),
            dst_port=opt("dst_port", parse_port_range),
            vlan_id=vlan,
            scope=parse_scope(data.get("scope")),
            enabled=enabled,
        )

    def to_dict(self) -> dict[str, object]:
        """The contract's ``RuleResponse`` shape (optional fields only when set)."""
        out: dict[str, object] = {
            "id": self.id,
            "enabled": self.enabled,
            "priority": self.priority,
            "action": self.action.value,
            "protocol": self.protocol.label,
            "scope": str(self.scope),
        }
        for key, net in (("src_ip", self.src_ip), ("dst_ip", self.dst_ip)):
            if net is not None:
                full = net.prefixlen == net.max_prefixlen
                out[key] = str(net.network_address) if full else str(net)
        for key, ports in (("src_port", self.src_port), ("dst_port", self.dst_port)):
            if ports is not None:
                out[key] = str(ports)
        if self.vlan_id is not None:
            out["vlan_id"] = self.vlan_id
        if self.system:
            out["system"] = True
        return out


@dataclass(frozen=True, slots=True)
class Decision:
    """The engine's answer: a verdict and the id of the rule that gave it (None = default policy)."""

    verdict: Verdict
    rule_id: str | None = None


@dataclass(frozen=True, slots=True)
class FirewallEvent:
    """What the datapath reported about one packet it dropped or logged.

    ``rule_id`` is the matched rule (None when the default policy or the IPS blocklist decided,
    or when the rule set it referred to is no longer known); ``timestamp_ns`` is Unix epoch ns.
    """

    timestamp_ns: int
    packet: PacketHeader
    verdict: Verdict
    rule_id: str | None = None
    blocklisted: bool = False
