"""SMB over NetBIOS session service / direct TCP: framing and command codes.

Framing (RFC 1002 §4.3.1 and MS-SMB2 §2.1): a 4-byte header, type 0x00 for a session message,
then a 24-bit big-endian length (direct TCP; NetBIOS uses 17 bits of the same field). SMB1
(MS-CIFS §2.2.3.1): ``\\xffSMB`` then the command byte; SMB2 (MS-SMB2 §2.2.1): ``\\xfeSMB``,
StructureSize 64, the command as u16 little-endian at header offset 12, compound requests
chained by NextCommand.
"""

import enum
from dataclasses import dataclass, field

from sentinel_domain.l7._common import NeedMoreData
from sentinel_domain.l7.errors import SmbParseError

SMB1_MAGIC, SMB2_MAGIC = b"\xffSMB", b"\xfeSMB"
TRANSFORM_MAGIC, COMPRESSION_MAGIC = b"\xfdSMB", b"\xfcSMB"
SMB1_HEADER, SMB2_HEADER = 32, 64
SMB2_COMMAND_COUNT = 0x13  # NEGOTIATE (0) .. OPLOCK_BREAK (0x12), MS-SMB2 §2.2.1.2
SESSION_MESSAGE = 0x00
# RFC 1002 §4.3.1 session packet types other than a message: request, responses, retarget, keep-alive.
_CONTROL_TYPES = frozenset({0x81, 0x82, 0x83, 0x84, 0x85})
MAX_MESSAGES = 64
MAX_COMPOUND = 32


class SmbDialect(enum.Enum):
    """Which header a session message carries (its first four bytes)."""

    SMB1 = "smb1"
    SMB2 = "smb2"
    ENCRYPTED = "encrypted"  # SMB3 transform header: the command is not visible
    COMPRESSED = "compressed"  # SMB3.1.1 compression transform


class SmbAnomaly(enum.Enum):
    """SMB2 header oddities that still leave the message readable."""

    UNKNOWN_COMMAND = "unknown_command"  # SMB2 command code above OPLOCK_BREAK
    TRUNCATED_COMPOUND = "truncated_compound"  # NextCommand beyond the message


@dataclass(frozen=True, slots=True)
class SmbMessage:
    """One session message. ``commands`` holds every command of an SMB2 compound chain in order
    (``command`` is the first); both are empty/None for encrypted or compressed messages.
    ``complete`` is false when the buffer ends inside the message body (the header is known)."""

    dialect: SmbDialect
    commands: tuple[int, ...]
    is_response: bool
    length: int
    offset: int
    complete: bool = True
    anomalies: frozenset[SmbAnomaly] = field(default=frozenset())

    @property
    def command(self) -> int | None:
        return self.commands[0] if self.commands else None

    @property
    def is_smb2(self) -> bool:
        return self.dialect is not SmbDialect.SMB1


@dataclass(frozen=True, slots=True)
class SmbMessages:
    """Messages in order; ``consumed`` counts complete frames; ``error`` as in the other parsers."""

    messages: tuple[SmbMessage, ...]
    consumed: int
    need_more: NeedMoreData | None = None
    error: SmbParseError | None = None


def _smb2_chain(body: bytes, offset: int, anomalies: set[SmbAnomaly]) -> tuple[tuple[int, ...], bool]:
    """Commands of a compound chain (MS-SMB2 §3.2.4.1.4) and whether the first is a response."""
    commands: list[int] = []
    start = 0
    is_response = False
    while len(commands) < MAX_COMPOUND:
        if len(body) - start < SMB2_HEADER:
            anomalies.add(SmbAnomaly.TRUNCATED_COMPOUND)
            break
        if body[start : start + 4] != SMB2_MAGIC:
            raise SmbParseError("compound member without the SMB2 protocol id", offset + start)
        if int.from_bytes(body[start + 4 : start + 6], "little") != SMB2_HEADER:
            raise SmbParseError("SMB2 StructureSize is not 64 (MS-SMB2 §2.2.1)", offset + start)
        command = int.from_bytes(body[start + 12 : start + 14], "little")
        if command >= SMB2_COMMAND_COUNT:
            anomalies.add(SmbAnomaly.UNKNOWN_COMMAND)
        if not commands:
            is_response = bool(int.from_bytes(body[start + 16 : start + 20], "little") & 0x1)
        commands.append(command)
        next_command = int.from_bytes(body[start + 20 : start + 24], "little")
        if next_command == 0:
            break
        # NextCommand is the 8-byte aligned offset of the next header from this one.
        if next_command % 8 or next_command < SMB2_HEADER:
            raise SmbParseError(f"invalid SMB2 NextCommand {next_command} (MS-SMB2 §2.2.1)", offset + start)
        start += next_command
    return tuple(commands), is_response


