"""TLS ClientHello parser (RFC 8446 §4.1.2, §5.1; RFC 6066 SNI; RFC 7301 ALPN).

Sans-IO: the caller gives the client's first bytes; a hello split across several records is
reassembled (within ``max_hello_bytes`` and ``max_records``) or need-more-data is returned.
Every length is checked against its container: a length that lies raises :class:`TlsParseError`.
"""

from dataclasses import dataclass, field

from sentinel_domain.l7._common import NeedMoreData, Reader
from sentinel_domain.l7._tls_ext import Extensions, TlsAnomaly, parse_extensions
from sentinel_domain.l7.errors import TlsParseError

CONTENT_HANDSHAKE = 22
HANDSHAKE_CLIENT_HELLO = 1
MAX_RECORD_LENGTH = 2**14  # RFC 8446 §5.1: "The length MUST NOT exceed 2^14 bytes."
MAX_HELLO_BYTES = 16384
MAX_RECORDS = 64


def is_grease(value: int) -> bool:
    """GREASE values (RFC 8701 §2): 0x0A0A, 0x1A1A, ... 0xFAFA."""
    return (value & 0x0F0F) == 0x0A0A and (value >> 8) == (value & 0xFF)


@dataclass(frozen=True, slots=True)
class ClientHello:
    """A complete ClientHello. Integer lists keep wire order and GREASE values.

    ``sni`` is the first host_name of the server_name extension (None when absent);
    ``server_names`` has all of them. ``length`` is the number of buffer bytes the records
    carrying the hello occupy.
    """

    record_version: int
    legacy_version: int
    random: bytes
    session_id: bytes
    cipher_suites: tuple[int, ...]
    compression_methods: bytes
    extensions: tuple[int, ...]
    sni: str | None = None
    server_names: tuple[str, ...] = ()
    alpn_protocols: tuple[bytes, ...] = ()
    supported_versions: tuple[int, ...] = ()
    supported_groups: tuple[int, ...] = ()
    signature_algorithms: tuple[int, ...] = ()
    anomalies: frozenset[TlsAnomaly] = field(default=frozenset())
    records: int = 1
    length: int = 0

    @property
    def version(self) -> int:
        """The highest non-GREASE supported_versions entry, else ``legacy_version``."""
        offered = [v for v in self.supported_versions if not is_grease(v)]
        return max(offered) if offered else self.legacy_version

    @property
    def alpn(self) -> tuple[str, ...]:
        """ALPN protocol names as text (bytes mapped one-to-one through Latin-1)."""
        return tuple(p.decode("latin-1") for p in self.alpn_protocols)


def _gather(
    buf: bytes, max_hello: int, max_records: int, partial: bool = False
) -> tuple[bytes, int, int, int] | NeedMoreData:
    """Concatenate handshake record fragments until the whole hello is there (RFC 8446 §5.1).

    Returns (handshake message bytes, record version, record count, bytes used). ``partial``:
    the buffer is all there will ever be (a truncated capture): return what the records hold
    instead of need-more-data once at least one record has started.
    """
    fragments = bytearray()
    needed: int | None = None
    pos = records = 0
    record_version = 0
    while needed is None or len(fragments) < needed:
        if len(buf) - pos < 5:
            if partial and fragments:
                break
            return NeedMoreData("tls", pos + 5, "record header incomplete")
        ctype, version, length = (
            buf[pos],
            int.from_bytes(buf[pos + 1 : pos + 3], "big"),
            int.from_bytes(buf[pos + 3 : pos + 5], "big"),
        )
        if ctype != CONTENT_HANDSHAKE:
            if records == 0 and ctype & 0x80 and buf[pos + 2] == HANDSHAKE_CLIENT_HELLO:
                raise TlsParseError("SSLv2-compatible ClientHello (RFC 5246 Appendix E.2) is not parsed", pos)
            # §5.1: "Handshake messages MUST NOT be interleaved with other record types."
            raise TlsParseError(f"record content type {ctype} is not handshake (22)", pos)
        if version >> 8 != 3:
            raise TlsParseError(f"record version 0x{version:04x} is not 0x03xx (RFC 8446 §5.1)", pos)
        if length == 0:
            raise TlsParseError("zero-length handshake record (RFC 8446 §5.1)", pos)
        if length > MAX_RECORD_LENGTH:
            raise TlsParseError(f"record length {length} exceeds {MAX_RECORD_LENGTH} (RFC 8446 §5.1)", pos)
        if records == max_records:
            raise TlsParseError(f"ClientHello spread over more than {max_records} records", pos)
        if records == 0:
            record_version = version
        available = buf[pos + 5 : pos + 5 + length]
        if needed is None:
            needed = _hello_length(bytes(fragments) + available, max_hello, pos + 5)
        if len(available) < length:
            if partial and available:
                fragments += available
                records += 1
                pos = len(buf)
                break
            return NeedMoreData("tls", pos + 5 + length, "record incomplete")
        fragments += available
        records += 1
        pos += 5 + length
    return bytes(fragments), record_version, records, pos


