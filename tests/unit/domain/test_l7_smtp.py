"""SMTP client command parser: verbs, pipelining, DATA/BDAT skipping, smuggling, line caps."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_domain.l7 import NeedMoreData, SmtpAnomaly, SmtpCommands, SmtpParseError, parse_smtp_commands

SESSION = (
    b"EHLO client.example\r\n"
    b"MAIL FROM:<a@example.com> SIZE=100\r\n"
    b"RCPT TO:<b@example.org>\r\n"
    b"DATA\r\n"
    b"Subject: hi\r\n\r\nRCPT TO:<not-a-command@x>\r\n..leading dot\r\n.\r\n"
    b"QUIT\r\n"
)


def verbs(data: bytes) -> list[str]:
    return [c.verb for c in parse_smtp_commands(data).commands]


def test_a_session_with_data() -> None:
    result = parse_smtp_commands(SESSION)
    assert [(c.verb, c.params) for c in result.commands] == [
        ("EHLO", "client.example"),
        ("MAIL", "FROM:<a@example.com> SIZE=100"),
        ("RCPT", "TO:<b@example.org>"),
        ("DATA", ""),
        ("QUIT", ""),
    ]
    assert result.consumed == len(SESSION)
    assert result.anomalies == frozenset() and result.need_more is None
    assert [c.offset for c in result.commands][:2] == [0, len(b"EHLO client.example\r\n")]


COMMAND_CASES = {
    "verbs are case-insensitive": (b"ehlo x\r\nQuIt\r\n", ["EHLO", "QUIT"]),
    "every listed verb": (
        b"HELO a\r\nRSET\r\nNOOP\r\nVRFY root\r\nEXPN staff\r\nHELP\r\nAUTH LOGIN\r\n",
        ["HELO", "RSET", "NOOP", "VRFY", "EXPN", "HELP", "AUTH"],
    ),
    "pipelined group (RFC 2920)": (
        b"MAIL FROM:<a>\r\nRCPT TO:<b>\r\nRCPT TO:<c>\r\n",
        ["MAIL", "RCPT", "RCPT"],
    ),
    "empty DATA": (b"DATA\r\n.\r\nQUIT\r\n", ["DATA", "QUIT"]),
    "BDAT chunks (RFC 3030)": (b"BDAT 5\r\nQUIT\r\nBDAT 0 LAST\r\nRSET\r\n", ["BDAT", "BDAT", "RSET"]),
    "unknown verb is kept": (b"XCLIENT NAME=x\r\n", ["XCLIENT"]),
}


@pytest.mark.parametrize("data, expected", COMMAND_CASES.values(), ids=COMMAND_CASES.keys())
def test_commands(data: bytes, expected: list[str]) -> None:
    assert verbs(data) == expected


def test_unknown_verbs_are_flagged_not_known() -> None:
    result = parse_smtp_commands(b"XCLIENT NAME=x\r\n")
    assert not result.commands[0].known and SmtpAnomaly.UNKNOWN_COMMAND in result.anomalies


def test_auth_credentials_are_never_kept() -> None:
    data = b"AUTH PLAIN AGJvYgBzZWNyZXQ=\r\nAUTH LOGIN\r\nYm9i\r\nc2VjcmV0\r\nMAIL FROM:<a>\r\n"
    result = parse_smtp_commands(data)
    assert [(c.verb, c.params) for c in result.commands] == [
        ("AUTH", "PLAIN ***"),
        ("AUTH", "LOGIN"),
        ("MAIL", "FROM:<a>"),
    ]
    assert result.auth_responses == 2
    assert b"c2VjcmV0" not in repr(result).encode()


def test_starttls_ends_the_commands() -> None:
    data = b"EHLO x\r\nSTARTTLS\r\n\x16\x03\x01\x02\x00\x01"
    result = parse_smtp_commands(data)
    assert [c.verb for c in result.commands] == ["EHLO", "STARTTLS"]
    assert result.tls_started and result.consumed == data.index(b"\x16")


ANOMALIES = {
    "bare LF": (b"EHLO x\nQUIT\n", SmtpAnomaly.BARE_LF),
    "command line above 512 octets": (b"MAIL FROM:<" + b"a" * 600 + b">\r\n", SmtpAnomaly.LONG_COMMAND_LINE),
    "line without a verb": (b"220 server ready\r\nEHLO x\r\n", SmtpAnomaly.INVALID_COMMAND_LINE),
    "non-UTF-8 parameters": (b"MAIL FROM:<\xff@x>\r\n", SmtpAnomaly.NON_UTF8),
    "LF.LF inside DATA (SMTP smuggling)": (
        b"DATA\r\nx\n.\nMAIL FROM:<evil>\r\n.\r\n",
        SmtpAnomaly.SMUGGLED_END_OF_DATA,
    ),
    "LF.CRLF inside DATA": (b"DATA\r\nx\n.\r\nRCPT TO:<evil>\r\n.\r\n", SmtpAnomaly.SMUGGLED_END_OF_DATA),
    "CR.CR inside DATA": (b"DATA\r\nx\r.\rRCPT TO:<evil>\r\n.\r\n", SmtpAnomaly.SMUGGLED_END_OF_DATA),
    "CRLF.LF inside DATA": (b"DATA\r\nx\r\n.\nRCPT TO:<evil>\r\n.\r\n", SmtpAnomaly.SMUGGLED_END_OF_DATA),
    "bare LF inside DATA": (b"DATA\r\nline one\nline two\r\n.\r\n", SmtpAnomaly.BARE_LF_IN_DATA),
    "DATA line above 1000 octets": (b"DATA\r\n" + b"x" * 1200 + b"\r\n.\r\n", SmtpAnomaly.LONG_TEXT_LINE),
}


@pytest.mark.parametrize("data, anomaly", ANOMALIES.values(), ids=ANOMALIES.keys())
def test_anomalies(data: bytes, anomaly: SmtpAnomaly) -> None:
    assert anomaly in parse_smtp_commands(data).anomalies


def test_smuggled_commands_inside_data_are_not_commands() -> None:
    data = b"DATA\r\nx\n.\nMAIL FROM:<evil>\r\n.\r\nQUIT\r\n"
    assert verbs(data) == ["DATA", "QUIT"]


def test_data_content_up_to_1000_octet_lines_is_clean() -> None:
    result = parse_smtp_commands(b"DATA\r\n" + b"x" * 998 + b"\r\n.\r\n")
    assert result.anomalies == frozenset()


NEED_MORE = {
    "empty": (b"", []),
    "half a command": (b"EHL", []),
    "inside DATA": (b"EHLO x\r\nDATA\r\nSubject: a\r\n", ["EHLO", "DATA"]),
    "inside a BDAT chunk": (b"BDAT 100\r\nabc", ["BDAT"]),
}


@pytest.mark.parametrize("data, expected", NEED_MORE.values(), ids=NEED_MORE.keys())
def test_need_more_data(data: bytes, expected: list[str]) -> None:
    result = parse_smtp_commands(data)
    assert [c.verb for c in result.commands] == expected
    assert data == b"" or isinstance(result.need_more, NeedMoreData)


def test_in_data_flag() -> None:
    assert parse_smtp_commands(b"DATA\r\nabc").in_data
    assert not parse_smtp_commands(b"DATA\r\nabc\r\n.\r\n").in_data


def test_every_cut_gives_a_prefix_of_the_commands() -> None:
    full = verbs(SESSION)
    for cut in range(len(SESSION) + 1):
        result = parse_smtp_commands(SESSION[:cut])
        got = [c.verb for c in result.commands]
        assert got == full[: len(got)], cut
        assert result.consumed <= cut and result.error is None


def test_line_cap_1000_octets() -> None:
    fits = b"NOOP " + b"x" * (1000 - 7) + b"\r\n"
    assert len(fits) == 1000 and verbs(fits) == ["NOOP"]
    with pytest.raises(SmtpParseError, match="longer than 1000"):
        parse_smtp_commands(b"NOOP " + b"x" * (1000 - 6) + b"\r\n")
    with pytest.raises(SmtpParseError):
        parse_smtp_commands(b"A" * 1_000_000)  # a 1 MB line: refused at the cap, not buffered


def test_long_line_after_a_command_is_reported() -> None:
    result = parse_smtp_commands(b"EHLO x\r\n" + b"B" * 2000)
    assert verbs(b"EHLO x\r\n") == ["EHLO"]
    assert [c.verb for c in result.commands] == ["EHLO"] and isinstance(result.error, SmtpParseError)


BAD_BDAT = {
    "no size": b"BDAT\r\n",
    "letters": b"BDAT ten\r\n",
    "negative": b"BDAT -1\r\n",
    "bad end marker": b"BDAT 5 FIRST\r\n",
    "too many digits": b"BDAT 1234567890123456789\r\n",
}


@pytest.mark.parametrize("data", BAD_BDAT.values(), ids=BAD_BDAT.keys())
def test_malformed_bdat(data: bytes) -> None:
    with pytest.raises(SmtpParseError, match="BDAT"):
        parse_smtp_commands(data)
    later = parse_smtp_commands(b"EHLO x\r\n" + data)
    assert [c.verb for c in later.commands] == ["EHLO"] and isinstance(later.error, SmtpParseError)


def test_command_cap() -> None:
    result = parse_smtp_commands(b"NOOP\r\n" * 10, max_commands=3)
    assert len(result.commands) == 3 and result.consumed == 18


def _check(data: bytes) -> None:
    try:
        result = parse_smtp_commands(data)
    except SmtpParseError:
        return
    assert isinstance(result, SmtpCommands)
    assert 0 <= result.consumed <= len(data)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes_never_raise_anything_else(data: bytes) -> None:
    _check(data)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [b"EHLO x", b"DATA", b"BDAT 3", b"BDAT x", b".", b"\n.\n", b"AUTH PLAIN", b"x" * 1100, b""]
        ),
        max_size=12,
    ),
    st.sampled_from([b"\r\n", b"\n", b"\r"]),
)
def test_command_soup_never_raises_anything_else(lines: list[bytes], eol: bytes) -> None:
    _check(eol.join(lines))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 300), st.integers(0, 255), st.sampled_from("fid")), max_size=6))
def test_mutated_sessions_never_raise_anything_else(edits: list[tuple[int, int, str]]) -> None:
    data = bytearray(SESSION + b"BDAT 4 LAST\r\nabcdAUTH LOGIN\r\nYm9i\r\n")
    for where, byte, kind in edits:
        at = where % (len(data) + 1)
        if kind == "f" and at < len(data):
            data[at] ^= byte or 1
        elif kind == "i":
            data[at:at] = bytes([byte])
        else:
            del data[at : at + 1 + byte % 8]
    _check(bytes(data))
