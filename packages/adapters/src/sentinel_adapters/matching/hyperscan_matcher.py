"""HyperscanMatcher: the production PatternMatcher, on Intel hyperscan (python binding >= 0.7).

How a set is compiled:
- every pattern is first parsed by ``sentinel_domain.common.regex_syntax`` (the same module
  the reference matcher uses),
  so both accept exactly the same subset and reject the rest with the same PatternError;
- the AST is printed back as a canonical hyperscan expression: every byte as ``\\xHH`` (alphanumerics
  as themselves), classes as explicit ranges, case folding already expanded, anchors spelled
  ``\\A \\z \\Z (?m:^) (?m:$)``, no pattern-level flags. Literals go through the same path (they
  are just concatenations of bytes), so one database holds literals and regexes together;
- two databases are built from the same expressions: one in block mode for ``scan`` and one in
  stream mode for ``stream()``; neither uses SOM, so hyperscan reports every end offset of every
  pattern, which is the protocol's semantics;
- hyperscan's compile errors do not say which expression failed in multi-pattern mode, so on
  failure the patterns are compiled one by one to name the culprit's label.
Scratch space (which two concurrent scans must never share): the thread that compiled a set scans
with the block database's own scratch, the cheapest call; other threads and all streams use
per-thread scratch. Per call, the binding costs about 0.5 us, which bounds the rate on small
payloads (``bench/bench_matchers.py`` prints it).
"""

import contextlib
import threading
from collections.abc import Sequence
from typing import Any

import hyperscan

from sentinel_domain.common.matching import Match, Pattern, PatternError
from sentinel_domain.common.regex_syntax import (
    ALL_BYTES,
    Alternation,
    Assertion,
    ByteSet,
    Concat,
    Node,
    parse_set,
)

__all__ = ["HyperscanCompiled", "HyperscanMatcher", "HyperscanStream"]

_PLAIN = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _byte_set(mask: int) -> bytes:
    if mask & (mask - 1) == 0:  # a single byte
        byte = mask.bit_length() - 1
        return bytes([byte]) if byte in _PLAIN else b"\\x%02x" % byte
    parts, byte = [], 0
    while byte < 256:
        if mask >> byte & 1:
            end = byte
            while end + 1 < 256 and mask >> (end + 1) & 1:
                end += 1
            parts.append(b"\\x%02x" % byte if end == byte else b"\\x%02x-\\x%02x" % (byte, end))
            byte = end
        byte += 1
    return b"[" + b"".join(parts) + b"]"


def to_hyperscan(node: Node) -> bytes:
    """A hyperscan expression (no flags needed) with exactly the semantics of ``node``."""
    if isinstance(node, ByteSet):
        return _byte_set(node.mask & ALL_BYTES)
    if isinstance(node, Assertion):
        return node.kind.value.encode()
    if isinstance(node, Concat):
        return b"".join(
            b"(?:" + to_hyperscan(n) + b")" if isinstance(n, Alternation) else to_hyperscan(n)
            for n in node.items
        )
    if isinstance(node, Alternation):
        return b"|".join(to_hyperscan(n) for n in node.options)
    body = to_hyperscan(node.item)
    if not isinstance(node.item, ByteSet):
        body = b"(?:" + body + b")"
    if node.max is None:
        suffix = {0: b"*", 1: b"+"}.get(node.min, b"{%d,}" % node.min)
    elif node.min == node.max:
        suffix = b"{%d}" % node.min
    else:
        suffix = b"?" if (node.min, node.max) == (0, 1) else b"{%d,%d}" % (node.min, node.max)
    return body + suffix


def _database(mode: int, expressions: list[bytes], ids: list[int]) -> hyperscan.Database:
    db = hyperscan.Database(mode=mode)
    db.compile(expressions=expressions, ids=ids, elements=len(expressions), flags=0)
    return db


def _compile_or_explain(
    patterns: Sequence[Pattern], expressions: list[bytes], mode: int
) -> hyperscan.Database:
    ids = [p.id for p in patterns]
    try:
        return _database(mode, expressions, ids)
    except hyperscan.error as exc:
        first_error = str(exc)
    for pattern, expression in zip(patterns, expressions, strict=True):
        try:
            _database(mode, [expression], [pattern.id])
        except hyperscan.error as exc:
            name = pattern.label or f"id {pattern.id}"
            raise PatternError(f"pattern '{name}': {str(exc).rstrip('.').lower()}") from None
    raise PatternError(f"pattern set of {len(patterns)} patterns: {first_error}")


def _ignore_match(_id: int, _start: int, _end: int, _flags: int, _ctx: object) -> None:
    return None


