"""FTP control-connection command parser (RFC 959, RFC 2428 EPRT, RFC 4217 AUTH TLS).

Sans-IO: the caller gives the client's bytes. PORT and EPRT arguments are validated and the
data endpoints they name are checked for FTP-bounce and other hostile values.
"""

import enum
import ipaddress
from dataclasses import dataclass, field

from sentinel_domain.common.addresses import IpAddress
from sentinel_domain.l7._common import NeedMoreData
from sentinel_domain.l7._lines import next_line, split_command
from sentinel_domain.l7.errors import FtpParseError

MAX_LINE = 4096  # RFC 959 sets no limit; long enough for any path name
MAX_COMMANDS = 256
# RFC 959 §4.1, RFC 2228, RFC 2389, RFC 2428, RFC 2640, RFC 3659, RFC 7151 and the X* aliases.
KNOWN_VERBS = frozenset(
    {
        "USER",
        "PASS",
        "ACCT",
        "CWD",
        "CDUP",
        "SMNT",
        "REIN",
        "QUIT",
        "PORT",
        "PASV",
        "TYPE",
        "STRU",
        "MODE",
        "RETR",
        "STOR",
        "STOU",
        "APPE",
        "ALLO",
        "REST",
        "RNFR",
        "RNTO",
        "ABOR",
        "DELE",
        "RMD",
        "MKD",
        "PWD",
        "LIST",
        "NLST",
        "SITE",
        "SYST",
        "STAT",
        "HELP",
        "NOOP",
        "FEAT",
        "OPTS",
        "EPRT",
        "EPSV",
        "AUTH",
        "PBSZ",
        "PROT",
        "CCC",
        "ADAT",
        "MIC",
        "CONF",
        "ENC",
        "MDTM",
        "SIZE",
        "MLST",
        "MLSD",
        "LANG",
        "HOST",
        "XCWD",
        "XMKD",
        "XRMD",
        "XPWD",
        "XCUP",
    }
)
_SECRET_VERBS = frozenset({"PASS", "ACCT"})


class FtpAnomaly(enum.Enum):
    """Odd or hostile control-connection content (FTP bounce and friends, RFC 2577)."""

    BARE_LF = "bare_lf"
    UNKNOWN_COMMAND = "unknown_command"
    INVALID_COMMAND_LINE = "invalid_command_line"  # no verb: skipped
    NON_UTF8 = "non_utf8"
    MALFORMED_PORT = "malformed_port"  # PORT/EPRT argument not as RFC 959 §4.1.2 / RFC 2428 §2
    PORT_BOUNCE = "port_bounce"  # data address is not the client (FTP bounce, RFC 2577 §3)
    PORT_PRIVILEGED = "port_privileged"  # data port below 1024 (RFC 2577 §3 recommends refusing)
    PORT_SPECIAL_ADDRESS = "port_special_address"  # loopback, unspecified, multicast, reserved...


@dataclass(frozen=True, slots=True)
class FtpCommand:
    """One command. ``params`` of PASS/ACCT are replaced by ``***``; ``endpoint`` is the data
    address and port of a valid PORT/EPRT; ``anomalies`` are this command's own findings."""

    verb: str
    params: str
    offset: int
    known: bool = True
    endpoint: tuple[IpAddress, int] | None = None
    anomalies: frozenset[FtpAnomaly] = field(default=frozenset())


@dataclass(frozen=True, slots=True)
class FtpCommands:
    """Commands in order; ``tls_started`` when ``AUTH TLS``/``AUTH SSL`` was the last read; ``error``
    when parsing stopped at an over-long line after at least one command."""

    commands: tuple[FtpCommand, ...]
    consumed: int
    need_more: NeedMoreData | None = None
    anomalies: frozenset[FtpAnomaly] = field(default=frozenset())
    tls_started: bool = False
    error: FtpParseError | None = None


def _strip_telnet(raw: bytes) -> bytes:
    """Drop Telnet IAC sequences (RFC 854), e.g. the IAC IP IAC DM a client sends before ABOR."""
    if b"\xff" not in raw:
        return raw
    out = bytearray()
    i = 0
    while i < len(raw):
        byte = raw[i]
        if byte != 0xFF:
            out.append(byte)
            i += 1
        elif i + 1 < len(raw) and raw[i + 1] == 0xFF:
            out.append(0xFF)  # IAC IAC is a literal 0xFF
            i += 2
        else:
            # WILL/WONT/DO/DONT (251-254) take an option byte; other commands are two bytes.
            i += 3 if i + 1 < len(raw) and 251 <= raw[i + 1] <= 254 else 2
    return bytes(out)


