"""L7 rules to and from the contract's shapes (§1.8 YAML, §2.3 CreateL7RuleRequest / L7RuleResponse).

Input: the flat shape (``method path host content_type sni service grpc_method command smb_command
is_smb2``) or the response shape with a ``matcher`` object tagged by ``protocol``. Matcher
fields that belong to another protocol are rejected (silently ignoring one would widen the
rule). ``src_country_codes``/``dst_country_codes`` (GeoIP, out of scope) are rejected when
non-empty; other unknown keys are ignored, as serde does for the reference API.
"""

from collections.abc import Callable, Mapping
from typing import TypeVar

from sentinel_domain.common.addresses import IpNetwork, parse_cidr
from sentinel_domain.common.errors import ValidationError
from sentinel_domain.common.ports import PortRange, parse_port_range
from sentinel_domain.l7._patterns import DomainPattern, TextPattern
from sentinel_domain.l7.entity import (
    CommandMatcher,
    GrpcMatcher,
    HttpMatcher,
    L7Action,
    L7Matcher,
    L7Protocol,
    L7Rule,
    SmbMatcher,
    TlsMatcher,
)
from sentinel_domain.l7.errors import L7RuleError

T = TypeVar("T")
_FLAT_FIELDS = {
    L7Protocol.HTTP: ("method", "path", "host", "content_type"),
    L7Protocol.TLS: ("sni",),
    L7Protocol.GRPC: ("service", "grpc_method"),
    L7Protocol.SMTP: ("command",),
    L7Protocol.FTP: ("command",),
    L7Protocol.SMB: ("smb_command", "is_smb2"),
}
_ALL_FLAT = frozenset(f for fields in _FLAT_FIELDS.values() for f in fields)
_TAGGED_FIELDS = {
    L7Protocol.HTTP: ("method", "path_pattern", "host_pattern", "content_type"),
    L7Protocol.TLS: ("sni_pattern",),
    L7Protocol.GRPC: ("service_pattern", "method_pattern"),
    L7Protocol.SMTP: ("command",),
    L7Protocol.FTP: ("command",),
    L7Protocol.SMB: ("command", "is_smb2"),
}


def parse_l7_action(value: object) -> L7Action:
    """``allow``, ``deny``, ``log`` or ``reject`` (case-insensitive)."""
    if isinstance(value, L7Action):
        return value
    if isinstance(value, str):
        try:
            return L7Action(value.strip().lower())
        except ValueError:
            pass
    raise L7RuleError(f"invalid value '{value}' for field 'action': expected one of allow, deny, log, reject")


def parse_l7_protocol(value: object) -> L7Protocol:
    """One of ``http tls grpc smtp ftp smb`` (case-insensitive)."""
    if isinstance(value, L7Protocol):
        return value
    if isinstance(value, str):
        try:
            return L7Protocol(value.strip().lower())
        except ValueError:
            pass
    allowed = ", ".join(p.value for p in L7Protocol)
    raise L7RuleError(f"invalid value '{value}' for field 'protocol': expected one of {allowed}")


def _get(data: Mapping[str, object], key: str, kind: Callable[[object], T], rule_id: str) -> T | None:
    value = data.get(key)
    if value is None:
        return None
    try:
        return kind(value)
    except L7RuleError as exc:
        raise L7RuleError(f"rule '{rule_id}': {exc}", key) from None
    except ValidationError as exc:
        raise L7RuleError(f"rule '{rule_id}': {exc}", key) from None


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise L7RuleError(f"expected a string, got '{value}'")
    return value


def _cidr(value: object) -> IpNetwork:
    return parse_cidr(_text(value))


def _port(value: object) -> PortRange:
    return parse_port_range(value)


