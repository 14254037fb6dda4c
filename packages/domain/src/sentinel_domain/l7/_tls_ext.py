"""ClientHello extensions the L7 firewall and JA4 need; every inner length is checked exactly."""

import enum
from dataclasses import dataclass, field

from sentinel_domain.l7._common import Reader

EXT_SERVER_NAME = 0x0000
EXT_SUPPORTED_GROUPS = 0x000A
EXT_SIGNATURE_ALGORITHMS = 0x000D
EXT_ALPN = 0x0010
EXT_PRE_SHARED_KEY = 0x0029
EXT_SUPPORTED_VERSIONS = 0x002B
EXT_ENCRYPTED_CLIENT_HELLO = 0xFE0D
MAX_SERVER_NAMES = 16


class TlsAnomaly(enum.Enum):
    """Legal-but-odd or rule-breaking features of a hello (evasion hints)."""

    FRAGMENTED = "fragmented"  # the hello spans more than one record
    MULTIPLE_SNI = "multiple_sni"  # RFC 6066 §3: at most one name per name_type
    SNI_NOT_ASCII = "sni_not_ascii"  # RFC 6066 §3: HostName is ASCII
    UNKNOWN_SNI_TYPE = "unknown_sni_type"
    DUPLICATE_EXTENSION = "duplicate_extension"  # RFC 8446 §4.2: MUST NOT repeat a type
    PSK_NOT_LAST = "psk_not_last"  # RFC 8446 §4.2.11: pre_shared_key MUST be last
    ENCRYPTED_CLIENT_HELLO = "encrypted_client_hello"  # ECH outer hello: SNI is the public name
    TRAILING_HANDSHAKE_DATA = "trailing_handshake_data"  # more handshake bytes after the hello
    TRUNCATED = "truncated"  # only the first bytes were captured: the extensions read are a prefix


@dataclass(slots=True)
class Extensions:
    """What the extension walk found (mutable while walking, then copied into the ClientHello)."""

    types: list[int] = field(default_factory=list)
    server_names: tuple[str, ...] = ()
    alpn: tuple[bytes, ...] = ()
    supported_versions: tuple[int, ...] = ()
    supported_groups: tuple[int, ...] = ()
    signature_algorithms: tuple[int, ...] = ()
    anomalies: set[TlsAnomaly] = field(default_factory=set)


def _u16_list(reader: Reader, length_size: int, what: str) -> tuple[int, ...]:
    """A vector of u16 values of at least one element that exactly fills the extension."""
    vec = reader.vector(length_size, what, 2)
    reader.expect_end(what)
    if vec.remaining % 2:
        raise vec.fail(f"{what} length is odd")
    return tuple(vec.u16(what) for _ in range(vec.remaining // 2))


def _server_names(reader: Reader, found: Extensions) -> None:
    """RFC 6066 §3: ``ServerName server_name_list<1..2^16-1>``; host_name entries are ASCII."""
    names: list[str] = []
    entries = reader.vector(2, "server_name_list", 1)
    reader.expect_end("server_name extension")
    while not entries.at_end():
        if entries.u8("server name type") != 0:
            # Only host_name (0) has a defined layout, so an unknown type ends what we can read.
            found.anomalies.add(TlsAnomaly.UNKNOWN_SNI_TYPE)
            break
        raw = entries.vector(2, "host_name", 1).take_all()
        if not raw.isascii():
            found.anomalies.add(TlsAnomaly.SNI_NOT_ASCII)
        if len(names) < MAX_SERVER_NAMES:
            names.append(raw.decode("latin-1"))
    if len(names) > 1:
        # "The ServerNameList MUST NOT contain more than one name of the same name_type."
        found.anomalies.add(TlsAnomaly.MULTIPLE_SNI)
    found.server_names = tuple(names)


def _alpn(reader: Reader) -> tuple[bytes, ...]:
    """RFC 7301 §3.1: ``ProtocolName protocol_name_list<2..2^16-1>``, each ``<1..2^8-1>``."""
    entries = reader.vector(2, "protocol_name_list", 2)
    reader.expect_end("ALPN extension")
    names: list[bytes] = []
    while not entries.at_end():
        # "Empty strings MUST NOT be included and byte strings MUST NOT be truncated."
        names.append(entries.vector(1, "ProtocolName", 1).take_all())
    return tuple(names)


def parse_extensions(block: Reader | None, partial: bool = False) -> Extensions:
    """Walk the extensions block; unknown extensions are skipped by their (checked) length.

    ``partial``: the block is cut short (a truncated capture): stop at the first extension that
    is not wholly present instead of failing, and mark the result TRUNCATED.
    """
    found = Extensions()
    if block is None:
        return found
    while not block.at_end():
        if partial and (block.remaining < 4 or block.remaining < 4 + block.peek_u16(2)):
            found.anomalies.add(TlsAnomaly.TRUNCATED)
            break
        ext_type = block.u16("extension type")
        data = block.vector(2, f"extension 0x{ext_type:04x}")
        if ext_type in found.types:
            found.anomalies.add(TlsAnomaly.DUPLICATE_EXTENSION)  # first occurrence wins
        elif ext_type == EXT_SERVER_NAME:
            _server_names(data, found)
        elif ext_type == EXT_ALPN:
            found.alpn = _alpn(data)
        elif ext_type == EXT_SUPPORTED_VERSIONS:
            # RFC 8446 §4.2.1: ``ProtocolVersion versions<2..254>`` (1-byte length).
            found.supported_versions = _u16_list(data, 1, "supported_versions")
        elif ext_type == EXT_SUPPORTED_GROUPS:
            # RFC 8446 §4.2.7: ``NamedGroup named_group_list<2..2^16-1>``.
            found.supported_groups = _u16_list(data, 2, "supported_groups")
        elif ext_type == EXT_SIGNATURE_ALGORITHMS:
            # RFC 8446 §4.2.3: ``SignatureScheme supported_signature_algorithms<2..2^16-2>``.
            found.signature_algorithms = _u16_list(data, 2, "signature_algorithms")
        elif ext_type == EXT_ENCRYPTED_CLIENT_HELLO:
            found.anomalies.add(TlsAnomaly.ENCRYPTED_CLIENT_HELLO)
        found.types.append(ext_type)
    if EXT_PRE_SHARED_KEY in found.types and found.types[-1] != EXT_PRE_SHARED_KEY:
        found.anomalies.add(TlsAnomaly.PSK_NOT_LAST)
    return found
