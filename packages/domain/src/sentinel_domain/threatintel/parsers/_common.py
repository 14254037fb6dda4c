"""What every feed parser shares: decoding, line splitting, error accounting, the junk rule."""

import json
import math
from collections.abc import Iterator

from sentinel_domain.threatintel._batch import BatchBuilder
from sentinel_domain.threatintel.entity import LineError, ParseOptions, ParseResult, ThreatType
from sentinel_domain.threatintel.errors import FeedFormatError, FeedRejectedError

BOM = b"\xef\xbb\xbf"
MAX_LINE = 8192
MAX_JSON_DEPTH = 64


def check_size(data: bytes, options: ParseOptions) -> None:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise FeedFormatError(f"feed data must be bytes, got {type(data).__name__}")
    if len(data) > options.max_bytes:
        raise FeedFormatError(f"feed is {len(data)} bytes, above the {options.max_bytes}-byte limit")


def decode_text(data: bytes) -> str:
    """UTF-8 with an optional BOM. Invalid bytes become lone surrogates so that only the lines
    holding them fail (see :func:`bad_text`), not the whole feed."""
    raw = bytes(data)
    if raw.startswith(BOM):
        raw = raw[len(BOM) :]
    return raw.decode("utf-8", "surrogateescape")


def bad_text(line: str) -> str | None:
    """Why a decoded line cannot be used (invalid UTF-8, NUL, too long), or None."""
    if len(line) > MAX_LINE:
        return f"line longer than {MAX_LINE} characters"
    if not line.isascii():
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:
            return "not valid UTF-8"
    if "\x00" in line:
        return "contains a NUL byte"
    return None


def split_lines(text: str) -> list[str]:
    """Lines split on LF only (a CR before it is kept for the caller to strip); a final empty
    piece after a trailing newline is not a line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def loads_json(text: str, what: str) -> object:
    """``json.loads`` with the depth cap of the contract (64); any failure is a FeedFormatError."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise FeedFormatError(f"{what}: nesting deeper than {MAX_JSON_DEPTH}") from None
    except ValueError as exc:  # JSONDecodeError, and int conversions beyond the digit limit
        raise FeedFormatError(f"{what}: invalid JSON: {exc}") from None
    if json_depth(value) > MAX_JSON_DEPTH:
        raise FeedFormatError(f"{what}: nesting deeper than {MAX_JSON_DEPTH}")
    return value


def json_depth(value: object) -> int:
    """Nesting depth of decoded JSON (a scalar is 0, ``[]`` is 1), without recursion."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterator[object] = iter(item.values())
        elif isinstance(item, list):
            children = iter(item)
        else:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def get_path(item: object, path: str) -> object:
    """``a.b.0.c`` inside decoded JSON; None when any step is missing."""
    current = item
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def clamp_confidence(value: object, default: int) -> int:
    """An integer (or digit string) clamped to 0-100; anything else is the default (contract)."""
    if isinstance(value, bool):
        return default
    if isinstance(value, str):
        text = value.strip()
        if not text.isdigit() or len(text) > 6:
            return default
        value = int(text)
    if isinstance(value, int):
        return max(0, min(100, value))
    if isinstance(value, float) and math.isfinite(value) and abs(value) < 1e6:
        return max(0, min(100, int(value)))
    return default


class Collector:
    """IOCs, errors and counts of one parse; ``finish`` applies the junk rule."""

    def __init__(self, options: ParseOptions, default_threat: ThreatType = ThreatType.OTHER) -> None:
        self.options = options
        threat = options.threat_type if options.threat_type is not None else default_threat
        self.batch = BatchBuilder(
            options.feed_id, options.confidence, threat, options.expires_at, options.action
        )
        self.errors: list[LineError] = []
        self.error_count = 0
        self.skipped = 0
        self.total = 0

    def error(self, line_no: int, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < self.options.max_errors_kept:
            self.errors.append(LineError(line_no, reason))

    def finish(self) -> ParseResult:
        considered = len(self.batch) + self.error_count + self.skipped
        if considered and self.error_count > self.options.max_junk_fraction * considered:
            raise FeedRejectedError(
                f"feed '{self.options.feed_id}' rejected: {self.error_count} of {considered} entries are "
                f"invalid (more than {self.options.max_junk_fraction:.0%})",
                self.error_count,
                considered,
                self.total,
            )
        errors = tuple(sorted(self.errors, key=lambda e: e.line_no))
        return ParseResult(self.batch.build(), errors, self.total, self.error_count, self.skipped)
