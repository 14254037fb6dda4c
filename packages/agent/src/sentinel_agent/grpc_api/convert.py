"""Alert → ``ebpfsentinel.v1.AlertEvent`` (contract §3): every field, with the contract's defaults.

Absent strings are ``""``, absent numbers ``0``, except ``src_domain_score``, ``dst_domain_score``,
``confidence`` and ``direction`` which are ``-1`` when absent. Addresses are four u32 words like
the REST ``src_addr`` (IPv4 is ``[v4, 0, 0, 0]``).

Fields the Alert has no attribute for (geo, DDoS figures, JA4, container identity) are read from
``Alert.extra`` when a producer sets a pair of the same name (``container_<field>`` for the
container identity); a value that does not parse keeps the absent default.
"""

import math

from sentinel_agent.grpc_api._generated import alerts_pb2
from sentinel_domain.alert import Alert

_EXTRA_STRINGS = (
    "src_geo",
    "dst_geo",
    "attack_type",
    "mitigation_status",
    "ja4_fingerprint",
)
_EXTRA_COUNTERS = ("peak_pps", "current_pps", "total_packets")
_EXTRA_SCORES = ("src_domain_score", "dst_domain_score")
_CONTAINER = ("runtime", "id", "cgroup_path", "namespace", "pod", "container_name")
_U32 = 0xFFFF_FFFF
_U64 = 0xFFFF_FFFF_FFFF_FFFF
_I32_MIN, _I32_MAX = -(2**31), 2**31 - 1


def _counter(raw: str | None) -> int:
    try:
        value = int(raw) if raw is not None else 0
    except ValueError:
        return 0
    return value if 0 <= value <= _U64 else 0


def _score(raw: str | None) -> float:
    try:
        value = float(raw) if raw is not None else -1.0
    except ValueError:
        return -1.0
    return value if math.isfinite(value) else -1.0


def _i32_or_absent(value: int | None) -> int:
    return value if value is not None and _I32_MIN <= value <= _I32_MAX else -1


def _u32(value: int | None) -> int:
    return value if value is not None and 0 <= value <= _U32 else 0


def to_alert_event(alert: Alert) -> alerts_pb2.AlertEvent:
    extra = dict(alert.extra)
    event = alerts_pb2.AlertEvent(
        id=alert.id,
        timestamp_ns=alert.timestamp_ns,
        component=alert.component.value,
        severity=alert.severity.label,
        rule_id=alert.rule_id,
        action=alert.action.value,
        src_addr=alert.src_words,
        dst_addr=alert.dst_words,
        src_port=alert.src_port,
        dst_port=alert.dst_port,
        protocol=alert.protocol,
        message=alert.message,
        is_ipv6=alert.is_ipv6,
        false_positive=alert.false_positive,
        src_domain=alert.src_domain or "",
        dst_domain=alert.dst_domain or "",
        confidence=_i32_or_absent(alert.confidence),
        threat_type=alert.threat_type or "",
        data_type=alert.data_type or "",
        pid=_u32(alert.pid),
        tgid=_u32(alert.tgid),
        direction=_i32_or_absent(alert.direction),
        matched_domain=alert.matched_domain or "",
    )
    for name in _EXTRA_SCORES:
        setattr(event, name, _score(extra.get(name)))
    for name in _EXTRA_STRINGS:
        setattr(event, name, extra.get(name, ""))
    for name in _EXTRA_COUNTERS:
        setattr(event, name, _counter(extra.get(name)))
    if alert.mitre is not None:
        event.mitre_technique_id = alert.mitre.technique_id
        event.mitre_technique_name = alert.mitre.technique_name
        event.mitre_tactic = alert.mitre.tactic
    container = {name: extra[f"container_{name}"] for name in _CONTAINER if f"container_{name}" in extra}
    if container:
        event.container.CopyFrom(alerts_pb2.ContainerIdentity(**container))
    return event