def parse_port_argument(params: str) -> tuple[IpAddress, int] | None:
    """RFC 959 §4.1.2: ``h1,h2,h3,h4,p1,p2``, six decimal numbers 0-255; None when malformed."""
    fields = params.strip().split(",")
    if len(fields) != 6 or not all(1 <= len(f) <= 3 and f.isascii() and f.isdigit() for f in fields):
        return None
    numbers = [int(f) for f in fields]
    if any(n > 255 for n in numbers):
        return None
    address = ipaddress.IPv4Address(bytes(numbers[:4]))
    return address, numbers[4] * 256 + numbers[5]


def parse_eprt_argument(params: str) -> tuple[IpAddress, int] | None:
    """RFC 2428 §2: ``<d><net-prt><d><net-addr><d><tcp-port><d>``, d in ASCII 33-126."""
    text = params.strip()
    if len(text) < 7 or not 33 <= ord(text[0]) <= 126:
        return None
    parts = text.split(text[0])
    if len(parts) != 5 or parts[0] or parts[4] or parts[1] not in ("1", "2"):
        return None
    port = parts[3]
    if not (1 <= len(port) <= 5 and port.isascii() and port.isdigit()) or int(port) > 65535:
        return None
    try:
        address: IpAddress = (
            ipaddress.IPv4Address(parts[2]) if parts[1] == "1" else ipaddress.IPv6Address(parts[2])
        )
    except ValueError:
        return None
    return address, int(port)


def endpoint_anomalies(address: IpAddress, port: int, client: IpAddress | None) -> set[FtpAnomaly]:
    """What is hostile about a PORT/EPRT target (RFC 2577 §3 FTP bounce)."""
    found: set[FtpAnomaly] = set()
    if client is not None and address != client:
        found.add(FtpAnomaly.PORT_BOUNCE)
    if port < 1024:
        found.add(FtpAnomaly.PORT_PRIVILEGED)
    if (
        address.is_loopback
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
        or address.is_link_local
        or address == ipaddress.IPv4Address("255.255.255.255")
    ):
        found.add(FtpAnomaly.PORT_SPECIAL_ADDRESS)
    return found


def _command(verb: str, params: str, offset: int, client: IpAddress | None) -> FtpCommand:
    anomalies: set[FtpAnomaly] = set()
    endpoint = None
    if verb in ("PORT", "EPRT"):
        endpoint = parse_port_argument(params) if verb == "PORT" else parse_eprt_argument(params)
        if endpoint is None:
            anomalies.add(FtpAnomaly.MALFORMED_PORT)
        else:
            anomalies |= endpoint_anomalies(*endpoint, client)
    if verb in _SECRET_VERBS:
        params = "***"
    known = verb in KNOWN_VERBS
    if not known:
        anomalies.add(FtpAnomaly.UNKNOWN_COMMAND)
    return FtpCommand(verb, params, offset, known, endpoint, frozenset(anomalies))


def parse_ftp_commands(
    data: bytes | bytearray | memoryview,
    *,
    client_ip: IpAddress | None = None,
    max_line: int = MAX_LINE,
    max_commands: int = MAX_COMMANDS,
) -> FtpCommands:
    """Split an FTP client's control bytes into commands.

    Promises: returns or raises :class:`FtpParseError`, nothing else, for any bytes; it raises
    only when the first line is longer than ``max_line``. ``client_ip`` (the control connection's
    client) enables the FTP-bounce check. Lines without a verb (e.g. server replies) are skipped
    and flagged. Parsing stops after ``AUTH TLS``/``AUTH SSL`` (the rest is TLS).
    """
    buf = bytes(data)
    commands: list[FtpCommand] = []
    anomalies: set[FtpAnomaly] = set()
    pos = 0
    while pos < len(buf) and len(commands) < max_commands:
        line = next_line(buf, pos, max_line)
        if line is None:
            need = NeedMoreData("ftp", len(buf) + 1, "command line incomplete")
            return FtpCommands(tuple(commands), pos, need, frozenset(anomalies))
        if isinstance(line, int):
            exc = FtpParseError(f"line longer than {max_line} octets", pos)
            if not commands:
                raise exc
            return FtpCommands(tuple(commands), pos, None, frozenset(anomalies), error=exc)
        pos = line.end
        if line.bare_lf:
            anomalies.add(FtpAnomaly.BARE_LF)
        parts = split_command(_strip_telnet(line.raw))
        if parts is None:
            anomalies.add(FtpAnomaly.INVALID_COMMAND_LINE)
            continue
        verb, params, utf8 = parts
        if not utf8:
            anomalies.add(FtpAnomaly.NON_UTF8)
        command = _command(verb, params, line.start, client_ip)
        anomalies |= command.anomalies
        commands.append(command)
        if verb == "AUTH" and params.strip().upper() in ("TLS", "SSL", "TLS-C", "TLS-P"):
            return FtpCommands(tuple(commands), pos, None, frozenset(anomalies), tls_started=True)
    return FtpCommands(tuple(commands), pos, None, frozenset(anomalies))
