"""gRPC calls from client-side HTTP/2 bytes (RFC 9113 framing, RFC 7541 headers).

Sans-IO: the caller gives the client's bytes from the start of the connection (preface
included, unless ``require_preface=False``). Frames are checked against RFC 9113 §4-§6; header
blocks (HEADERS + CONTINUATION) are decoded in order with one HPACK decoder so the dynamic table
stays in step. Caps: frame size, frames per buffer, CONTINUATION frames per block, header block
bytes, decoded header list bytes.
"""

from dataclasses import dataclass, field

from sentinel_domain.l7._common import NeedMoreData
from sentinel_domain.l7._grpc_request import GrpcAnomaly, GrpcRequest, build_request
from sentinel_domain.l7._hpack import DEFAULT_MAX_HEADER_LIST, DEFAULT_TABLE_SIZE, HpackDecoder
from sentinel_domain.l7.errors import Http2ParseError

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
FRAME_HEADER = 9
DEFAULT_MAX_FRAME_SIZE = 16384  # RFC 9113 §6.5.2 SETTINGS_MAX_FRAME_SIZE initial value
MAX_FRAMES = 1000
MAX_CONTINUATIONS = 32
MAX_HEADER_BLOCK = 65536
MAX_EMPTY_DATA_FRAMES = 100
FLAG_END_STREAM, FLAG_ACK, FLAG_END_HEADERS, FLAG_PADDED, FLAG_PRIORITY = 0x1, 0x1, 0x4, 0x8, 0x20
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = (
    range(10)
)
# RFC 9113 §6: the payload length each fixed-size frame type must have (FRAME_SIZE_ERROR otherwise).
_FIXED_LENGTH = {PRIORITY: 5, RST_STREAM: 4, PING: 8, WINDOW_UPDATE: 4}
# Frame types that belong to a stream (stream id 0 is a PROTOCOL_ERROR) or to the connection.
_STREAM_FRAMES = frozenset({DATA, HEADERS, PRIORITY, RST_STREAM, PUSH_PROMISE, CONTINUATION})
_CONNECTION_FRAMES = frozenset({SETTINGS, PING, GOAWAY})


@dataclass(frozen=True, slots=True)
class GrpcRequests:
    """Requests found in the buffer, in order; ``consumed`` counts the bytes of complete frames.

    ``error`` is set when a connection error was found after at least one request (parsing
    stopped there); ``anomalies`` holds connection-level oddities.
    """

    requests: tuple[GrpcRequest, ...]
    frames: int
    consumed: int
    need_more: NeedMoreData | None = None
    anomalies: frozenset[GrpcAnomaly] = field(default=frozenset())
    error: Http2ParseError | None = None


@dataclass(slots=True)
class _Block:
    """A header block being assembled from HEADERS/PUSH_PROMISE + CONTINUATION frames."""

    stream_id: int
    fragments: bytearray
    end_stream: bool
    is_request: bool
    continuations: int = 0


@dataclass(slots=True)
class _Limits:
    max_frame_size: int
    max_frames: int
    max_continuations: int
    max_header_block: int
    max_empty_data: int


def _strip_padding(payload: bytes, flags: int, offset: int, extra: int) -> bytes:
    """Remove the PADDED prefix/suffix and ``extra`` leading bytes (priority or promised id)."""
    pad = 0
    if flags & FLAG_PADDED:
        if not payload:
            raise Http2ParseError("PADDED frame without a pad length (RFC 9113 §6.1)", offset)
        pad, payload = payload[0], payload[1:]
    if pad + extra > len(payload):
        # §6.2: "Padding that exceeds the size remaining for the header block fragment MUST be
        # treated as a PROTOCOL_ERROR."
        raise Http2ParseError("padding longer than the frame payload (RFC 9113 §6.1, §6.2)", offset)
    return payload[extra : len(payload) - pad]


