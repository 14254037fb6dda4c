"""The L7 rule engine: first enabled matching rule by priority wins (contract §7.7).

Semantics:
- rules are evaluated in ascending ``priority``; equal priorities keep their configured order;
- a rule only matches messages of its protocol (an HTTP rule never matches a TLS hello);
- L3/L4: ``src_ip``/``dst_ip`` CIDRs (IPv4 and IPv6; a rule of one family never matches the
  other) and ``dst_port`` (a packet without ports never matches a port condition);
- a matcher field that is set never matches a message lacking that field (no SNI, no gRPC path);
- deny and reject produce alert data (component ``l7``, severity medium, message
  ``L7 <proto> <action> rule=<id>``, MITRE technique by destination port, §7.10); allow and log
  do not. L7 is detection only: the decision never drops a packet.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sentinel_domain.common.mitre import MitreRef
from sentinel_domain.common.packet import PacketHeader
from sentinel_domain.l7._common import NeedMoreData
from sentinel_domain.l7._detect import detect_protocol
from sentinel_domain.l7._ftp import FtpCommand, parse_ftp_commands
from sentinel_domain.l7._grpc import parse_grpc
from sentinel_domain.l7._grpc_request import GrpcRequest
from sentinel_domain.l7._http import HttpRequest, parse_http_requests
from sentinel_domain.l7._ja4 import ja4
from sentinel_domain.l7._smb import SmbMessage, parse_smb
from sentinel_domain.l7._smtp import SmtpCommand, parse_smtp_commands
from sentinel_domain.l7._tls import ClientHello, parse_client_hello
from sentinel_domain.l7._tls_ext import TlsAnomaly
from sentinel_domain.l7.entity import (
    CommandMatcher,
    GrpcMatcher,
    HttpMatcher,
    L7Alert,
    L7Decision,
    L7Matcher,
    L7Protocol,
    L7Rule,
    TlsMatcher,
)
from sentinel_domain.l7.errors import L7ParseError, L7RuleError

L7Message = HttpRequest | ClientHello | GrpcRequest | SmtpCommand | FtpCommand | SmbMessage
MAX_RULES = 4096

_C2 = "command-and-control"
_MITRE_BY_PORT = {
    **dict.fromkeys((25, 587, 465), MitreRef("T1071.003", "Mail Protocols", _C2)),
    53: MitreRef("T1071.004", "DNS", _C2),
    **dict.fromkeys((80, 443, 8080, 8443), MitreRef("T1071.001", "Web Protocols", _C2)),
    21: MitreRef("T1071.002", "File Transfer Protocols", _C2),
    **dict.fromkeys((445, 139), MitreRef("T1021.002", "SMB/Windows Admin Shares", "lateral-movement")),
}
_MITRE_DEFAULT = MitreRef("T1071", "Application Layer Protocol", _C2)


def l7_mitre(dst_port: int | None) -> MitreRef:
    """The ATT&CK technique of an L7 alert, by destination port (contract §7.10)."""
    return _MITRE_BY_PORT.get(dst_port, _MITRE_DEFAULT) if dst_port is not None else _MITRE_DEFAULT


def message_protocol(message: L7Message) -> L7Protocol:
    """The L7 protocol a parsed message belongs to."""
    if isinstance(message, HttpRequest):
        return L7Protocol.HTTP
    if isinstance(message, ClientHello):
        return L7Protocol.TLS
    if isinstance(message, GrpcRequest):
        return L7Protocol.GRPC
    if isinstance(message, SmtpCommand):
        return L7Protocol.SMTP
    if isinstance(message, FtpCommand):
        return L7Protocol.FTP
    return L7Protocol.SMB


def matcher_matches(matcher: L7Matcher, message: L7Message) -> bool:
    """Whether every set field of ``matcher`` holds for ``message`` (protocol mismatch: False)."""
    if isinstance(matcher, HttpMatcher):
        if not isinstance(message, HttpRequest):
            return False
        if matcher.method is not None and matcher.method.upper() != message.method.upper():
            return False
        if matcher.path is not None and not matcher.path.matches(message.path_and_query):
            return False
        if matcher.host is not None and (
            message.hostname is None or not matcher.host.matches(message.hostname)
        ):
            return False
        if matcher.content_type is not None:
            return (
                message.content_type is not None
                and matcher.content_type.lower() in message.content_type.lower()
            )
        return True
    if isinstance(matcher, TlsMatcher):
        if not isinstance(message, ClientHello):
            return False
        return matcher.sni is None or (message.sni is not None and matcher.sni.matches(message.sni))
    if isinstance(matcher, GrpcMatcher):
        if not isinstance(message, GrpcRequest):
            return False
        for pattern, value in ((matcher.service, message.service), (matcher.method, message.method)):
            if pattern is not None and (value is None or not pattern.matches(value)):
                return False
        return True
    if isinstance(matcher, CommandMatcher):
        wanted = SmtpCommand if matcher.protocol is L7Protocol.SMTP else FtpCommand
        if not isinstance(message, wanted):
            return False
        return matcher.command is None or matcher.command.upper() == message.verb
    if not isinstance(message, SmbMessage):
        return False
    if matcher.is_smb2 is not None and matcher.is_smb2 != message.is_smb2:
        return False
    return matcher.command is None or matcher.command in message.commands


def rule_matches(rule: L7Rule, message: L7Message, packet: PacketHeader) -> bool:
    """L3/L4 conditions and the matcher (``enabled`` is not checked here)."""
    if rule.src_ip is not None and (
        rule.src_ip.version != packet.src.version or packet.src not in rule.src_ip
    ):
        return False
    if rule.dst_ip is not None and (
        rule.dst_ip.version != packet.dst.version or packet.dst not in rule.dst_ip
    ):
        return False
    if rule.dst_port is not None and (packet.dst_port is None or packet.dst_port not in rule.dst_port):
        return False
    return matcher_matches(rule.matcher, message)


@dataclass(frozen=True, slots=True)
class L7Inspection:
    """The result of :meth:`L7Engine.inspect`: what was detected, parsed and decided.

    ``decisions`` has one entry per message, in order. ``error`` is the parse error, if any
    (messages before it are still decided); ``need_more`` tells the buffer ended inside a message.
    """

    protocol: L7Protocol | None
    messages: tuple[L7Message, ...] = ()
    decisions: tuple[L7Decision, ...] = ()
    need_more: NeedMoreData | None = None
    error: L7ParseError | None = None
    anomalies: frozenset[str] = field(default=frozenset())


class L7Engine:
    """Evaluates parsed L7 messages against an ordered rule set; holds no per-flow state."""

    def __init__(self, rules: Iterable[L7Rule], *, max_rules: int = MAX_RULES) -> None:
        ordered = sorted(rules, key=lambda r: r.priority)
        if len(ordered) > max_rules:
            raise L7RuleError(f"too many L7 rules: {len(ordered)} (maximum {max_rules})", "rules")
        seen: set[str] = set()
        for rule in ordered:
            if rule.id in seen:
                raise L7RuleError(f"duplicate L7 rule id '{rule.id}'", "rules")
            seen.add(rule.id)
        self.rules: tuple[L7Rule, ...] = tuple(ordered)
        self._by_protocol: dict[L7Protocol, tuple[L7Rule, ...]] = {
            proto: tuple(r for r in ordered if r.enabled and r.protocol is proto) for proto in L7Protocol
        }

    def evaluate(self, message: L7Message, packet: PacketHeader) -> L7Decision:
        """The decision of the first enabled rule (by priority) matching ``message`` on ``packet``."""
        protocol = message_protocol(message)
        for rule in self._by_protocol[protocol]:
            if rule_matches(rule, message, packet):
                alert = None
                if rule.action.alerts:
                    alert = L7Alert(
                        rule_id=rule.id,
                        message=f"L7 {protocol.value} {rule.action.value} rule={rule.id}",
                        mitre=l7_mitre(packet.dst_port),
                        src=packet.src,
                        dst=packet.dst,
                        src_port=packet.src_port or 0,
                        dst_port=packet.dst_port or 0,
                        protocol=int(packet.protocol),
                        ja4=ja4(message)
                        if isinstance(message, ClientHello) and TlsAnomaly.TRUNCATED not in message.anomalies
                        else None,  # a fingerprint of a prefix would be a wrong fingerprint
                    )
                return L7Decision(protocol, rule.id, rule.action, alert)
        return L7Decision(protocol)

    def evaluate_all(self, messages: Sequence[L7Message], packet: PacketHeader) -> tuple[L7Decision, ...]:
        """One decision per message (e.g. each request of a pipeline)."""
        return tuple(self.evaluate(m, packet) for m in messages)

    def inspect(
        self,
        payload: bytes | bytearray | memoryview,
        packet: PacketHeader,
        protocol: L7Protocol | None = None,
    ) -> L7Inspection:
        """Detect (unless ``protocol`` is given), parse and evaluate one buffer of client bytes.

        Never raises for any payload: parse errors are returned in ``error``. An undetected
        protocol gives an inspection with ``protocol`` None and no messages.
        """
        if protocol is None:
            protocol = detect_protocol(payload)
        if protocol is None:
            return L7Inspection(None)
        try:
            messages, need_more, error, anomalies = _parse(protocol, bytes(payload), packet)
        except L7ParseError as exc:
            return L7Inspection(protocol, error=exc)
        return L7Inspection(
            protocol, messages, self.evaluate_all(messages, packet), need_more, error, anomalies
        )


def _parse(
    protocol: L7Protocol, payload: bytes, packet: PacketHeader
) -> tuple[tuple[L7Message, ...], NeedMoreData | None, L7ParseError | None, frozenset[str]]:
    """Run the protocol's parser; returns (messages, need-more, later error, anomaly names)."""
    if protocol is L7Protocol.TLS:
        # One segment at a time, no reassembly: what is not here will not come, so read the
        # captured prefix of a longer hello (its SNI is usually near the start).
        hello = parse_client_hello(payload, partial=True)
        if isinstance(hello, NeedMoreData):
            return (), hello, None, frozenset()
        return (hello,), None, None, frozenset(a.value for a in hello.anomalies)
    if protocol is L7Protocol.HTTP:
        http = parse_http_requests(payload)
        names = frozenset(a.value for r in http.requests for a in r.anomalies)
        return http.requests, http.need_more, http.error, names
    if protocol is L7Protocol.GRPC:
        grpc = parse_grpc(payload)
        names = frozenset(a.value for a in grpc.anomalies)
        names |= frozenset(a.value for r in grpc.requests for a in r.anomalies)
        return grpc.requests, grpc.need_more, grpc.error, names
    if protocol is L7Protocol.SMTP:
        smtp = parse_smtp_commands(payload)
        return smtp.commands, smtp.need_more, smtp.error, frozenset(a.value for a in smtp.anomalies)
    if protocol is L7Protocol.FTP:
        ftp = parse_ftp_commands(payload, client_ip=packet.src)
        return ftp.commands, ftp.need_more, ftp.error, frozenset(a.value for a in ftp.anomalies)
    smb = parse_smb(payload)
    names = frozenset(a.value for m in smb.messages for a in m.anomalies)
    return smb.messages, smb.need_more, smb.error, names
