"""The alert value object (contract §8.1), independent of any wire format."""

import enum
from dataclasses import dataclass, field

from sentinel_domain.common.addresses import IpAddress, address_to_words
from sentinel_domain.common.mitre import MitreRef
from sentinel_domain.common.severity import Severity


class AlertAction(enum.Enum):
    ALERT = "alert"
    BLOCK = "block"


class Component(enum.Enum):
    FIREWALL = "firewall"
    RATELIMIT = "ratelimit"
    IDS = "ids"
    IPS = "ips"
    THREATINTEL = "threatintel"
    L7 = "l7"
    DLP = "dlp"
    DNS = "dns"
    AGENT = "agent"  # the agent's own condition (e.g. storage full); not a detection


def alert_id(timestamp_ns: int, rule_id: str, seq: int) -> str:
    """``<timestamp_ns>-<rule_id>-<seq>``: unique because ``seq`` is a per-process counter."""
    return f"{timestamp_ns}-{rule_id}-{seq}"


@dataclass(frozen=True, slots=True)
class Alert:
    """One detection. ``timestamp_ns`` is Unix epoch nanoseconds (deviation 2).

    Optional enrichment (domains, threat-intel, DLP, MITRE) is None when absent.
    """

    id: str
    timestamp_ns: int
    component: Component
    severity: Severity
    rule_id: str
    action: AlertAction
    src: IpAddress | None = None
    dst: IpAddress | None = None
    src_port: int = 0
    dst_port: int = 0
    protocol: int = 0
    message: str = ""
    false_positive: bool = False
    mitre: MitreRef | None = None
    src_domain: str | None = None
    dst_domain: str | None = None
    matched_domain: str | None = None
    confidence: int | None = None
    threat_type: str | None = None
    data_type: str | None = None
    pid: int | None = None
    tgid: int | None = None
    direction: int | None = None
    extra: tuple[tuple[str, str], ...] = field(default=())

    @property
    def is_ipv6(self) -> bool:
        addr = self.src or self.dst
        return addr is not None and addr.version == 6

    @property
    def src_words(self) -> tuple[int, int, int, int]:
        return address_to_words(self.src) if self.src is not None else (0, 0, 0, 0)

    @property
    def dst_words(self) -> tuple[int, int, int, int]:
        return address_to_words(self.dst) if self.dst is not None else (0, 0, 0, 0)

    def to_dict(self) -> dict[str, object]:
        """The contract's domain JSON form (optional fields omitted when absent)."""
        out: dict[str, object] = {
            "id": self.id,
            "timestamp_ns": self.timestamp_ns,
            "component": self.component.value,
            "severity": self.severity.label.capitalize(),
            "rule_id": self.rule_id,
            "action": self.action.value.capitalize(),
            "src_addr": list(self.src_words),
            "dst_addr": list(self.dst_words),
            "src_port": self.src_port,
            "dst_port": self.dst_port,
            "protocol": self.protocol,
            "is_ipv6": self.is_ipv6,
            "message": self.message,
            "false_positive": self.false_positive,
        }
        if self.src is not None:
            out["src_ip"] = str(self.src)
        if self.dst is not None:
            out["dst_ip"] = str(self.dst)
        for key in (
            "src_domain",
            "dst_domain",
            "matched_domain",
            "confidence",
            "threat_type",
            "data_type",
            "pid",
            "tgid",
            "direction",
        ):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.mitre is not None:
            out["mitre_attack"] = {
                "technique_id": self.mitre.technique_id,
                "technique_name": self.mitre.technique_name,
                "tactic": self.mitre.tactic,
            }
        return out