def _hello_length(head: bytes, max_hello: int, offset: int) -> int | None:
    """Total handshake message length (header included) once 4 bytes are known; checks type and cap."""
    if len(head) < 1:
        return None
    if head[0] != HANDSHAKE_CLIENT_HELLO:
        raise TlsParseError(f"handshake type {head[0]} is not ClientHello (1)", offset)
    if len(head) < 4:
        return None
    length = int.from_bytes(head[1:4], "big")
    if length > max_hello:
        raise TlsParseError(f"ClientHello length {length} exceeds the {max_hello}-byte cap", offset)
    return 4 + length


def parse_client_hello(
    data: bytes | bytearray | memoryview,
    *,
    max_hello_bytes: int = MAX_HELLO_BYTES,
    max_records: int = MAX_RECORDS,
    partial: bool = False,
) -> ClientHello | NeedMoreData:
    """Parse the ClientHello at the start of ``data`` (TLS records, as a client sends them).

    Promises: returns a :class:`ClientHello` only when the whole hello is present, need-more-data
    while records are incomplete, and raises :class:`TlsParseError` (nothing else) for anything
    that is not a well-formed ClientHello: wrong record or handshake type, record length above
    2^14, lengths that overrun their container, a hello above ``max_hello_bytes``.

    ``partial=True`` is for a capture that holds only the first bytes of the hello (no more will
    come): the fixed fields must be there, then as many whole extensions as were captured are
    read and the hello carries the TRUNCATED anomaly (its extension lists are a prefix: the SNI,
    usually early, is often among them).
    """
    buf = bytes(data)
    gathered = _gather(buf, max_hello_bytes, max_records, partial)
    if isinstance(gathered, NeedMoreData):
        return gathered
    message, record_version, records, used = gathered
    anomalies: set[TlsAnomaly] = set()
    if records > 1:
        anomalies.add(TlsAnomaly.FRAGMENTED)
    if len(message) < 4:
        return NeedMoreData("tls", used + 4 - len(message), "handshake header incomplete")
    total = 4 + int.from_bytes(message[1:4], "big")
    if len(message) > total:
        anomalies.add(TlsAnomaly.TRAILING_HANDSHAKE_DATA)
    cut = len(message) < total
    if cut:
        try:
            body = _parse_body(message[4:total], partial=True)
        except TlsParseError:  # the fixed fields themselves were not captured
            return NeedMoreData("tls", used + total - len(message), "ClientHello truncated")
    else:
        body = _parse_body(message[4:total])
    ext = body[5]
    anomalies |= ext.anomalies
    return ClientHello(
        record_version=record_version,
        legacy_version=body[0],
        random=body[1],
        session_id=body[2],
        cipher_suites=body[3],
        compression_methods=body[4],
        extensions=tuple(ext.types),
        sni=ext.server_names[0] if ext.server_names else None,
        server_names=ext.server_names,
        alpn_protocols=ext.alpn,
        supported_versions=ext.supported_versions,
        supported_groups=ext.supported_groups,
        signature_algorithms=ext.signature_algorithms,
        anomalies=frozenset(anomalies),
        records=records,
        length=used,
    )


def _parse_body(
    body: bytes, partial: bool = False
) -> tuple[int, bytes, bytes, tuple[int, ...], bytes, Extensions]:
    """The ClientHello structure of RFC 8446 §4.1.2 (also valid for TLS 1.0-1.2 hellos).

    ``partial``: ``body`` is a prefix; the extensions block may be cut (see parse_client_hello).
    """
    reader = Reader(body, TlsParseError)
    legacy_version = reader.u16("legacy_version")
    random = reader.take(32, "random")
    session_id = reader.vector(1, "legacy_session_id", 0, 32).take_all()
    suites = reader.vector(2, "cipher_suites", 2)
    if suites.remaining % 2:
        raise suites.fail("cipher_suites length is odd")
    ciphers = tuple(suites.u16("cipher suite") for _ in range(suites.remaining // 2))
    compression = reader.vector(1, "legacy_compression_methods", 1).take_all()
    if partial:
        if reader.remaining < 2:
            raise reader.fail("extensions not captured")
        declared = reader.u16("extensions length")
        block = Reader(body, TlsParseError, reader.pos, reader.pos + min(declared, reader.remaining))
        ext = parse_extensions(block, partial=True)
        ext.anomalies.add(TlsAnomaly.TRUNCATED)
        return legacy_version, random, session_id, ciphers, compression, ext
    # RFC 5246 §7.4.1.2: a TLS 1.2-or-older hello may end here without an extensions block.
    ext = parse_extensions(reader.vector(2, "extensions") if not reader.at_end() else None)
    reader.expect_end("ClientHello")
    return legacy_version, random, session_id, ciphers, compression, ext
