"""SMB framing: NetBIOS length vs payload, SMB1/SMB2 command codes, compounds, truncation."""

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_domain.l7 import NeedMoreData, SmbAnomaly, SmbDialect, SmbMessages, SmbParseError, parse_smb

NEGOTIATE, SESSION_SETUP, TREE_CONNECT, CREATE, READ, WRITE = 0x00, 0x01, 0x03, 0x05, 0x08, 0x09


def smb2_header(command: int, next_command: int = 0, flags: int = 0, structure_size: int = 64) -> bytes:
    # MS-SMB2 §2.2.1: ProtocolId, StructureSize, CreditCharge, Status, Command, Credits, Flags, NextCommand,
    # MessageId, then 24 bytes (Reserved/TreeId or AsyncId, SessionId) and the 16-byte Signature.
    head = b"\xfeSMB" + struct.pack("<HHIHHII", structure_size, 0, 0, command, 1, flags, next_command)
    return head + struct.pack("<Q", 7) + b"\x00" * 32


def smb1_header(command: int, flags: int = 0) -> bytes:
    # MS-CIFS §2.2.3.1: Protocol, Command, Status, Flags, Flags2, PIDHigh, SecurityFeatures, ...
    return b"\xffSMB" + bytes([command]) + b"\x00" * 4 + bytes([flags]) + b"\x00" * 22


def session(payload: bytes, kind: int = 0) -> bytes:
    return bytes([kind]) + len(payload).to_bytes(3, "big") + payload


def test_smb2_request() -> None:
    (message,) = parse_smb(session(smb2_header(NEGOTIATE) + b"\x24\x00" + b"\x00" * 34)).messages
    assert message.dialect is SmbDialect.SMB2 and message.is_smb2
    assert message.command == NEGOTIATE and message.commands == (NEGOTIATE,)
    assert not message.is_response and message.complete and message.anomalies == frozenset()


def test_smb2_response_flag() -> None:
    (message,) = parse_smb(session(smb2_header(TREE_CONNECT, flags=0x1))).messages
    assert message.is_response


def test_smb1_request_and_response() -> None:
    (request,) = parse_smb(session(smb1_header(0x72))).messages  # SMB_COM_NEGOTIATE
    (response,) = parse_smb(session(smb1_header(0x72, flags=0x80))).messages
    assert request.dialect is SmbDialect.SMB1 and not request.is_smb2
    assert request.command == 0x72 and not request.is_response and response.is_response


def test_compound_chain() -> None:
    first = smb2_header(CREATE, next_command=72) + b"\x00" * 8
    second = smb2_header(READ, next_command=64)
    third = smb2_header(0x06)  # CLOSE
    (message,) = parse_smb(session(first + second + third)).messages
    assert message.commands == (CREATE, READ, 0x06)


def test_several_messages_and_keepalives() -> None:
    data = session(smb2_header(NEGOTIATE)) + b"\x85\x00\x00\x00" + session(smb2_header(SESSION_SETUP))
    data = b"\x81\x00\x00\x04" + b"name" + data  # NetBIOS session request first (port 139)
    result = parse_smb(data)
    assert [m.command for m in result.messages] == [NEGOTIATE, SESSION_SETUP]
    assert result.consumed == len(data)


def test_encrypted_and_compressed_messages_have_no_command() -> None:
    result = parse_smb(session(b"\xfdSMB" + b"\x00" * 60) + session(b"\xfcSMB" + b"\x00" * 20))
    assert [(m.dialect, m.command) for m in result.messages] == [
        (SmbDialect.ENCRYPTED, None),
        (SmbDialect.COMPRESSED, None),
    ]
    assert all(m.is_smb2 for m in result.messages)


def test_unknown_smb2_command_is_flagged() -> None:
    (message,) = parse_smb(session(smb2_header(0x99))).messages
    assert message.command == 0x99 and SmbAnomaly.UNKNOWN_COMMAND in message.anomalies


def test_compound_pointing_past_the_message_is_flagged() -> None:
    (message,) = parse_smb(session(smb2_header(CREATE, next_command=64))).messages
    assert message.commands == (CREATE,) and SmbAnomaly.TRUNCATED_COMPOUND in message.anomalies


def test_truncated_body_keeps_the_header() -> None:
    """A 2 KiB capture of a 64 KiB WRITE still tells the command."""
    payload = smb2_header(WRITE) + b"\x31\x00" + b"\x00" * 65534
    result = parse_smb(session(payload)[:2048])
    (message,) = result.messages
    assert message.command == WRITE and not message.complete
    assert isinstance(result.need_more, NeedMoreData) and result.need_more.at_least == 4 + len(payload)
    assert result.consumed == 0


NEED_MORE = {
    "empty": b"",
    "half a NetBIOS header": b"\x00\x00",
    "NetBIOS header only": b"\x00\x00\x00\x40",
    "protocol id cut": b"\x00\x00\x00\x40\xfeS",
    "SMB2 header cut": session(smb2_header(NEGOTIATE))[:40],
    "session request cut": b"\x81\x00\x00\x44abc",
}


@pytest.mark.parametrize("data", NEED_MORE.values(), ids=NEED_MORE.keys())
def test_need_more_data(data: bytes) -> None:
    result = parse_smb(data)
    assert result.messages == ()
    assert data == b"" or isinstance(result.need_more, NeedMoreData)


LYING = {
    "length shorter than the SMB2 header": b"\x00\x00\x00\x20" + smb2_header(NEGOTIATE),
    "length shorter than the SMB1 header": b"\x00\x00\x00\x10" + smb1_header(0x72),
    "length shorter than the protocol id": b"\x00\x00\x00\x02\xfeS",
    "unknown protocol id": session(b"\xeeSMB" + b"\x00" * 60),
    "unknown session packet type": b"\x42\x00\x00\x00",
    "SMB2 StructureSize not 64": session(smb2_header(NEGOTIATE, structure_size=65)),
    "NextCommand not 8-aligned": session(smb2_header(CREATE, next_command=70) + b"\x00" * 80),
    "NextCommand inside the header": session(smb2_header(CREATE, next_command=8) + b"\x00" * 80),
    "compound member without magic": session(smb2_header(CREATE, next_command=64) + b"\x00" * 64),
}


@pytest.mark.parametrize("data", LYING.values(), ids=LYING.keys())
def test_lying_lengths_raise(data: bytes) -> None:
    with pytest.raises(SmbParseError):
        parse_smb(data)


def test_bad_frame_after_a_good_one_is_reported() -> None:
    result = parse_smb(session(smb2_header(NEGOTIATE)) + b"\x42\x00\x00\x00")
    assert [m.command for m in result.messages] == [NEGOTIATE] and isinstance(result.error, SmbParseError)


def _check(data: bytes) -> None:
    try:
        result = parse_smb(data)
    except SmbParseError:
        return
    assert isinstance(result, SmbMessages)
    assert 0 <= result.consumed <= len(data)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=1024))
def test_random_bytes_never_raise_anything_else(data: bytes) -> None:
    _check(data)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([b"\xfeSMB", b"\xffSMB", b"\xfdSMB"]), st.integers(0, 400))
def test_random_bodies_behind_a_valid_magic(tail: bytes, magic: bytes, length: int) -> None:
    _check(b"\x00" + length.to_bytes(3, "big") + magic + tail)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=6))
def test_mutated_compounds_never_raise_anything_else(edits: list[tuple[int, int]]) -> None:
    data = bytearray(session(smb2_header(CREATE, next_command=72) + b"\x00" * 8 + smb2_header(READ)))
    for where, byte in edits:
        data[where % len(data)] = byte
    _check(bytes(data))