def _message(buf: bytes, pos: int, length: int) -> SmbMessage | NeedMoreData:
    """The SMB message whose NetBIOS header is at ``pos``; its body may be incomplete."""
    body_at = pos + 4
    if length < 4:
        raise SmbParseError(f"NetBIOS length {length} cannot hold an SMB protocol id", pos)
    available = buf[body_at : body_at + length]
    if len(available) < 4:
        return NeedMoreData("smb", body_at + 4, "SMB protocol id incomplete")
    magic = available[:4]
    header = {SMB1_MAGIC: SMB1_HEADER, SMB2_MAGIC: SMB2_HEADER, TRANSFORM_MAGIC: 52, COMPRESSION_MAGIC: 16}
    if magic not in header:
        raise SmbParseError(f"unknown SMB protocol id {magic!r}", body_at)
    if length < header[magic]:
        raise SmbParseError(f"NetBIOS length {length} is shorter than the {header[magic]}-byte header", pos)
    if len(available) < header[magic]:
        return NeedMoreData("smb", body_at + header[magic], "SMB header incomplete")
    complete = len(available) == length
    anomalies: set[SmbAnomaly] = set()
    commands: tuple[int, ...]
    if magic == SMB1_MAGIC:
        # MS-CIFS §2.2.3.1: Command at offset 4, Flags at 9 (0x80 = SMB_FLAGS_REPLY).
        commands, is_response = (available[4],), bool(available[9] & 0x80)
        dialect = SmbDialect.SMB1
    elif magic == SMB2_MAGIC:
        commands, is_response = _smb2_chain(available, body_at, anomalies)
        if not complete:
            anomalies.discard(SmbAnomaly.TRUNCATED_COMPOUND)  # the rest may still arrive
        dialect = SmbDialect.SMB2
    else:
        commands, is_response = (), False
        dialect = SmbDialect.ENCRYPTED if magic == TRANSFORM_MAGIC else SmbDialect.COMPRESSED
    return SmbMessage(dialect, commands, is_response, length, pos, complete, frozenset(anomalies))


def parse_smb(data: bytes | bytearray | memoryview, *, max_messages: int = MAX_MESSAGES) -> SmbMessages:
    """Parse the SMB session messages at the start of ``data``.

    Promises: returns or raises :class:`SmbParseError`, nothing else, for any bytes; it raises
    only when the first frame is invalid (unknown session packet type, length shorter than the SMB
    header it carries, unknown protocol id, bad SMB2 header). A message longer than the buffer is
    returned with ``complete=False`` once its header is present (the command is already known);
    NetBIOS keep-alives and session requests are skipped.
    """
    buf = bytes(data)
    messages: list[SmbMessage] = []
    pos = 0
    while pos < len(buf) and len(messages) < max_messages:
        if len(buf) - pos < 4:
            return SmbMessages(
                tuple(messages), pos, NeedMoreData("smb", pos + 4, "NetBIOS header incomplete")
            )
        kind = buf[pos]
        try:
            if kind in _CONTROL_TYPES:
                # RFC 1002 §4.3.1: 17-bit length (the E bit of the flags byte extends it).
                length = int.from_bytes(buf[pos + 1 : pos + 4], "big") & 0x1FFFF
                if pos + 4 + length > len(buf):
                    need = NeedMoreData("smb", pos + 4 + length, "session packet incomplete")
                    return SmbMessages(tuple(messages), pos, need)
                pos += 4 + length
                continue
            if kind != SESSION_MESSAGE:
                raise SmbParseError(f"unknown NetBIOS session packet type 0x{kind:02x}", pos)
            length = int.from_bytes(buf[pos + 1 : pos + 4], "big")
            message = _message(buf, pos, length)
        except SmbParseError as exc:
            if not messages:
                raise
            return SmbMessages(tuple(messages), pos, None, exc)
        if isinstance(message, NeedMoreData):
            return SmbMessages(tuple(messages), pos, message)
        messages.append(message)
        if not message.complete:
            need = NeedMoreData("smb", pos + 4 + length, "SMB message body incomplete")
            return SmbMessages(tuple(messages), pos, need)
        pos += 4 + length
    return SmbMessages(tuple(messages), pos)
