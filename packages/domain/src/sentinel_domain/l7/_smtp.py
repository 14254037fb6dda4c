"""SMTP client command parser (RFC 5321), pipelining-aware (RFC 2920), with BDAT (RFC 3030).

Sans-IO: the caller gives the client's bytes. DATA content is skipped up to the ``<CRLF>.<CRLF>``
terminator (RFC 5321 §4.1.1.4) and BDAT chunks by their declared size, so the commands after
them are found too. Parsing stops after STARTTLS (the rest is TLS).
"""

import enum
from dataclasses import dataclass, field

from sentinel_domain.l7._common import NeedMoreData
from sentinel_domain.l7._lines import Line, next_line, split_command
from sentinel_domain.l7.errors import SmtpParseError

MAX_LINE = 1000  # RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets including <CRLF>
COMMAND_LINE = 512  # RFC 5321 §4.5.3.1.4: a command line is at most 512 octets including <CRLF>
MAX_COMMANDS = 256
MAX_BDAT_DIGITS = 18
KNOWN_VERBS = frozenset(
    {"EHLO", "HELO", "MAIL", "RCPT", "DATA", "BDAT", "QUIT", "RSET", "NOOP", "VRFY", "EXPN", "HELP"}
    | {"STARTTLS", "AUTH"}
)
# Sequences some servers take as end-of-data although only <CRLF>.<CRLF> is (SMTP smuggling).
_FAKE_DATA_ENDS = (b"\n.\n", b"\n.\r\n", b"\r.\r", b"\r\n.\n")


class SmtpAnomaly(enum.Enum):
    """Departures from RFC 5321 that some servers read differently (smuggling and evasion hints)."""

    BARE_LF = "bare_lf"  # RFC 5321 §2.3.8: lines end in CRLF only
    LONG_COMMAND_LINE = "long_command_line"  # > 512 octets (§4.5.3.1.4)
    LONG_TEXT_LINE = "long_text_line"  # a DATA line > 1000 octets (§4.5.3.1.6)
    UNKNOWN_COMMAND = "unknown_command"
    INVALID_COMMAND_LINE = "invalid_command_line"  # no verb: skipped
    NON_UTF8 = "non_utf8"
    SMUGGLED_END_OF_DATA = "smuggled_end_of_data"  # e.g. <LF>.<LF> inside DATA
    BARE_LF_IN_DATA = "bare_lf_in_data"


@dataclass(frozen=True, slots=True)
class SmtpCommand:
    """One client command. ``params`` is the text after the verb; for AUTH only the mechanism is
    kept (the initial response is a credential and is replaced by ``***``)."""

    verb: str
    params: str
    offset: int
    known: bool = True


@dataclass(frozen=True, slots=True)
class SmtpCommands:
    """Commands in order. ``consumed`` counts bytes fully parsed (commands and skipped content);
    ``in_data`` tells that the buffer ends inside DATA/BDAT content; ``tls_started`` that STARTTLS
    was the last command read; ``error`` is set when parsing stopped at a malformed line after at
    least one command."""

    commands: tuple[SmtpCommand, ...]
    consumed: int
    need_more: NeedMoreData | None = None
    anomalies: frozenset[SmtpAnomaly] = field(default=frozenset())
    in_data: bool = False
    tls_started: bool = False
    auth_responses: int = 0
    error: SmtpParseError | None = None


def _skip_data(buf: bytes, line: Line, anomalies: set[SmtpAnomaly]) -> int | None:
    """Offset after the end-of-data line of DATA content starting after ``line``; None if absent."""
    # The DATA line's own CRLF is the first CRLF of "<CRLF>.<CRLF>" (empty content is ".\r\n").
    start = line.end - (1 if line.bare_lf else 2)
    term = buf.find(b"\r\n.\r\n", start)
    if term == -1:
        return None
    content = buf[line.end : term]
    if any(fake in buf[start : term + 1] for fake in _FAKE_DATA_ENDS):
        anomalies.add(SmtpAnomaly.SMUGGLED_END_OF_DATA)
    if b"\n" in content.replace(b"\r\n", b""):
        anomalies.add(SmtpAnomaly.BARE_LF_IN_DATA)
    if any(len(text) > MAX_LINE - 2 for text in content.split(b"\r\n")):
        anomalies.add(SmtpAnomaly.LONG_TEXT_LINE)
    return term + 5


