"""Keys and values of the LMDB sub-databases (contract §10, mapped to LMDB).

Keys are big-endian and fixed-width where they hold numbers, so LMDB's byte order is numeric
order: a time key ``(timestamp_ns u64, seq u64)`` sorts by time, then by arrival. Strings inside
keys are length-prefixed (``u16``) so a prefix scan finds exactly one string's records; a string
too long for LMDB's 511-byte key limit is replaced by a SHA-256 digest (the value keeps the real
string, and readers compare it).

Values are JSON: alerts in the contract's domain form (``Alert.to_dict()``, plus ``extra`` as
``[[key, value], …]`` when present so nothing is lost), audit entries and rule changes in the
contract's ``AuditEntry``/``RuleChangeEntry`` form.
"""

import hashlib
import ipaddress
import struct
from collections.abc import Mapping
from typing import Any

import msgspec

from sentinel_domain.alert import Alert, AlertAction, Component
from sentinel_domain.common import IpAddress, MitreRef, Severity, address_from_words, address_to_words
from sentinel_ports.audit_log import AuditAction, AuditEntry, RuleChange

TIME_KEY = struct.Struct(">QQ")
U64 = struct.Struct(">Q")
U16 = struct.Struct(">H")
MAX_U64 = 2**64 - 1
_MAX_KEY_STRING = 400  # leaves room for prefixes and suffixes under LMDB's 511-byte limit
_DIGEST_MARK = b"\x00sha256:"

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


class CodecError(ValueError):
    """A stored record that does not decode (counted as corrupt by the stores, never raised)."""


# --- keys -------------------------------------------------------------------------------------


def time_key(timestamp_ns: int, seq: int) -> bytes:
    """``(timestamp_ns, seq)`` as 16 big-endian bytes; timestamps outside u64 are clamped."""
    return TIME_KEY.pack(min(max(timestamp_ns, 0), MAX_U64), seq & MAX_U64)


def key_string(text: str) -> bytes:
    """UTF-8 of ``text`` when short and non-empty, else a marked SHA-256 digest."""
    raw = text.encode("utf-8", "surrogatepass")
    if 0 < len(raw) <= _MAX_KEY_STRING:
        return raw
    return _DIGEST_MARK + hashlib.sha256(raw).digest()


def prefixed(text: str) -> bytes:
    """``u16 length`` + :func:`key_string`: a self-delimiting key part for prefix scans."""
    raw = key_string(text)
    return U16.pack(len(raw)) + raw


def rule_key(component: str, rule_id: str) -> bytes:
    return prefixed(component) + key_string(rule_id)


def history_key(rule_id: str, version: int) -> bytes:
    return prefixed(rule_id) + U64.pack(version)


# --- JSON -------------------------------------------------------------------------------------


def _scrub(value: Any) -> Any:
    """Replace lone surrogates (from hostile input) so the JSON encoder cannot fail."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def encode_json(value: object) -> bytes:
    try:
        return _encoder.encode(value)
    except UnicodeEncodeError:
        return _encoder.encode(_scrub(value))


def decode_json(data: bytes | memoryview) -> Any:
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise CodecError(f"undecodable record: {exc}") from None


# --- alerts -----------------------------------------------------------------------------------


def encode_alert(alert: Alert) -> bytes:
    """The alert's domain JSON (``extra`` added as pairs when present)."""
    record = alert.to_dict()
    if alert.extra:
        record["extra"] = [list(pair) for pair in alert.extra]
    return encode_json(record)


def _address(record: Mapping[str, Any], side: str) -> IpAddress | None:
    """From the ``[u32; 4]`` words (an int conversion: far cheaper than parsing the text form).

    ``<side>_ip`` tells an absent address (omitted) from ``0.0.0.0`` and gives the version;
    records without it (other writers) fall back to ``is_ipv6``, all-zero words meaning none.
    """
    text = record.get(f"{side}_ip")
    words = record.get(f"{side}_addr")
    if isinstance(text, str):
        if isinstance(words, list) and len(words) == 4:
            return address_from_words(words, ":" in text)
        return ipaddress.ip_address(text)
    if not words or not any(words):
        return None
    return address_from_words(list(words), bool(record.get("is_ipv6", False)))


def _optional_int(record: Mapping[str, Any], key: str) -> int | None:
    value = record.get(key)
    return None if value is None else int(value)


