"""IDS rules in the contract's YAML form (§1.4, §1.5), events and alerts.

Times are integer nanoseconds from a monotonic clock chosen by the caller; nothing here reads one.
"""

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sentinel_domain.common.matching import MAX_PATTERN_LENGTH
from sentinel_domain.common.mitre import MitreRef
from sentinel_domain.common.packet import PacketHeader
from sentinel_domain.common.protocol import Protocol, parse_protocol
from sentinel_domain.common.severity import Severity, parse_severity
from sentinel_domain.ids.errors import IdsRuleError

MAX_RULES = 50_000
MAX_ID_LENGTH = 256
_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]+$")
_UNSUPPORTED_KEYS = ("domain_pattern", "domain_match_mode", "country_thresholds")


class RuleMode(enum.Enum):
    """What a match does: ``alert`` reports; ``block`` reports and asks the datapath to drop."""

    ALERT = "alert"
    BLOCK = "block"


_MODES = {
    "alert": RuleMode.ALERT,
    "monitor": RuleMode.ALERT,
    "observe": RuleMode.ALERT,
    "block": RuleMode.BLOCK,
    "enforce": RuleMode.BLOCK,
}


def parse_mode(value: object, field: str = "mode") -> RuleMode:
    """``alert|monitor|observe`` → alert, ``block|enforce`` → block (case-insensitive)."""
    if isinstance(value, RuleMode):
        return value
    if isinstance(value, str) and value.strip().lower() in _MODES:
        return _MODES[value.strip().lower()]
    raise IdsRuleError(f"invalid value '{value}' for field '{field}': expected one of {', '.join(_MODES)}")


class Component(enum.Enum):
    """Which rule array a rule belongs to: detection (``ids.rules``) or prevention (``ips.rules``)."""

    IDS = "ids"
    IPS = "ips"


class ThresholdType(enum.Enum):
    """Contract §7.3; ``detection_filter`` (Suricata) alerts on every hit after ``count``."""

    LIMIT = "limit"  # alert while count <= N in the window
    THRESHOLD = "threshold"  # alert when count % N == 0
    BOTH = "both"  # alert once per window, when count reaches N
    DETECTION_FILTER = "detection_filter"  # alert when count > N


class TrackBy(enum.Enum):
    SRC = "src_ip"
    DST = "dst_ip"
    BOTH = "both"


