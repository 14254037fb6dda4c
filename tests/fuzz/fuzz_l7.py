"""Harnesses for the L7 parsers and engine: only each parser's own error, or need-more-data.

Contract (``sentinel_domain.l7`` docstring): every parser returns a typed result or raises its
own :class:`L7ParseError` subclass, for any bytes; a buffer that ends inside a message gives
``NeedMoreData``. ``detect_protocol`` and ``L7Engine.inspect`` never raise. JA4 is computed on
every hello that parses (it must accept any hello the parser returns).
"""

import ipaddress

from _support import check

from sentinel_domain.common import PacketHeader, Protocol
from sentinel_domain.l7 import (
    FtpParseError,
    Http2ParseError,
    HttpParseError,
    L7Engine,
    L7Protocol,
    NeedMoreData,
    SmbParseError,
    SmtpParseError,
    TlsParseError,
    detect_protocol,
    ja4,
    ja4_raw,
    parse_client_hello,
    parse_ftp_commands,
    parse_grpc,
    parse_http_requests,
    parse_smb,
    parse_smtp_commands,
    rule_from_dict,
)

_CLIENT_V4 = ipaddress.ip_address("192.0.2.10")
_CLIENT_V6, _SERVER_V6 = ipaddress.ip_address("2001:db8::1"), ipaddress.ip_address("2001:db8::2")
_PACKETS = (
    PacketHeader(_CLIENT_V4, ipaddress.ip_address("198.51.100.1"), Protocol.TCP, 40000, 443),
    PacketHeader(_CLIENT_V6, _SERVER_V6, Protocol.TCP, 5, 25),
)
# One matcher rule per protocol (so every matcher runs) and a catch-all deny per protocol (so
# every message reaches the alert path, JA4 included).
_RULES: list[dict[str, object]] = [
    {"protocol": "http", "method": "POST", "path": "/admin/*", "host": "*.example.com", "content_type": "js"},
    {"protocol": "tls", "sni": "*.example.com"},
    {"protocol": "grpc", "service": "pkg.Admin", "grpc_method": "Delete*"},
    {"protocol": "smtp", "command": "VRFY"},
    {"protocol": "ftp", "command": "PORT", "dst_port": "20-21"},
    {"protocol": "smb", "smb_command": 3, "is_smb2": True, "src_ip": "192.0.2.0/24"},
]
_ENGINE = L7Engine(
    [rule_from_dict({"id": f"m{i}", "priority": 1 + i, "action": "log", **r}) for i, r in enumerate(_RULES)]
    + [
        rule_from_dict({"id": f"all-{p.value}", "priority": 100, "action": "deny", "protocol": p.value})
        for p in L7Protocol
    ]
)
_INSPECT_AS: tuple[L7Protocol | None, ...] = (None, *L7Protocol)


def fuzz_http(data: bytes) -> None:
    try:
        result = parse_http_requests(data)
    except HttpParseError:
        return
    check(result.consumed <= len(data), "consumed more bytes than given")


def fuzz_tls(data: bytes) -> None:
    try:
        hello = parse_client_hello(data)
    except TlsParseError:
        return
    if isinstance(hello, NeedMoreData):
        return
    check(hello.length <= len(data), "ClientHello longer than the buffer")
    ja4(hello)
    ja4_raw(hello, original_order=True)


def fuzz_grpc(data: bytes) -> None:
    # The first byte picks whether the connection preface is required (both modes are used).
    try:
        result = parse_grpc(data[1:], require_preface=not (data[:1] and data[0] & 1))
    except Http2ParseError:
        return
    check(result.consumed <= len(data), "consumed more bytes than given")


def fuzz_smtp(data: bytes) -> None:
    try:
        result = parse_smtp_commands(data)
    except SmtpParseError:
        return
    check(result.consumed <= len(data), "consumed more bytes than given")


def fuzz_ftp(data: bytes) -> None:
    try:
        result = parse_ftp_commands(data, client_ip=_CLIENT_V4)
    except FtpParseError:
        return
    check(result.consumed <= len(data), "consumed more bytes than given")


def fuzz_smb(data: bytes) -> None:
    try:
        result = parse_smb(data)
    except SmbParseError:
        return
    check(result.consumed <= len(data), "consumed more bytes than given")


def fuzz_detect(data: bytes) -> None:
    detect_protocol(data)
    detect_protocol(memoryview(data))


def fuzz_inspect(data: bytes) -> None:
    # First byte: which protocol to force (or detect), and which packet (IPv4 or IPv6).
    selector = data[0] if data else 0
    protocol = _INSPECT_AS[selector % len(_INSPECT_AS)]
    packet = _PACKETS[(selector >> 4) & 1]
    inspection = _ENGINE.inspect(data[1:], packet, protocol)
    check(len(inspection.decisions) == len(inspection.messages), "one decision per message")


HARNESSES = {
    "l7_http": fuzz_http,
    "l7_tls": fuzz_tls,
    "l7_grpc": fuzz_grpc,
    "l7_smtp": fuzz_smtp,
    "l7_ftp": fuzz_ftp,
    "l7_smb": fuzz_smb,
    "l7_detect": fuzz_detect,
    "l7_inspect": fuzz_inspect,
}