def _optional_str(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    return None if value is None else str(value)


_COMPONENTS = {c.value: c for c in Component}
_ACTIONS = {a.value: a for a in AlertAction} | {a.value.capitalize(): a for a in AlertAction}
SEVERITY_BY_LABEL = {s.name.capitalize(): s for s in Severity} | {s.name.lower(): s for s in Severity}


def alert_from_dict(record: Mapping[str, Any]) -> Alert:
    """Inverse of ``Alert.to_dict()`` (and of :func:`encode_alert`); CodecError when malformed.

    Severity and action are accepted capitalised (domain form) or lowercase (REST form).
    """
    try:
        mitre_record = record.get("mitre_attack")
        mitre = (
            MitreRef(
                str(mitre_record["technique_id"]),
                str(mitre_record["technique_name"]),
                str(mitre_record["tactic"]),
            )
            if mitre_record
            else None
        )
        return Alert(
            id=str(record["id"]),
            timestamp_ns=int(record["timestamp_ns"]),
            component=_COMPONENTS[record["component"]],
            severity=SEVERITY_BY_LABEL[record["severity"]],
            rule_id=str(record["rule_id"]),
            action=_ACTIONS[record["action"]],
            src=_address(record, "src"),
            dst=_address(record, "dst"),
            src_port=int(record.get("src_port", 0)),
            dst_port=int(record.get("dst_port", 0)),
            protocol=int(record.get("protocol", 0)),
            message=str(record.get("message", "")),
            false_positive=bool(record.get("false_positive", False)),
            mitre=mitre,
            src_domain=_optional_str(record, "src_domain"),
            dst_domain=_optional_str(record, "dst_domain"),
            matched_domain=_optional_str(record, "matched_domain"),
            confidence=_optional_int(record, "confidence"),
            threat_type=_optional_str(record, "threat_type"),
            data_type=_optional_str(record, "data_type"),
            pid=_optional_int(record, "pid"),
            tgid=_optional_int(record, "tgid"),
            direction=_optional_int(record, "direction"),
            extra=tuple((str(k), str(v)) for k, v in record.get("extra") or ()),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CodecError(f"malformed alert record: {exc!r}") from None


def decode_alert(data: bytes | memoryview) -> Alert:
    record = decode_json(data)
    if not isinstance(record, dict):
        raise CodecError("alert record is not a JSON object")
    return alert_from_dict(record)


class _Mitre(msgspec.Struct):
    technique_id: str | None = None
    tactic: str | None = None


class AlertSummary(msgspec.Struct):
    """The fields queries filter on, decoded without building an Alert (unknown keys skipped)."""

    id: str = ""
    timestamp_ns: int = 0
    component: str = ""
    severity: str = ""
    rule_id: str = ""
    false_positive: bool = False
    mitre_attack: _Mitre | None = None


_summary_decoder = msgspec.json.Decoder(AlertSummary)


def decode_alert_summary(data: bytes | memoryview) -> AlertSummary:
    try:
        return _summary_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise CodecError(f"undecodable alert record: {exc}") from None


# --- audit ------------------------------------------------------------------------------------


def audit_entry_to_dict(entry: AuditEntry) -> dict[str, object]:
    """The contract's ``AuditEntry`` JSON form, plus ``src_ip``/``dst_ip`` text when set (as alerts
    have), so an address's family survives the round trip."""
    is_ipv6 = any(addr is not None and addr.version == 6 for addr in (entry.src, entry.dst))
    out: dict[str, object] = {
        "timestamp_ns": entry.timestamp_ns,
        "component": entry.component,
        "action": entry.action.value,
        "src_addr": list(address_to_words(entry.src)) if entry.src is not None else [0, 0, 0, 0],
        "dst_addr": list(address_to_words(entry.dst)) if entry.dst is not None else [0, 0, 0, 0],
        "src_port": entry.src_port,
        "dst_port": entry.dst_port,
        "protocol": entry.protocol,
        "is_ipv6": is_ipv6,
        "rule_id": entry.rule_id,
        "detail": entry.detail,
    }
    if entry.src is not None:
        out["src_ip"] = str(entry.src)
    if entry.dst is not None:
        out["dst_ip"] = str(entry.dst)
    return out


def audit_entry_from_dict(record: Mapping[str, Any]) -> AuditEntry:
    try:
        return AuditEntry(
            timestamp_ns=int(record["timestamp_ns"]),
            component=str(record["component"]),
            action=AuditAction(record["action"]),
            rule_id=str(record.get("rule_id", "")),
            src=_address(record, "src"),
            dst=_address(record, "dst"),
            src_port=int(record.get("src_port", 0)),
            dst_port=int(record.get("dst_port", 0)),
            protocol=int(record.get("protocol", 0)),
            detail=str(record.get("detail", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CodecError(f"malformed audit record: {exc!r}") from None


class AuditSummary(msgspec.Struct):
    timestamp_ns: int = 0
    component: str = ""
    action: str = ""
    rule_id: str = ""


_audit_summary_decoder = msgspec.json.Decoder(AuditSummary)


def decode_audit_summary(data: bytes | memoryview) -> AuditSummary:
    try:
        return _audit_summary_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise CodecError(f"undecodable audit record: {exc}") from None


def rule_change_to_dict(change: RuleChange) -> dict[str, object]:
    """The contract's ``RuleChangeEntry`` JSON form (``before``/``after`` omitted when None)."""
    out: dict[str, object] = {
        "rule_id": change.rule_id,
        "version": change.version,
        "timestamp_ns": change.timestamp_ns,
        "component": change.component,
        "action": change.action.value,
        "actor": change.actor,
    }
    if change.before is not None:
        out["before"] = change.before
    if change.after is not None:
        out["after"] = change.after
    return out


def rule_change_from_dict(record: Mapping[str, Any]) -> RuleChange:
    try:
        return RuleChange(
            timestamp_ns=int(record["timestamp_ns"]),
            component=str(record["component"]),
            action=AuditAction(record["action"]),
            rule_id=str(record["rule_id"]),
            actor=str(record["actor"]),
            before=_optional_str(record, "before"),
            after=_optional_str(record, "after"),
            version=int(record["version"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CodecError(f"malformed rule change record: {exc!r}") from None