def _int(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise IdsRuleError(
            f"invalid value '{value}' for field '{name}': expected an integer {low}-{high}", name
        )
    return value


@dataclass(frozen=True, slots=True)
class Threshold:
    """Alert suppression per (rule, tracked address) over a window of ``window_secs`` seconds."""

    type: ThresholdType
    count: int
    window_secs: int
    track_by: TrackBy = TrackBy.SRC

    def __post_init__(self) -> None:
        _int(self.count, "threshold.count", 1, 2**32 - 1)
        _int(self.window_secs, "threshold.window_secs", 1, 2**32 - 1)

    @classmethod
    def from_dict(cls, data: object) -> "Threshold":
        """``{type: limit|threshold|both, count: >0, window_secs: >0, track_by: src_ip|dst_ip|both}``."""
        if not isinstance(data, Mapping):
            raise IdsRuleError(f"invalid threshold '{data}': expected a mapping", "threshold")
        kinds = {t.value: t for t in (ThresholdType.LIMIT, ThresholdType.THRESHOLD, ThresholdType.BOTH)}
        kind = data.get("type")
        if not isinstance(kind, str) or kind.strip().lower() not in kinds:
            raise IdsRuleError(
                f"invalid value '{kind}' for field 'threshold.type': expected one of limit, threshold, both"
            )
        track = data.get("track_by", "src_ip")
        tracks = {t.value: t for t in TrackBy}
        if not isinstance(track, str) or track.strip().lower() not in tracks:
            raise IdsRuleError(
                f"invalid value '{track}' for field 'threshold.track_by': "
                "expected one of src_ip, dst_ip, both"
            )
        return cls(
            kinds[kind.strip().lower()],
            _int(data.get("count"), "threshold.count", 1, 2**32 - 1),
            _int(data.get("window_secs"), "threshold.window_secs", 1, 2**32 - 1),
            tracks[track.strip().lower()],
        )


@dataclass(frozen=True, slots=True)
class IdsRule:
    """One YAML rule. Ports are exact (u16); 0 is only allowed with ``protocol: icmp`` (contract §12
    item 10: the docs say "use 0 for ICMP" and the kernel keys ICMP with port 0; upstream's domain
    validator rejects 0 everywhere). ``pattern`` is a regex over the payload (the PatternMatcher
    subset) and requires ``protocol`` tcp or any; an IPS rule with a pattern needs ``dst_port``.
    ``mode`` None inherits the section's mode. ``interfaces`` empty = every interface.
    """

    id: str
    severity: Severity
    description: str = ""
    mode: RuleMode | None = None
    protocol: Protocol = Protocol.ANY
    dst_port: int | None = None
    src_port: int | None = None
    pattern: bytes | None = None
    enabled: bool = True
    threshold: Threshold | None = None
    interfaces: tuple[str, ...] = ()
    component: Component = Component.IDS

    def __post_init__(self) -> None:
        where = f"rule '{self.id}'"
        if not self.id or len(self.id) > MAX_ID_LENGTH or not _ID_RE.match(self.id):
            raise IdsRuleError(
                f"invalid rule id '{self.id}': 1-{MAX_ID_LENGTH} characters of [A-Za-z0-9_.:-]", "id"
            )
        if self.dst_port is None and self.src_port is None:
            raise IdsRuleError(f"{where}: at least one of dst_port and src_port is required", "dst_port")
        for name, port in (("dst_port", self.dst_port), ("src_port", self.src_port)):
            if port is None:
                continue
            _int(port, name, 0, 65535)
            if port == 0 and self.protocol not in (Protocol.ICMP, Protocol.ICMPV6):
                raise IdsRuleError(
                    f"{where}: {name} 0 is only allowed with protocol icmp (ports are 1-65535)", name
                )
        if self.pattern is not None:
            if not self.pattern or len(self.pattern) > MAX_PATTERN_LENGTH:
                raise IdsRuleError(f"{where}: pattern must be 1-{MAX_PATTERN_LENGTH} bytes", "pattern")
            if self.protocol not in (Protocol.TCP, Protocol.ANY):
                raise IdsRuleError(f"{where}: a pattern needs protocol tcp or any", "pattern")
        if self.component is Component.IPS:
            if self.src_port is not None:
                raise IdsRuleError(f"{where}: IPS rules have no src_port", "src_port")
            if self.interfaces:
                raise IdsRuleError(f"{where}: IPS rules have no interfaces", "interfaces")

    @property
    def rate_based(self) -> bool:
        return self.threshold is not None

    @classmethod
    def from_dict(cls, data: Mapping[str, object], component: Component = Component.IDS) -> "IdsRule":
        """Build a rule from the contract's YAML shape; unknown keys are ignored (nested sections
        are not strict), but keys of upstream features this engine lacks are refused so a rule
        never silently matches more than its author wrote."""
        rule_id = data.get("id")
        if not isinstance(rule_id, str):
            raise IdsRuleError("rule id is required and must be a string", "id")
        for key in _UNSUPPORTED_KEYS:
            if data.get(key) is not None:
                raise IdsRuleError(f"rule '{rule_id}': '{key}' is not supported by this engine", key)
        if data.get("tenant_id") not in (None, 0):
            raise IdsRuleError(f"rule '{rule_id}': tenant_id must be 0 in a standalone agent", "tenant_id")
        if "severity" not in data:
            raise IdsRuleError(f"rule '{rule_id}': severity is required", "severity")
        enabled = data.get("enabled", True)
        if not isinstance(enabled, bool):
            raise IdsRuleError(f"rule '{rule_id}': enabled must be true or false", "enabled")
        description = data.get("description") or ""
        pattern = data.get("pattern")
        interfaces = data.get("interfaces") or ()
        if not isinstance(description, str):
            raise IdsRuleError(f"rule '{rule_id}': description must be a string", "description")
        if pattern is not None and not isinstance(pattern, str):
            raise IdsRuleError(f"rule '{rule_id}': pattern must be a string", "pattern")
        if not isinstance(interfaces, list | tuple) or not all(isinstance(i, str) and i for i in interfaces):
            raise IdsRuleError(f"rule '{rule_id}': interfaces must be a list of names", "interfaces")
        try:
            threshold = data.get("threshold")
            return cls(
                id=rule_id,
                severity=parse_severity(data["severity"]),
                description=description,
                mode=parse_mode(data["mode"]) if data.get("mode") is not None else None,
                protocol=parse_protocol(data.get("protocol") or "any"),
                dst_port=_port(data.get("dst_port"), "dst_port"),
                src_port=_port(data.get("src_port"), "src_port"),
                pattern=pattern.encode() if pattern is not None else None,
                enabled=enabled,
                threshold=Threshold.from_dict(threshold) if threshold is not None else None,
                interfaces=tuple(interfaces),
                component=component,
            )
        except IdsRuleError:
            raise
        except ValueError as exc:
            raise IdsRuleError(f"rule '{rule_id}': {exc}") from None


def _port(value: object, name: str) -> int | None:
    return None if value is None else _int(value, name, 0, 65535)


class FlowDirection(enum.Enum):
    """Which way a packet travels in its connection, as far as the caller can tell."""

    TO_SERVER = "to_server"
    TO_CLIENT = "to_client"
    UNKNOWN = "unknown"


def direction_from_ports(src_port: int | None, dst_port: int | None) -> FlowDirection:
    """A heuristic for callers without connection tracking: the side using a well-known port
    (below 1024) while the other side does not is the server; otherwise UNKNOWN."""
    if src_port is None or dst_port is None or (src_port < 1024) == (dst_port < 1024):
        return FlowDirection.UNKNOWN
    return FlowDirection.TO_SERVER if dst_port < 1024 else FlowDirection.TO_CLIENT


@dataclass(frozen=True, slots=True)
class PayloadEvent:
    """One packet's payload with its headers. ``direction``/``established`` come from whoever
    tracks the flow (conntrack, the SYN seen); UNKNOWN/None make ``flow`` conditions fail."""

    header: PacketHeader
    payload: bytes
    timestamp_ns: int
    direction: FlowDirection = FlowDirection.UNKNOWN
    established: bool | None = None


@dataclass(frozen=True, slots=True)
class IdsAlert:
    """A detection. ``rule_id`` is the YAML id or the Suricata sid as a string; ``rule_index`` is
    the YAML rule's position in the engine's combined array (the kernel's rule id), else None."""

    rule_id: str
    component: Component
    severity: Severity
    action: RuleMode
    message: str
    mitre: MitreRef
    header: PacketHeader
    timestamp_ns: int
    rule_index: int | None = None
    sid: int | None = None
    rev: int | None = None
    classtype: str | None = None


@dataclass(frozen=True, slots=True)
class PrefilterKey:
    """Packets of ``protocol`` whose source or destination port is ``port`` may match a rule and
    must be inspected; ``port`` None (ANY_PORT) means every packet of that protocol. ICMP keys
    always use port 0, the kernel's key for portless packets."""

    protocol: Protocol
    port: int | None


ANY_PORT = None
