"""gRPC requests from decoded HTTP/2 header lists (RFC 9113 §8.3, gRPC over HTTP/2 protocol)."""

import enum
from dataclasses import dataclass, field

from sentinel_domain.l7._common import decode_text


class GrpcAnomaly(enum.Enum):
    """HTTP/2 oddities that do not break the connection but are worth reporting."""

    EMPTY_DATA_FLOOD = "empty_data_flood"  # many zero-length DATA frames (CVE-2019-9518 style)
    MISSING_PREFACE = "missing_preface"  # parsed without a preface (require_preface=False)
    PSEUDO_HEADER_AFTER_REGULAR = "pseudo_header_after_regular"  # RFC 9113 §8.3
    UPPERCASE_HEADER_NAME = "uppercase_header_name"  # RFC 9113 §8.2.1: malformed
    DUPLICATE_PSEUDO_HEADER = "duplicate_pseudo_header"  # RFC 9113 §8.3.1
    NON_UTF8_HEADER = "non_utf8_header"
    NOT_GRPC_PATH = "not_grpc_path"  # a gRPC content-type with a path not /Service/Method


@dataclass(frozen=True, slots=True)
class GrpcRequest:
    """One request header block. ``service``/``method`` come from a ``/Service/Method`` path;
    ``is_grpc`` is true when content-type is ``application/grpc`` or a ``+``/``;`` variant."""

    stream_id: int
    http_method: str | None
    path: str | None
    authority: str | None
    content_type: str | None
    service: str | None
    method: str | None
    headers: tuple[tuple[str, str], ...]
    end_stream: bool = False
    anomalies: frozenset[GrpcAnomaly] = field(default=frozenset())

    @property
    def is_grpc(self) -> bool:
        return is_grpc_content_type(self.content_type)


def is_grpc_content_type(value: str | None) -> bool:
    """gRPC over HTTP/2: ``application/grpc`` optionally followed by ``+format`` or parameters."""
    ctype = (value or "").strip().lower()
    return ctype == "application/grpc" or ctype.startswith(("application/grpc+", "application/grpc;"))


def split_grpc_path(path: str) -> tuple[str, str] | None:
    """``/package.Service/Method`` → (``package.Service``, ``Method``); None for any other shape."""
    if not path.startswith("/"):
        return None
    service, sep, method = path[1:].partition("/")
    if not sep or not service or not method or "/" in method:
        return None
    return service, method


def build_request(stream_id: int, raw: list[tuple[bytes, bytes]], end_stream: bool) -> GrpcRequest:
    anomalies: set[GrpcAnomaly] = set()
    headers: list[tuple[str, str]] = []
    pseudo: dict[str, str] = {}
    regular_seen = False
    for name_b, value_b in raw:
        name, ok_name = decode_text(name_b)
        value, ok_value = decode_text(value_b)
        if not (ok_name and ok_value):
            anomalies.add(GrpcAnomaly.NON_UTF8_HEADER)
        if name != name.lower():
            anomalies.add(GrpcAnomaly.UPPERCASE_HEADER_NAME)
        if name.startswith(":"):
            if regular_seen:
                anomalies.add(GrpcAnomaly.PSEUDO_HEADER_AFTER_REGULAR)
            if name in pseudo:
                anomalies.add(GrpcAnomaly.DUPLICATE_PSEUDO_HEADER)
            else:
                pseudo[name] = value
        else:
            regular_seen = True
        headers.append((name, value))
    path = pseudo.get(":path")
    ctype = next((v for n, v in headers if n.lower() == "content-type"), None)
    split = split_grpc_path(path) if path is not None else None
    if is_grpc_content_type(ctype) and split is None:
        anomalies.add(GrpcAnomaly.NOT_GRPC_PATH)
    return GrpcRequest(
        stream_id=stream_id,
        http_method=pseudo.get(":method"),
        path=path,
        authority=pseudo.get(":authority"),
        content_type=ctype,
        service=split[0] if split else None,
        method=split[1] if split else None,
        headers=tuple(headers),
        end_stream=end_stream,
        anomalies=frozenset(anomalies),
    )