def _smb_command(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise L7RuleError(f"invalid smb_command '{value}': expected an integer 0-65535")
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise L7RuleError(f"expected true or false, got '{value}'")
    return value


def _matcher(
    protocol: L7Protocol, fields: Mapping[str, object], names: tuple[str, ...], rule_id: str
) -> L7Matcher:
    """Build the matcher from ``fields`` using the key names of one shape (flat or tagged)."""

    def get(index: int, kind: Callable[[object], T]) -> T | None:
        return _get(fields, names[index], kind, rule_id)

    def text_pattern(value: object) -> TextPattern:
        return TextPattern(_text(value))

    def domain_pattern(value: object) -> DomainPattern:
        return DomainPattern(_text(value))

    try:
        if protocol is L7Protocol.HTTP:
            return HttpMatcher(get(0, _text), get(1, text_pattern), get(2, domain_pattern), get(3, _text))
        if protocol is L7Protocol.TLS:
            return TlsMatcher(get(0, domain_pattern))
        if protocol is L7Protocol.GRPC:
            return GrpcMatcher(get(0, text_pattern), get(1, text_pattern))
        if protocol is L7Protocol.SMB:
            return SmbMatcher(get(0, _smb_command), get(1, _bool))
        return CommandMatcher(protocol, get(0, _text))
    except L7RuleError as exc:
        if str(exc).startswith(f"rule '{rule_id}'"):
            raise
        raise L7RuleError(f"rule '{rule_id}': {exc}") from None


def rule_from_dict(data: Mapping[str, object]) -> L7Rule:
    """Validate and build a rule; every problem raises :class:`L7RuleError` naming the field."""
    rule_id = data.get("id")
    if not isinstance(rule_id, str):
        raise L7RuleError("rule id is required and must be a string", "id")
    for key in ("priority", "action"):
        if data.get(key) is None:
            raise L7RuleError(f"rule '{rule_id}': {key} is required", key)
    tagged = data.get("matcher")
    if tagged is not None and not isinstance(tagged, Mapping):
        raise L7RuleError(f"rule '{rule_id}': matcher must be an object", "matcher")
    source: Mapping[str, object] = tagged if tagged is not None else data
    if source.get("protocol") is None:
        raise L7RuleError(f"rule '{rule_id}': protocol is required", "protocol")
    protocol = parse_l7_protocol(source["protocol"])
    if tagged is not None:
        names = _TAGGED_FIELDS[protocol]
        stray = sorted(k for k in tagged if k != "protocol" and k not in names and tagged[k] is not None)
        stray += sorted(k for k in _ALL_FLAT if data.get(k) is not None)
    else:
        names = _FLAT_FIELDS[protocol]
        stray = sorted(k for k in _ALL_FLAT - set(names) if data.get(k) is not None)
    if stray:
        raise L7RuleError(
            f"rule '{rule_id}': field(s) {', '.join(stray)} do not apply to protocol '{protocol.value}'",
            stray[0],
        )
    for key in ("src_country_codes", "dst_country_codes"):
        if data.get(key):
            raise L7RuleError(f"rule '{rule_id}': {key} is not supported (no GeoIP in this agent)", key)
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise L7RuleError(f"rule '{rule_id}': enabled must be true or false", "enabled")
    priority = data["priority"]
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise L7RuleError(f"rule '{rule_id}': priority must be an integer", "priority")
    return L7Rule(
        id=rule_id,
        priority=priority,
        action=parse_l7_action(data["action"]),
        matcher=_matcher(protocol, source, names, rule_id),
        src_ip=_get(data, "src_ip", _cidr, rule_id),
        dst_ip=_get(data, "dst_ip", _cidr, rule_id),
        dst_port=_get(data, "dst_port", _port, rule_id),
        enabled=enabled,
    )


def matcher_to_dict(matcher: L7Matcher) -> dict[str, object]:
    """The internally-tagged matcher JSON of ``L7RuleResponse`` (unset fields are null)."""
    out: dict[str, object] = {"protocol": matcher.protocol.value}
    if isinstance(matcher, HttpMatcher):
        out["method"] = matcher.method
        out["path_pattern"] = matcher.path.source if matcher.path else None
        out["host_pattern"] = matcher.host.source if matcher.host else None
        out["content_type"] = matcher.content_type
    elif isinstance(matcher, TlsMatcher):
        out["sni_pattern"] = matcher.sni.source if matcher.sni else None
    elif isinstance(matcher, GrpcMatcher):
        out["service_pattern"] = matcher.service.source if matcher.service else None
        out["method_pattern"] = matcher.method.source if matcher.method else None
    elif isinstance(matcher, CommandMatcher):
        out["command"] = matcher.command
    else:
        out["command"] = matcher.command
        out["is_smb2"] = matcher.is_smb2
    return out


def rule_to_dict(rule: L7Rule) -> dict[str, object]:
    """``{id, priority, action, matcher, src_ip?, dst_ip?, dst_port?, enabled}``.

    Addresses print as ``a.b.c.d`` for a host prefix, else ``net/len``; ``dst_port`` is an
    integer for one port and ``"a-b"`` for a range.
    """
    out: dict[str, object] = {
        "id": rule.id,
        "priority": rule.priority,
        "action": rule.action.value,
        "matcher": matcher_to_dict(rule.matcher),
    }
    for key, net in (("src_ip", rule.src_ip), ("dst_ip", rule.dst_ip)):
        if net is not None:
            out[key] = str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)
    if rule.dst_port is not None:
        ports = rule.dst_port
        out["dst_port"] = ports.start if ports.start == ports.end else str(ports)
    out["enabled"] = rule.enabled
    return out
