"""gRPC over HTTP/2: preface, frame rules, header blocks, caps; the h2 library builds the traffic."""

import h2.config
import h2.connection
import hpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_domain.l7 import (
    GrpcAnomaly,
    GrpcRequest,
    GrpcRequests,
    HpackError,
    Http2ParseError,
    NeedMoreData,
    parse_grpc,
    split_grpc_path,
)
from sentinel_domain.l7._grpc import PREFACE

SETTINGS_FRAME = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def frame(ftype: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + stream_id.to_bytes(4, "big") + payload


def call_headers(path: str = "/helloworld.Greeter/SayHello", **extra: str) -> list[tuple[str, str]]:
    return [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", path),
        (":authority", "svc.local:50051"),
        ("content-type", "application/grpc+proto"),
        ("te", "trailers"),
        *extra.items(),
    ]


def h2_client(calls: list[list[tuple[str, str]]]) -> bytes:
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    for headers in calls:
        stream_id = conn.get_next_available_stream_id()
        conn.send_headers(stream_id, headers)
        conn.send_data(stream_id, b"\x00\x00\x00\x00\x02\x08\x01", end_stream=True)
    return conn.data_to_send()


def block(headers: list[tuple[str, str]]) -> bytes:
    return hpack.Encoder().encode(headers)


def frame_types(data: bytes) -> list[int]:
    types, pos = [], len(PREFACE)
    while pos + 9 <= len(data):
        types.append(data[pos + 3])
        pos += 9 + int.from_bytes(data[pos : pos + 3], "big")
    return types


def requests(data: bytes, **kw: int | bool) -> tuple[GrpcRequest, ...]:
    result = parse_grpc(data, **kw)  # type: ignore[arg-type]
    assert result.error is None, result.error
    return result.requests


# --- paths ----------------------------------------------------------------------------------------

PATHS = {
    "package and service": ("/helloworld.Greeter/SayHello", ("helloworld.Greeter", "SayHello")),
    "service without package": ("/Greeter/SayHello", ("Greeter", "SayHello")),
    "nested package": ("/a.b.c.Svc/M", ("a.b.c.Svc", "M")),
    "three segments": ("/a/b/c", None),
    "one segment": ("/a", None),
    "no leading slash": ("a/b", None),
    "empty service": ("//M", None),
    "empty method": ("/S/", None),
    "root": ("/", None),
}


@pytest.mark.parametrize("path, expected", PATHS.values(), ids=PATHS.keys())
def test_split_grpc_path(path: str, expected: tuple[str, str] | None) -> None:
    assert split_grpc_path(path) == expected


# --- well-formed connections ----------------------------------------------------------------------


def test_calls_from_an_h2_client() -> None:
    data = h2_client([call_headers(), call_headers("/pkg.Store/Get"), call_headers("/pkg.Store/Put")])
    result = parse_grpc(data)
    assert [(r.service, r.method) for r in result.requests] == [
        ("helloworld.Greeter", "SayHello"),
        ("pkg.Store", "Get"),
        ("pkg.Store", "Put"),
    ]
    assert [r.stream_id for r in result.requests] == [1, 3, 5]
    first = result.requests[0]
    assert first.is_grpc and first.http_method == "POST" and first.authority == "svc.local:50051"
    assert first.content_type == "application/grpc+proto"
    assert ("te", "trailers") in first.headers
    assert result.consumed == len(data) and result.need_more is None and result.anomalies == frozenset()


def test_large_headers_use_continuation_frames() -> None:
    data = h2_client([call_headers(**{"x-big": "v" * 20000})])  # > 16 KiB: HEADERS + CONTINUATION
    assert 9 in frame_types(data)
    (request,) = requests(data, max_header_list_size=65536)
    assert request.service == "helloworld.Greeter"


def test_padding_and_priority_are_stripped() -> None:
    fragment = block(call_headers())
    payload = bytes([3]) + b"\x00\x00\x00\x00\x10" + fragment + b"\x00" * 3
    data = PREFACE + SETTINGS_FRAME + frame(1, 0x4 | 0x8 | 0x20, 1, payload)
    (request,) = requests(data)
    assert request.method == "SayHello"


def test_non_grpc_request_and_odd_paths() -> None:
    data = PREFACE + SETTINGS_FRAME + frame(1, 0x5, 1, block([(":method", "GET"), (":path", "/index.html")]))
    data += frame(1, 0x5, 3, block(call_headers("/not/a/grpc/path")))
    plain, odd = requests(data)
    assert not plain.is_grpc and plain.service is None and plain.path == "/index.html"
    assert odd.is_grpc and odd.service is None and GrpcAnomaly.NOT_GRPC_PATH in odd.anomalies


HEADER_ANOMALIES = {
    "pseudo-header after a regular one": (
        [(":method", "POST"), ("x", "1"), (":path", "/a/b")],
        GrpcAnomaly.PSEUDO_HEADER_AFTER_REGULAR,
    ),
    "upper-case name": ([(":path", "/a/b"), ("X-Up", "1")], GrpcAnomaly.UPPERCASE_HEADER_NAME),
    "duplicate pseudo-header": ([(":path", "/a/b"), (":path", "/c/d")], GrpcAnomaly.DUPLICATE_PSEUDO_HEADER),
}


@pytest.mark.parametrize("headers, anomaly", HEADER_ANOMALIES.values(), ids=HEADER_ANOMALIES.keys())
def test_header_anomalies(headers: list[tuple[str, str]], anomaly: GrpcAnomaly) -> None:
    data = PREFACE + SETTINGS_FRAME + frame(1, 0x5, 1, block(headers))
    (request,) = requests(data)
    assert anomaly in request.anomalies
    assert request.path == "/a/b"  # the first :path wins


def test_non_utf8_header_is_flagged() -> None:
    raw = b"\x00\x05:path\x04/a/b" + b"\x00\x01x\x01\xff"
    (request,) = requests(PREFACE + SETTINGS_FRAME + frame(1, 0x5, 1, raw))
    assert GrpcAnomaly.NON_UTF8_HEADER in request.anomalies


def test_unknown_frame_types_are_ignored() -> None:
    unknown = frame(0xEE, 0xFF, 7, b"whatever")
    data = PREFACE + SETTINGS_FRAME + unknown + frame(1, 0x5, 1, block(call_headers()))
    assert len(requests(data)) == 1


def test_empty_data_flood_is_flagged() -> None:
    data = PREFACE + SETTINGS_FRAME + frame(1, 0x4, 1, block(call_headers())) + frame(0, 0, 1) * 101
    result = parse_grpc(data)
    assert GrpcAnomaly.EMPTY_DATA_FLOOD in result.anomalies
    assert GrpcAnomaly.EMPTY_DATA_FLOOD not in parse_grpc(data[: -9 * 2]).anomalies


def test_without_preface_when_allowed() -> None:
    data = frame(1, 0x5, 1, block(call_headers()))
    result = parse_grpc(data, require_preface=False)
    assert GrpcAnomaly.MISSING_PREFACE in result.anomalies
    assert [r.method for r in result.requests] == ["SayHello"]


# --- need more data -----------------------------------------------------------------------------


def test_every_cut_gives_a_prefix_of_the_calls() -> None:
    data = h2_client([call_headers(), call_headers("/pkg.S/M")])
    full = [r.path for r in parse_grpc(data).requests]
    for cut in range(len(data) + 1):
        result = parse_grpc(data[:cut])
        paths = [r.path for r in result.requests]
        assert paths == full[: len(paths)], cut
        assert result.error is None
        assert (result.need_more is None) == (result.consumed == cut and cut >= len(PREFACE)), cut


# --- connection errors --------------------------------------------------------------------------

HEADERS = frame(1, 0x5, 1, block(call_headers()))
OPEN_BLOCK = frame(1, 0, 1, b"\x82")  # HEADERS without END_HEADERS
ERRORS = {
    "missing preface": b"GET / HTTP/1.1\r\n\r\n",
    "preface then HEADERS instead of SETTINGS": PREFACE + HEADERS,
    "frame above 16 KiB": PREFACE + SETTINGS_FRAME + (16385).to_bytes(3, "big") + b"\x00\x00\x00\x00\x00\x01",
    "HEADERS on stream 0": PREFACE + SETTINGS_FRAME + frame(1, 0x5, 0, block(call_headers())),
    "SETTINGS on a stream": PREFACE + frame(4, 0, 1),
    "SETTINGS length not a multiple of 6": PREFACE + frame(4, 0, 0, b"\x00" * 5),
    "SETTINGS ACK with payload": PREFACE + SETTINGS_FRAME + frame(4, 1, 0, b"\x00" * 6),
    "PING of 7 bytes": PREFACE + SETTINGS_FRAME + frame(6, 0, 0, b"\x00" * 7),
    "WINDOW_UPDATE of 3 bytes": PREFACE + SETTINGS_FRAME + frame(8, 0, 1, b"\x00" * 3),
    "GOAWAY too short": PREFACE + SETTINGS_FRAME + frame(7, 0, 0, b"\x00" * 7),
    "padding longer than payload": PREFACE + SETTINGS_FRAME + frame(1, 0x5 | 0x8, 1, b"\x09abc"),
    "padded frame without pad length": PREFACE + SETTINGS_FRAME + frame(0, 0x8, 1),
    "CONTINUATION without HEADERS": PREFACE + SETTINGS_FRAME + frame(9, 0x4, 1, b"\x82"),
    "header block interrupted by DATA": PREFACE + SETTINGS_FRAME + OPEN_BLOCK + frame(0, 0, 1, b"x"),
    "CONTINUATION on another stream": PREFACE + SETTINGS_FRAME + OPEN_BLOCK + frame(9, 4, 3, b"\x84"),
    "CONTINUATION flood": PREFACE + SETTINGS_FRAME + frame(1, 0, 1, b"") + frame(9, 0, 1, b"") * 40,
    "HPACK index 0": PREFACE + SETTINGS_FRAME + frame(1, 0x5, 1, b"\x80"),
}


@pytest.mark.parametrize("data", ERRORS.values(), ids=ERRORS.keys())
def test_connection_errors_raise(data: bytes) -> None:
    with pytest.raises(Http2ParseError):
        parse_grpc(data)


def test_hpack_bomb_raises_hpack_error() -> None:
    fragment = b"\x40\x01x\x7f\xa1\x1e" + b"y" * 4000 + b"\xbe" * 100  # 4 KiB entry, then 100 references
    data = PREFACE + SETTINGS_FRAME + frame(1, 0x5, 1, fragment)
    with pytest.raises(HpackError, match="header list exceeds"):
        parse_grpc(data)


def test_header_block_size_cap() -> None:
    data = PREFACE + SETTINGS_FRAME + frame(1, 0, 1, b"\x00" * 16000) + frame(9, 0, 1, b"\x00" * 16000)
    with pytest.raises(Http2ParseError, match="header block larger than 20000"):
        parse_grpc(data, max_header_block=20000)


def test_frames_per_buffer_cap() -> None:
    data = PREFACE + SETTINGS_FRAME + frame(6, 0, 0, b"\x00" * 8) * 20
    with pytest.raises(Http2ParseError, match="more than 10 frames"):
        parse_grpc(data, max_frames=10)


def test_error_after_a_call_keeps_the_call() -> None:
    good = PREFACE + SETTINGS_FRAME + HEADERS
    result = parse_grpc(good + frame(6, 0, 0, b"\x00"))
    assert [r.method for r in result.requests] == ["SayHello"]
    assert isinstance(result.error, Http2ParseError)
    assert result.consumed == len(good)


SEEDS = [h2_client([call_headers(), call_headers("/a.B/C")]), PREFACE + SETTINGS_FRAME + HEADERS]

# --- hostile input ------------------------------------------------------------------------------


def _check(data: bytes, require_preface: bool) -> None:
    try:
        result = parse_grpc(data, require_preface=require_preface)
    except Http2ParseError:
        return
    assert isinstance(result, GrpcRequests)
    assert 0 <= result.consumed <= len(data)
    assert result.need_more is None or isinstance(result.need_more, NeedMoreData)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1024), st.booleans())
def test_random_bytes_never_raise_anything_else(data: bytes, with_preface: bool) -> None:
    _check(PREFACE + data if with_preface else data, require_preface=with_preface)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255), st.sampled_from("fid")), max_size=6),
    st.booleans(),
)
def test_mutated_connections_never_raise_anything_else(
    seed: bytes, edits: list[tuple[int, int, str]], require_preface: bool
) -> None:
    data = bytearray(seed)
    for where, byte, kind in edits:
        at = where % (len(data) + 1)
        if kind == "f" and at < len(data):
            data[at] ^= byte or 1
        elif kind == "i":
            data[at:at] = bytes([byte])
        else:
            del data[at : at + 1 + byte % 8]
    _check(bytes(data), require_preface)