class HyperscanStream:
    """A hyperscan stream; matches come back from ``feed``/``close`` with stream offsets.

    Binding quirks (0.7-0.9) this class works around: a Stream keeps *borrowed* references to its
    database, callback and context, so this object holds them; a falsy or missing context makes it
    read an uninitialised one, so every call passes a handler and a truthy context;
    ``Stream.close(scratch=...)`` swaps two arguments and crashes, so close uses the database's
    own scratch (close holds the GIL and scans never use that scratch); ``Stream.__enter__``
    returns itself without a new reference, which ``Database.stream()``'s extra reference offsets,
    so streams are only opened the documented way: ``db.stream(...)`` then ``__enter__``.
    """

    def __init__(self, compiled: "HyperscanCompiled") -> None:
        self._compiled = compiled  # keeps the database alive: the binding does not
        self._found: list[tuple[int, int]] = []
        self._offset = 0
        self._recent: set[Match] = set()
        self._closed = False
        self._handler = self._on_match  # one bound method object that outlives the native stream
        db = compiled._stream_db
        self._stream = db.stream(match_event_handler=self._handler, context=self) if db is not None else None
        if self._stream is not None:
            self._stream.__enter__()  # hs_open_stream

    def _on_match(self, pattern_id: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
        self._found.append((end, pattern_id))

    def _drain(self) -> list[Match]:
        # hyperscan may report one (end, id) twice across calls, e.g. ``a|\\z`` ending at the last
        # byte is reported by the scan and again by close; only the last two offsets can repeat
        found, self._found = self._found, []
        fresh = sorted({Match(end, pattern_id) for end, pattern_id in found} - self._recent)
        self._recent = {m for m in (*self._recent, *fresh) if m.end >= self._offset - 1}
        return fresh

    def feed(self, chunk: bytes) -> list[Match]:
        """Scan the next chunk; offsets count from the start of the stream."""
        if self._closed:
            raise ValueError("stream is closed")
        if self._stream is not None and chunk:
            scratch = self._compiled._scratch("stream")
            self._stream.scan(chunk, scratch=scratch, match_event_handler=self._handler, context=self)
        self._offset += len(chunk)
        return self._drain()

    def close(self) -> list[Match]:
        """End the stream, returning matches decided by its end (``$``, ``\\z``, ``\\b``)."""
        if self._closed:
            raise ValueError("stream is closed")
        self._closed = True
        if self._stream is not None:
            self._stream.close(match_event_handler=self._handler, context=self)
        return self._drain()

    def __del__(self) -> None:
        # an abandoned stream still holds native state; hs_close_stream frees it
        if not getattr(self, "_closed", True) and self._stream is not None:
            self._closed = True
            with contextlib.suppress(hyperscan.error):
                self._stream.close(match_event_handler=_ignore_match, context=self._compiled)


def _collect(pattern_id: int, _start: int, end: int, _flags: int, found: Any) -> None:
    found.append((end, pattern_id))  # ``found`` is the list passed as the scan's context


class HyperscanCompiled:
    """An immutable compiled set; safe to share between threads.

    Hyperscan scratch must never serve two scans at once: the thread that compiled the set scans
    with the block database's own scratch (the cheapest call), every other thread with its own.
    """

    def __init__(self, block_db: hyperscan.Database | None, stream_db: hyperscan.Database | None) -> None:
        self._block_db = block_db
        self._stream_db = stream_db
        self._owner = threading.get_ident()
        self._local = threading.local()

    def _scratch(self, which: str) -> hyperscan.Scratch:
        scratch: hyperscan.Scratch | None = getattr(self._local, which, None)
        if scratch is None:
            scratch = hyperscan.Scratch(self._block_db if which == "block" else self._stream_db)
            setattr(self._local, which, scratch)
        return scratch

    def scan(self, data: bytes) -> list[Match]:
        """All matches in ``data`` (each pattern once per end offset), sorted by (end, id)."""
        db = self._block_db
        if db is None:
            return []
        found: list[tuple[int, int]] = []
        if threading.get_ident() == self._owner:
            db.scan(data, _collect, 0, found)
        else:
            db.scan(data, _collect, 0, found, self._scratch("block"))
        if not found:
            return []
        return [Match(end, pattern_id) for end, pattern_id in sorted(set(found))]

    def stream(self) -> HyperscanStream:
        """A fresh stream; always ``close()`` it (hyperscan stream state is native memory)."""
        return HyperscanStream(self)


class HyperscanMatcher:
    """PatternMatcher backed by hyperscan; raises PatternError naming the pattern's label."""

    def compile(self, patterns: Sequence[Pattern]) -> HyperscanCompiled:
        """Validate with the shared syntax module, then build block and stream databases."""
        nodes = parse_set(patterns)
        if not patterns:
            return HyperscanCompiled(None, None)
        expressions = [to_hyperscan(node) for node in nodes]
        block = _compile_or_explain(patterns, expressions, hyperscan.HS_MODE_BLOCK)
        stream = _compile_or_explain(patterns, expressions, hyperscan.HS_MODE_STREAM)
        return HyperscanCompiled(block, stream)