def _bdat_size(params: str, offset: int) -> int:
    """RFC 3030 §3: ``bdat-cmd ::= "BDAT" SP chunk-size [ SP end-marker ] CR LF``."""
    parts = params.split(" ")
    size = parts[0]
    ok = 1 <= len(size) <= MAX_BDAT_DIGITS and size.isascii() and size.isdigit()
    if not ok or len(parts) > 2 or (len(parts) == 2 and parts[1].upper() != "LAST"):
        raise SmtpParseError(f"invalid BDAT parameters '{params[:40]}': expected 'size [LAST]'", offset)
    return int(size)


def parse_smtp_commands(
    data: bytes | bytearray | memoryview, *, max_line: int = MAX_LINE, max_commands: int = MAX_COMMANDS
) -> SmtpCommands:
    """Split an SMTP client's bytes into commands.

    Promises: returns or raises :class:`SmtpParseError`, nothing else, for any bytes. It raises
    only when the first line is longer than ``max_line`` octets or a first BDAT is malformed; the
    same faults later stop parsing with ``error`` set. Lines without a verb are skipped and
    flagged; lines after ``AUTH`` that are not known verbs are counted as SASL responses (never
    kept: they carry credentials). At most ``max_commands`` commands are read.
    """
    buf = bytes(data)
    commands: list[SmtpCommand] = []
    anomalies: set[SmtpAnomaly] = set()
    pos = auth_responses = 0
    in_auth = False

    def result(
        need_more: NeedMoreData | None = None,
        in_data: bool = False,
        tls_started: bool = False,
        error: SmtpParseError | None = None,
    ) -> SmtpCommands:
        return SmtpCommands(
            tuple(commands), pos, need_more, frozenset(anomalies), in_data, tls_started, auth_responses, error
        )

    while pos < len(buf) and len(commands) < max_commands:
        line = next_line(buf, pos, max_line)
        if line is None:
            return result(need_more=NeedMoreData("smtp", len(buf) + 1, "command line incomplete"))
        if isinstance(line, int):
            exc = SmtpParseError(f"line longer than {max_line} octets (RFC 5321 §4.5.3.1)", pos)
            if not commands:
                raise exc
            return result(error=exc)
        if line.bare_lf:
            anomalies.add(SmtpAnomaly.BARE_LF)
        if line.end - line.start > COMMAND_LINE:
            anomalies.add(SmtpAnomaly.LONG_COMMAND_LINE)
        parts = split_command(line.raw)
        verb = parts[0] if parts else ""
        if in_auth and verb not in KNOWN_VERBS:
            auth_responses += 1  # a SASL response line (RFC 4954 §4), possibly "*" to cancel
            pos = line.end
            continue
        in_auth = False
        if parts is None:
            anomalies.add(SmtpAnomaly.INVALID_COMMAND_LINE)
            pos = line.end
            continue
        verb, params, utf8 = parts
        if not utf8:
            anomalies.add(SmtpAnomaly.NON_UTF8)
        known = verb in KNOWN_VERBS
        if not known:
            anomalies.add(SmtpAnomaly.UNKNOWN_COMMAND)
        if verb == "AUTH":
            mechanism, sep, _ = params.partition(" ")
            params = f"{mechanism} ***" if sep else mechanism
            in_auth = True
        commands.append(SmtpCommand(verb, params, line.start, known))
        if verb == "DATA":
            end = _skip_data(buf, line, anomalies)
            if end is None:
                pos = line.end
                return result(in_data=True, need_more=NeedMoreData("smtp", len(buf) + 1, "DATA content"))
            pos = end
        elif verb == "BDAT":
            try:
                size = _bdat_size(params, line.start)
            except SmtpParseError as exc:
                if len(commands) == 1:
                    raise
                commands.pop()
                return result(error=exc)
            pos = line.end + size
            if pos > len(buf):
                pos = line.end
                return result(in_data=True, need_more=NeedMoreData("smtp", line.end + size, "BDAT chunk"))
        elif verb == "STARTTLS":
            pos = line.end
            return result(tls_started=True)
        else:
            pos = line.end
    return result()
