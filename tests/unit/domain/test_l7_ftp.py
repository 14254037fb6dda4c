"""FTP control commands: verbs, PORT/EPRT validation and bounce checks, Telnet bytes, line caps."""

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_domain.l7 import FtpAnomaly, FtpCommands, FtpParseError, NeedMoreData, parse_ftp_commands
from sentinel_domain.l7._ftp import parse_eprt_argument, parse_port_argument

CLIENT = ipaddress.ip_address("192.0.2.10")
F = FtpAnomaly


def test_a_session() -> None:
    data = b"USER anonymous\r\nPASS guest@\r\nCWD /pub\r\nTYPE I\r\nPASV\r\nRETR file.tgz\r\nQUIT\r\n"
    result = parse_ftp_commands(data, client_ip=CLIENT)
    assert [(c.verb, c.params) for c in result.commands] == [
        ("USER", "anonymous"),
        ("PASS", "***"),  # passwords are never kept
        ("CWD", "/pub"),
        ("TYPE", "I"),
        ("PASV", ""),
        ("RETR", "file.tgz"),
        ("QUIT", ""),
    ]
    assert result.consumed == len(data) and result.anomalies == frozenset()
    assert all(c.known for c in result.commands)


PORT_ARGS = {
    "valid": ("192,0,2,10,4,1", (ipaddress.ip_address("192.0.2.10"), 1025)),
    "spaces around": (" 192,0,2,10,0,21 ", (ipaddress.ip_address("192.0.2.10"), 21)),
    "value above 255": ("192,0,2,256,4,1", None),
    "five fields": ("192,0,2,10,4", None),
    "seven fields": ("192,0,2,10,4,1,1", None),
    "empty field": ("192,,2,10,4,1", None),
    "sign": ("+1,0,2,10,4,1", None),
    "four digits": ("0192,0,2,10,4,1", None),
    "non-ASCII digit": ("\u0661,0,2,10,4,1", None),  # ARABIC-INDIC DIGIT ONE
    "empty": ("", None),
}


@pytest.mark.parametrize("params, expected", PORT_ARGS.values(), ids=PORT_ARGS.keys())
def test_port_argument(params: str, expected: object) -> None:
    assert parse_port_argument(params) == expected


EPRT_ARGS = {
    "IPv4": ("|1|132.235.1.2|6275|", (ipaddress.ip_address("132.235.1.2"), 6275)),
    "IPv6": ("|2|1080::8:800:200C:417A|5282|", (ipaddress.ip_address("1080::8:800:200c:417a"), 5282)),
    "other delimiter": ("!1!10.0.0.1!21!", (ipaddress.ip_address("10.0.0.1"), 21)),
    "family mismatch": ("|1|::1|21|", None),
    "unknown family": ("|3|10.0.0.1|21|", None),
    "port above 65535": ("|1|10.0.0.1|65536|", None),
    "missing closing delimiter": ("|1|10.0.0.1|21", None),
    "space delimiter": (" 1 10.0.0.1 21 ", None),
    "bad address": ("|1|10.0.0.300|21|", None),
}


@pytest.mark.parametrize("params, expected", EPRT_ARGS.values(), ids=EPRT_ARGS.keys())
def test_eprt_argument(params: str, expected: object) -> None:
    assert parse_eprt_argument(params) == expected


HOSTILE = {
    "bounce to another host": (b"PORT 198,51,100,7,19,137\r\n", {F.PORT_BOUNCE}),
    "privileged port on the client": (b"PORT 192,0,2,10,0,25\r\n", {F.PORT_PRIVILEGED}),
    "loopback": (b"PORT 127,0,0,1,19,137\r\n", {F.PORT_BOUNCE, F.PORT_SPECIAL_ADDRESS}),
    "unspecified": (b"PORT 0,0,0,0,19,137\r\n", {F.PORT_BOUNCE, F.PORT_SPECIAL_ADDRESS}),
    "broadcast": (b"PORT 255,255,255,255,19,137\r\n", {F.PORT_BOUNCE, F.PORT_SPECIAL_ADDRESS}),
    "port zero": (b"PORT 192,0,2,10,0,0\r\n", {F.PORT_PRIVILEGED}),
    "malformed": (b"PORT 192,0,2,999,1,1\r\n", {F.MALFORMED_PORT}),
    "EPRT bounce to IPv6 loopback": (b"EPRT |2|::1|8080|\r\n", {F.PORT_BOUNCE, F.PORT_SPECIAL_ADDRESS}),
    "clean PORT": (b"PORT 192,0,2,10,200,10\r\n", set()),
}