def _check_frame(ftype: int, flags: int, stream_id: int, length: int, offset: int) -> None:
    """Per-type rules of RFC 9113 §6 that do not need the payload."""
    if ftype in _STREAM_FRAMES and stream_id == 0:
        raise Http2ParseError(f"frame type {ftype} on stream 0 (RFC 9113 §6)", offset)
    if ftype in _CONNECTION_FRAMES and stream_id != 0:
        raise Http2ParseError(f"frame type {ftype} on stream {stream_id}, must be 0 (RFC 9113 §6)", offset)
    if ftype in _FIXED_LENGTH and length != _FIXED_LENGTH[ftype]:
        raise Http2ParseError(
            f"frame type {ftype} of length {length}, must be {_FIXED_LENGTH[ftype]} (RFC 9113 §6)", offset
        )
    if ftype == SETTINGS and (length % 6 or (flags & FLAG_ACK and length)):
        raise Http2ParseError(f"SETTINGS frame of length {length} (RFC 9113 §6.5)", offset)
    if ftype == GOAWAY and length < 8:
        raise Http2ParseError(f"GOAWAY frame of length {length} (RFC 9113 §6.8)", offset)


class _Parser:
    """One pass over a buffer; collects requests until the end, a cap, or an error."""

    def __init__(self, buf: bytes, limits: _Limits, decoder: HpackDecoder, require_settings: bool) -> None:
        self.buf, self.limits, self.decoder = buf, limits, decoder
        self.require_settings = require_settings
        self.pos = 0  # start of the frame being parsed
        self.requests: list[GrpcRequest] = []
        self.anomalies: set[GrpcAnomaly] = set()
        self.frames = self.empty_data = 0
        self.block: _Block | None = None

    def run(self, pos: int) -> tuple[int, NeedMoreData | None]:
        """Parse frames from ``pos``; return (end of the last complete frame, need-more-data)."""
        buf = self.buf
        while pos < len(buf):
            self.pos = pos
            if len(buf) - pos < FRAME_HEADER:
                return pos, NeedMoreData("grpc", pos + FRAME_HEADER, "frame header incomplete")
            length = int.from_bytes(buf[pos : pos + 3], "big")
            ftype, flags = buf[pos + 3], buf[pos + 4]
            stream_id = int.from_bytes(buf[pos + 5 : pos + 9], "big") & 0x7FFFFFFF
            if length > self.limits.max_frame_size:
                # §4.2: a frame above SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR.
                raise Http2ParseError(f"frame length {length} exceeds {self.limits.max_frame_size}", pos)
            if self.frames == 0 and ftype != SETTINGS and self.require_settings:
                # §3.4: the preface "MUST be followed by a SETTINGS frame".
                raise Http2ParseError("connection preface not followed by SETTINGS (RFC 9113 §3.4)", pos)
            end = pos + FRAME_HEADER + length
            if end > len(buf):
                return pos, NeedMoreData("grpc", end, "frame payload incomplete")
            self.frames += 1
            if self.frames > self.limits.max_frames:
                raise Http2ParseError(f"more than {self.limits.max_frames} frames in one buffer", pos)
            self.frame(ftype, flags, stream_id, buf[pos + FRAME_HEADER : end], pos)
            pos = end
        self.pos = pos
        return pos, None

    def frame(self, ftype: int, flags: int, stream_id: int, payload: bytes, offset: int) -> None:
        block = self.block
        if block is not None and (ftype != CONTINUATION or stream_id != block.stream_id):
            # §6.10: a header block's CONTINUATION frames must follow it immediately, same stream.
            raise Http2ParseError("header block interrupted before END_HEADERS (RFC 9113 §6.10)", offset)
        _check_frame(ftype, flags, stream_id, len(payload), offset)
        if ftype == DATA:
            data = _strip_padding(payload, flags, offset, 0)
            if not data and not flags & FLAG_END_STREAM:
                self.empty_data += 1
                if self.empty_data > self.limits.max_empty_data:
                    self.anomalies.add(GrpcAnomaly.EMPTY_DATA_FLOOD)
        elif ftype == HEADERS:
            extra = 5 if flags & FLAG_PRIORITY else 0
            fragment = _strip_padding(payload, flags, offset, extra)
            self.start_block(
                _Block(stream_id, bytearray(), bool(flags & FLAG_END_STREAM), True), fragment, flags
            )
        elif ftype == PUSH_PROMISE:
            # Only servers push (§8.4), but its header block must still be decoded to keep HPACK in step.
            fragment = _strip_padding(payload, flags, offset, 4)
            self.start_block(_Block(stream_id, bytearray(), False, False), fragment, flags)
        elif ftype == CONTINUATION:
            if block is None:
                raise Http2ParseError("CONTINUATION without an open header block (RFC 9113 §6.10)", offset)
            block.continuations += 1
            if block.continuations > self.limits.max_continuations:
                raise Http2ParseError(
                    f"more than {self.limits.max_continuations} CONTINUATION frames", offset
                )
            self.add_fragment(block, payload, flags, offset)
        # Other known types carry nothing we need; unknown types are ignored (§5.5).

    def start_block(self, block: _Block, fragment: bytes, flags: int) -> None:
        self.block = block
        self.add_fragment(block, fragment, flags, 0)

    def add_fragment(self, block: _Block, fragment: bytes, flags: int, offset: int) -> None:
        if len(block.fragments) + len(fragment) > self.limits.max_header_block:
            raise Http2ParseError(f"header block larger than {self.limits.max_header_block} bytes", offset)
        block.fragments += fragment
        if flags & FLAG_END_HEADERS:
            self.block = None
            fields = self.decoder.decode(bytes(block.fragments))
            if block.is_request:
                self.requests.append(build_request(block.stream_id, fields, block.end_stream))


