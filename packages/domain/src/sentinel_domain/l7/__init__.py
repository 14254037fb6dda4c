"""L7 firewall: sans-IO protocol parsers and the L7 rule engine (contract §1.8, §7.7).

Parsers take the bytes a client sent and return typed results; each raises only its own
:class:`L7ParseError` subclass. A buffer that ends inside a message gives :class:`NeedMoreData`
(not an error): the parsers keep no state, so the caller re-parses the grown buffer. Parsers of
pipelined protocols (HTTP, gRPC, SMTP, FTP, SMB) raise only when the first message is malformed;
a later malformed message ends the list and is returned in the result's ``error``.

Use: ``detect_protocol(payload)`` → the parser → ``L7Engine(rules).evaluate(message, packet)``,
or ``L7Engine.inspect(payload, packet)`` for all three steps.
"""

from sentinel_domain.l7._common import NeedMoreData
from sentinel_domain.l7._detect import detect_protocol
from sentinel_domain.l7._ftp import FtpAnomaly, FtpCommand, FtpCommands, parse_ftp_commands
from sentinel_domain.l7._grpc import GrpcRequests, parse_grpc
from sentinel_domain.l7._grpc_request import GrpcAnomaly, GrpcRequest, split_grpc_path
from sentinel_domain.l7._hpack import HpackDecoder
from sentinel_domain.l7._http import (
    HttpRequest,
    HttpRequests,
    parse_http_request,
    parse_http_requests,
)
from sentinel_domain.l7._http_head import HttpAnomaly
from sentinel_domain.l7._ja4 import ja4, ja4_raw
from sentinel_domain.l7._patterns import DomainPattern, TextPattern
from sentinel_domain.l7._rule_codec import parse_l7_action, parse_l7_protocol, rule_from_dict, rule_to_dict
from sentinel_domain.l7._smb import SmbAnomaly, SmbDialect, SmbMessage, SmbMessages, parse_smb
from sentinel_domain.l7._smtp import SmtpAnomaly, SmtpCommand, SmtpCommands, parse_smtp_commands
from sentinel_domain.l7._tls import ClientHello, is_grease, parse_client_hello
from sentinel_domain.l7._tls_ext import TlsAnomaly
from sentinel_domain.l7.engine import (
    L7Engine,
    L7Inspection,
    L7Message,
    l7_mitre,
    matcher_matches,
    message_protocol,
    rule_matches,
)
from sentinel_domain.l7.entity import (
    CommandMatcher,
    GrpcMatcher,
    HttpMatcher,
    L7Action,
    L7Alert,
    L7Decision,
    L7Matcher,
    L7Protocol,
    L7Rule,
    SmbMatcher,
    TlsMatcher,
)
from sentinel_domain.l7.errors import (
    FtpParseError,
    HpackError,
    Http2ParseError,
    HttpParseError,
    L7ParseError,
    L7RuleError,
    SmbParseError,
    SmtpParseError,
    TlsParseError,
)

__all__ = [
    "ClientHello",
    "CommandMatcher",
    "DomainPattern",
    "FtpAnomaly",
    "FtpCommand",
    "FtpCommands",
    "FtpParseError",
    "GrpcAnomaly",
    "GrpcMatcher",
    "GrpcRequest",
    "GrpcRequests",
    "HpackDecoder",
    "HpackError",
    "Http2ParseError",
    "HttpAnomaly",
    "HttpMatcher",
    "HttpParseError",
    "HttpRequest",
    "HttpRequests",
    "L7Action",
    "L7Alert",
    "L7Decision",
    "L7Engine",
    "L7Inspection",
    "L7Matcher",
    "L7Message",
    "L7ParseError",
    "L7Protocol",
    "L7Rule",
    "L7RuleError",
    "NeedMoreData",
    "SmbAnomaly",
    "SmbDialect",
    "SmbMatcher",
    "SmbMessage",
    "SmbMessages",
    "SmbParseError",
    "SmtpAnomaly",
    "SmtpCommand",
    "SmtpCommands",
    "SmtpParseError",
    "TextPattern",
    "TlsAnomaly",
    "TlsMatcher",
    "TlsParseError",
    "detect_protocol",
    "is_grease",
    "ja4",
    "ja4_raw",
    "l7_mitre",
    "matcher_matches",
    "message_protocol",
    "parse_client_hello",
    "parse_ftp_commands",
    "parse_grpc",
    "parse_http_request",
    "parse_http_requests",
    "parse_l7_action",
    "parse_l7_protocol",
    "parse_smb",
    "parse_smtp_commands",
    "rule_from_dict",
    "rule_matches",
    "rule_to_dict",
    "split_grpc_path",
]
