"""Rendering an Alert as a Suricata EVE-JSON ``alert`` record (deviations 12 and 20).

The result is plain data (dicts, lists, str, int, bool) for any JSON encoder. Shape::

    {"timestamp": "2024-03-01T10:00:00.123456+0000", "event_type": "alert",
     "src_ip": "...", "src_port": 1234, "dest_ip": "...", "dest_port": 22, "proto": "TCP",
     "alert": {"action": "blocked", "gid": 1, "signature_id": 123, "rev": 1,
               "signature": "<message>", "category": "<component>", "severity": 1,
               "metadata": {"mitre_technique_id": ["T1110"], ...}},
     "ebpfsentinel": {"id": ..., "component": ..., "rule_id": ..., ...}}

Choices, where Suricata has no equivalent:
- ``timestamp`` is ``timestamp_ns`` (Unix epoch) in UTC with microseconds, offset ``+0000``;
- addresses and ports are omitted when the alert has none (DLP, DNS); ports are written for TCP
  and UDP, or when non-zero; ``proto`` is ``TCP``/``UDP``/``ICMP``/``IPv6-ICMP`` or the protocol
  number as a string (Suricata's spelling), omitted when 0;
- ``alert.action``: ``blocked`` for block alerts, else ``allowed``;
- ``alert.signature_id``: a rule id made of 1-10 ASCII digits whose value fits in a u32 is used
  as is; any other rule id is hashed (SHA-256, first 8 bytes, mod 2**31 - 1, plus 1) into
  1..2**31-1, stable across processes and versions;
- ``alert.severity`` follows Suricata's priority scale: critical and high → 1, medium → 2,
  low → 3;
- ``alert.metadata`` carries MITRE as Suricata rule metadata does (lists of strings):
  ``mitre_technique_id``, ``mitre_technique_name``, ``mitre_tactic_id``, ``mitre_tactic_name``;
- everything of ours goes under ``ebpfsentinel``.
"""

import hashlib
from datetime import UTC, datetime, timedelta

from sentinel_domain.alert.entity import Alert, AlertAction
from sentinel_domain.common.severity import Severity

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PROTOCOLS = {6: "TCP", 17: "UDP", 1: "ICMP", 58: "IPv6-ICMP"}
_SEVERITY = {Severity.CRITICAL: 1, Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 3}
_TACTIC_IDS = {
    "reconnaissance": "TA0043",
    "initial-access": "TA0001",
    "credential-access": "TA0006",
    "discovery": "TA0007",
    "lateral-movement": "TA0008",
    "command-and-control": "TA0011",
    "exfiltration": "TA0010",
    "impact": "TA0040",
}
_MAX_SID = 2**31 - 1
_OPTIONAL = (
    "src_domain",
    "dst_domain",
    "matched_domain",
    "confidence",
    "threat_type",
    "data_type",
    "pid",
    "tgid",
    "direction",
)


def eve_timestamp(timestamp_ns: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffff+0000`` for Unix-epoch nanoseconds (truncated to µs)."""
    moment = _EPOCH + timedelta(microseconds=timestamp_ns // 1000)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+0000"


def signature_id(rule_id: str) -> int:
    """Numeric rule ids as themselves; others hashed into 1..2**31-1 (see the module docstring)."""
    if 0 < len(rule_id) <= 10 and rule_id.isascii() and rule_id.isdigit() and int(rule_id) <= 0xFFFFFFFF:
        return int(rule_id)
    digest = hashlib.sha256(rule_id.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % _MAX_SID + 1


def eve_severity(severity: Severity) -> int:
    return _SEVERITY[severity]


def to_eve(alert: Alert) -> dict[str, object]:
    """The alert as an EVE-JSON ``alert`` event (see the module docstring)."""
    out: dict[str, object] = {"timestamp": eve_timestamp(alert.timestamp_ns), "event_type": "alert"}
    with_ports = alert.protocol in (6, 17)
    if alert.src is not None:
        out["src_ip"] = str(alert.src)
    if with_ports or alert.src_port:
        out["src_port"] = alert.src_port
    if alert.dst is not None:
        out["dest_ip"] = str(alert.dst)
    if with_ports or alert.dst_port:
        out["dest_port"] = alert.dst_port
    if alert.protocol:
        out["proto"] = _PROTOCOLS.get(alert.protocol, str(alert.protocol))
    body: dict[str, object] = {
        "action": "blocked" if alert.action is AlertAction.BLOCK else "allowed",
        "gid": 1,
        "signature_id": signature_id(alert.rule_id),
        "rev": 1,
        "signature": alert.message or alert.rule_id,
        "category": alert.component.value,
        "severity": eve_severity(alert.severity),
    }
    if alert.mitre is not None:
        metadata = {
            "mitre_technique_id": [alert.mitre.technique_id],
            "mitre_technique_name": [alert.mitre.technique_name],
            "mitre_tactic_name": [alert.mitre.tactic],
        }
        tactic_id = _TACTIC_IDS.get(alert.mitre.tactic)
        if tactic_id is not None:
            metadata["mitre_tactic_id"] = [tactic_id]
        body["metadata"] = metadata
    out["alert"] = body
    ours: dict[str, object] = {
        "id": alert.id,
        "timestamp_ns": alert.timestamp_ns,
        "component": alert.component.value,
        "rule_id": alert.rule_id,
        "severity": alert.severity.label,
        "action": alert.action.value,
        "is_ipv6": alert.is_ipv6,
        "false_positive": alert.false_positive,
    }
    for key in _OPTIONAL:
        value = getattr(alert, key)
        if value is not None:
            ours[key] = value
    if alert.extra:
        ours["extra"] = dict(alert.extra)
    out["ebpfsentinel"] = ours
    return out