def parse_grpc(
    data: bytes | bytearray | memoryview,
    *,
    require_preface: bool = True,
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
    max_frames: int = MAX_FRAMES,
    max_continuations: int = MAX_CONTINUATIONS,
    max_header_block: int = MAX_HEADER_BLOCK,
    max_header_list_size: int = DEFAULT_MAX_HEADER_LIST,
    max_table_size: int = DEFAULT_TABLE_SIZE,
    max_empty_data_frames: int = MAX_EMPTY_DATA_FRAMES,
) -> GrpcRequests:
    """Find the HTTP/2 request header blocks (gRPC calls) in a client's bytes.

    Promises: returns or raises :class:`Http2ParseError` (``HpackError`` included), nothing else,
    for any bytes. It raises when a connection error comes before any request; after one, the
    requests found so far are returned with ``error`` set. A missing or wrong preface is an error
    unless ``require_preface`` is False (then parsing starts at the first byte).
    """
    buf = bytes(data)
    anomalies: set[GrpcAnomaly] = set()
    has_preface = buf.startswith(PREFACE)
    if not has_preface and require_preface:
        if PREFACE.startswith(buf):
            return GrpcRequests((), 0, 0, NeedMoreData("grpc", len(PREFACE), "connection preface incomplete"))
        raise Http2ParseError("missing HTTP/2 connection preface (RFC 9113 §3.4)", 0)
    if not has_preface:
        anomalies.add(GrpcAnomaly.MISSING_PREFACE)
    parser = _Parser(
        buf,
        _Limits(max_frame_size, max_frames, max_continuations, max_header_block, max_empty_data_frames),
        HpackDecoder(max_table_size, max_header_list_size),
        require_settings=has_preface,
    )
    try:
        consumed, need_more = parser.run(len(PREFACE) if has_preface else 0)
    except Http2ParseError as exc:
        if not parser.requests:
            raise
        found = frozenset(anomalies | parser.anomalies)
        return GrpcRequests(tuple(parser.requests), parser.frames, parser.pos, None, found, exc)
    return GrpcRequests(
        tuple(parser.requests), parser.frames, consumed, need_more, frozenset(anomalies | parser.anomalies)
    )