@pytest.mark.parametrize("data, expected", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_port_values_are_flagged(data: bytes, expected: set[FtpAnomaly]) -> None:
    (command,) = parse_ftp_commands(data, client_ip=CLIENT).commands
    assert set(command.anomalies) == expected


def test_endpoint_is_reported() -> None:
    (command,) = parse_ftp_commands(b"PORT 192,0,2,10,200,10\r\n").commands
    assert command.endpoint == (CLIENT, 200 * 256 + 10)


def test_no_bounce_check_without_client_address() -> None:
    (command,) = parse_ftp_commands(b"PORT 198,51,100,7,19,137\r\n").commands
    assert command.anomalies == frozenset()


def test_telnet_interrupt_before_abor_is_stripped() -> None:
    (command,) = parse_ftp_commands(b"\xff\xf4\xff\xf2ABOR\r\n").commands
    assert command.verb == "ABOR"
    assert parse_ftp_commands(b"\xff\xfb\x01NOOP\r\n").commands[0].verb == "NOOP"  # IAC WILL ECHO


def test_auth_tls_ends_the_commands() -> None:
    result = parse_ftp_commands(b"AUTH TLS\r\n\x16\x03\x01")
    assert result.tls_started and [c.verb for c in result.commands] == ["AUTH"]


ANOMALIES = {
    "bare LF": (b"USER a\nPASS b\n", F.BARE_LF),
    "server reply line": (b"220 FTP ready\r\nUSER a\r\n", F.INVALID_COMMAND_LINE),
    "unknown verb": (b"XYZZY\r\n", F.UNKNOWN_COMMAND),
    "non-UTF-8 path": (b"RETR \xfe.txt\r\n", F.NON_UTF8),  # 0xFF would be Telnet IAC
}


@pytest.mark.parametrize("data, anomaly", ANOMALIES.values(), ids=ANOMALIES.keys())
def test_anomalies(data: bytes, anomaly: FtpAnomaly) -> None:
    assert anomaly in parse_ftp_commands(data).anomalies


def test_need_more_data() -> None:
    result = parse_ftp_commands(b"USER a\r\nRETR big")
    assert [c.verb for c in result.commands] == ["USER"]
    assert isinstance(result.need_more, NeedMoreData) and result.consumed == 8


def test_line_cap() -> None:
    with pytest.raises(FtpParseError, match="longer than 4096"):
        parse_ftp_commands(b"RETR " + b"a" * 5000)
    later = parse_ftp_commands(b"USER a\r\nRETR " + b"a" * 5000)
    assert [c.verb for c in later.commands] == ["USER"] and isinstance(later.error, FtpParseError)


def _check(data: bytes) -> None:
    try:
        result = parse_ftp_commands(data, client_ip=CLIENT)
    except FtpParseError:
        return
    assert isinstance(result, FtpCommands)
    assert 0 <= result.consumed <= len(data)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes_never_raise_anything_else(data: bytes) -> None:
    _check(data)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80), st.sampled_from(["PORT", "EPRT", "port"]))
def test_random_port_arguments_never_raise_anything_else(params: str, verb: str) -> None:
    _check(f"{verb} {params}\r\n".encode("utf-8", "surrogatepass"))


SEED = b"USER a\r\nPASS b\r\nPORT 192,0,2,10,4,1\r\nEPRT |2|::1|80|\r\n\xff\xf4\xff\xf2ABOR\r\nRETR x\r\n"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255), st.sampled_from("fid")), max_size=6))
def test_mutated_sessions_never_raise_anything_else(edits: list[tuple[int, int, str]]) -> None:
    data = bytearray(SEED)
    for where, byte, kind in edits:
        at = where % (len(data) + 1)
        if kind == "f" and at < len(data):
            data[at] ^= byte or 1
        elif kind == "i":
            data[at:at] = bytes([byte])
        else:
            del data[at : at + 1 + byte % 8]
    _check(bytes(data))
