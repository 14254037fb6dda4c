"""L7 rules, their matchers, and the engine's decisions (contract §1.8, §2.3, §7.7)."""

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sentinel_domain.common.addresses import IpAddress, IpNetwork
from sentinel_domain.common.mitre import MitreRef
from sentinel_domain.common.ports import PortRange
from sentinel_domain.common.severity import Severity
from sentinel_domain.l7._patterns import DomainPattern, TextPattern
from sentinel_domain.l7.errors import L7RuleError

MAX_ID_LENGTH = 256
MAX_PRIORITY = 0xFFFFFFFF
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")
_METHOD_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}")
_COMMAND_RE = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,15}")


class L7Protocol(enum.Enum):
    """The protocols an L7 rule can name (the API accepts exactly these, contract §2.3)."""

    HTTP = "http"
    TLS = "tls"
    GRPC = "grpc"
    SMTP = "smtp"
    FTP = "ftp"
    SMB = "smb"


class L7Action(enum.Enum):
    """What a matching rule does. L7 is detection only: deny and reject raise an alert."""

    ALLOW = "allow"
    DENY = "deny"
    LOG = "log"
    REJECT = "reject"

    @property
    def alerts(self) -> bool:
        return self in (L7Action.DENY, L7Action.REJECT)


def validate_method(value: str) -> str:
    if not isinstance(value, str) or not _METHOD_RE.fullmatch(value):
        raise L7RuleError(f"invalid HTTP method '{value}': expected 1-32 token characters (e.g. GET)")
    return value


def validate_command(value: str) -> str:
    if not isinstance(value, str) or not _COMMAND_RE.fullmatch(value):
        raise L7RuleError(f"invalid command '{value}': expected a verb of 1-16 letters, digits or '-'")
    return value


@dataclass(frozen=True, slots=True)
class HttpMatcher:
    """``method`` exact and ``content_type`` substring, both case-insensitive; ``path`` matches
    the origin-form target (path and query); ``host`` the request's host name."""

    method: str | None = None
    path: TextPattern | None = None
    host: DomainPattern | None = None
    content_type: str | None = None

    def __post_init__(self) -> None:
        if self.method is not None:
            validate_method(self.method)
        if self.content_type is not None and (not self.content_type or len(self.content_type) > 512):
            raise L7RuleError(f"invalid content_type '{self.content_type}': expected 1-512 characters")

    @property
    def protocol(self) -> L7Protocol:
        return L7Protocol.HTTP


@dataclass(frozen=True, slots=True)
class TlsMatcher:
    """``sni`` matches the ClientHello's first host_name."""

    sni: DomainPattern | None = None

    @property
    def protocol(self) -> L7Protocol:
        return L7Protocol.TLS


@dataclass(frozen=True, slots=True)
class GrpcMatcher:
    """``service`` (``package.Service``) and ``method`` from the ``:path`` of a request."""

    service: TextPattern | None = None
    method: TextPattern | None = None

    @property
    def protocol(self) -> L7Protocol:
        return L7Protocol.GRPC


@dataclass(frozen=True, slots=True)
class CommandMatcher:
    """SMTP or FTP: ``command`` equals the verb, case-insensitive."""

    protocol: L7Protocol
    command: str | None = None

    def __post_init__(self) -> None:
        if self.protocol not in (L7Protocol.SMTP, L7Protocol.FTP):
            raise L7RuleError(f"a command matcher is for smtp or ftp, not '{self.protocol.value}'")
        if self.command is not None:
            validate_command(self.command)


@dataclass(frozen=True, slots=True)
class SmbMatcher:
    """``command`` equals a command of the message (any member of an SMB2 compound);
    ``is_smb2`` None matches both dialects (the command codes then mean different things)."""

    command: int | None = None
    is_smb2: bool | None = None

    def __post_init__(self) -> None:
        if self.command is not None:
            limit = 0xFF if self.is_smb2 is False else 0xFFFF
            if (
                isinstance(self.command, bool)
                or not isinstance(self.command, int)
                or not 0 <= self.command <= limit
            ):
                raise L7RuleError(f"invalid smb_command '{self.command}': expected an integer 0-{limit}")

    @property
    def protocol(self) -> L7Protocol:
        return L7Protocol.SMB


L7Matcher = HttpMatcher | TlsMatcher | GrpcMatcher | CommandMatcher | SmbMatcher


@dataclass(frozen=True, slots=True)
class L7Rule:
    """One L7 rule. Absent fields are wildcards; a set pattern never matches a missing field."""

    id: str
    priority: int
    action: L7Action
    matcher: L7Matcher
    src_ip: IpNetwork | None = None
    dst_ip: IpNetwork | None = None
    dst_port: PortRange | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or len(self.id) > MAX_ID_LENGTH or not _ID_RE.fullmatch(self.id):
            raise L7RuleError(
                f"invalid rule id '{self.id}': 1-{MAX_ID_LENGTH} characters of [A-Za-z0-9_.:-], "
                "starting with a letter or digit",
                "id",
            )
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise L7RuleError(f"rule '{self.id}': priority must be an integer", "priority")
        if not 1 <= self.priority <= MAX_PRIORITY:
            raise L7RuleError(
                f"rule '{self.id}': priority {self.priority} out of range 1-{MAX_PRIORITY}", "priority"
            )
        if self.src_ip is not None and self.dst_ip is not None and self.src_ip.version != self.dst_ip.version:
            raise L7RuleError(f"rule '{self.id}': src_ip and dst_ip mix IPv4 and IPv6")

    @property
    def protocol(self) -> L7Protocol:
        return self.matcher.protocol

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> "L7Rule":
        """Build a rule from the YAML / ``CreateL7RuleRequest`` shape (flat matcher fields) or
        the ``L7RuleResponse`` shape (tagged ``matcher``); see :func:`rule_from_dict`."""
        from sentinel_domain.l7._rule_codec import rule_from_dict

        return rule_from_dict(data)

    def to_dict(self) -> dict[str, object]:
        """The contract's ``L7RuleResponse`` shape; see :func:`rule_to_dict`."""
        from sentinel_domain.l7._rule_codec import rule_to_dict

        return rule_to_dict(self)


@dataclass(frozen=True, slots=True)
class L7Alert:
    """What the alert pipeline needs to build an alert for a deny/reject match (contract §8.1):
    component ``l7``, severity medium, action block. ``ja4`` is set for TLS matches."""

    rule_id: str
    message: str
    mitre: MitreRef
    src: IpAddress
    dst: IpAddress
    src_port: int
    dst_port: int
    protocol: int
    severity: Severity = Severity.MEDIUM
    component: str = "l7"
    action: str = "block"
    ja4: str | None = None


@dataclass(frozen=True, slots=True)
class L7Decision:
    """The engine's answer for one message: the first matching rule and its action (both None
    when no rule matched), and the alert data for deny/reject."""

    protocol: L7Protocol
    rule_id: str | None = None
    action: L7Action | None = None
    alert: L7Alert | None = None

    @property
    def matched(self) -> bool:
        return self.rule_id is not None

    @property
    def audit_action(self) -> str | None:
        """The audit trail's verdict (contract §7.7): ``drop`` for deny/reject, else ``pass``."""
        if self.action is None:
            return None
        return "drop" if self.action.alerts else "pass"
