"""ReferenceMatcher: a slow, obviously-correct PatternMatcher used as the tests' oracle.

It accepts exactly the patterns the production (hyperscan) matcher accepts — both parse with the
same ``sentinel_domain.common.regex_syntax`` module — and
reports the same ``(end, pattern_id)`` set: every end offset at
which some match of a pattern ends. Patterns become one Thompson NFA run as a lazily built DFA, in
pure Python (a few MB/s; fine for tests, not for traffic).
"""

from collections.abc import Sequence

from sentinel_domain.common.matching import Match, Pattern, PatternError, PatternKind
from sentinel_domain.common.regex_syntax import parse_set
from sentinel_testkit.fakes._nfa import END, UNKNOWN, LazyDfa, Program, satisfiable

__all__ = ["ReferenceCompiled", "ReferenceMatcher", "ReferenceStream"]


class ReferenceStream:
    """Streaming scan over a :class:`ReferenceCompiled` set."""

    def __init__(self, dfa: LazyDfa | None) -> None:
        self._dfa = dfa
        self._state = dfa.initial if dfa is not None else 0
        self._offset = 0
        self._tentative: tuple[int, ...] = ()  # ids confirmed if the stream ends right now
        self._recent: set[Match] = set()  # matches already reported at the last two offsets
        self._closed = False

    def _emit(self, found: list[Match]) -> list[Match]:
        fresh = sorted({m for m in found if m not in self._recent})
        self._recent = {m for m in (*self._recent, *fresh) if m.end >= self._offset - 1}
        return fresh

    def feed(self, chunk: bytes) -> list[Match]:
        """Scan the next chunk; matches whose end depends on later bytes wait for them."""
        if self._closed:
            raise ValueError("stream is closed")
        dfa = self._dfa
        if dfa is None or not chunk:
            self._offset += len(chunk)
            return []
        found: list[Match] = []
        state, offset, rows, tentative = self._state, self._offset, dfa.rows, self._tentative
        for index, byte in enumerate(chunk):
            result = rows[state][byte] or dfa.step(state, byte)
            accepted, tentative, state = result
            for pattern_id in accepted:
                found.append(Match(offset + index, pattern_id))
        self._state, self._offset, self._tentative = state, offset + len(chunk), tentative
        found.extend(Match(self._offset, i) for i in dfa.step(state, UNKNOWN)[0])
        return self._emit(found)

    def close(self) -> list[Match]:
        """End the stream: report matches that needed to see the end (``$``, ``\\z``, ``\\b``)."""
        if self._closed:
            raise ValueError("stream is closed")
        self._closed = True
        if self._dfa is None:
            return []
        accepted = self._dfa.step(self._state, END)[0]
        found = [Match(self._offset, i) for i in accepted]
        found.extend(Match(self._offset - 1, i) for i in self._tentative)
        return self._emit(found)


class ReferenceCompiled:
    """An immutable compiled set; streams share its (append-only) DFA cache."""

    def __init__(self, dfa: LazyDfa | None) -> None:
        self._dfa = dfa

    def scan(self, data: bytes) -> list[Match]:
        """All matches in ``data``, sorted by (end, pattern_id)."""
        stream = self.stream()
        return sorted([*stream.feed(data), *stream.close()])

    def stream(self) -> ReferenceStream:
        return ReferenceStream(self._dfa)


class ReferenceMatcher:
    """PatternMatcher that validates like production and matches by NFA simulation."""

    def compile(self, patterns: Sequence[Pattern]) -> ReferenceCompiled:
        """Parse and check every pattern (PatternError names the label), then build the NFA."""
        nodes = parse_set(patterns)
        for pattern, node in zip(patterns, nodes, strict=True):
            if pattern.kind is PatternKind.REGEX and not satisfiable(Program([(pattern.id, node)])):
                name = pattern.label or f"id {pattern.id}"
                raise PatternError(f"pattern '{name}': pattern can never match")
        if not patterns:
            return ReferenceCompiled(None)
        program = Program([(p.id, n) for p, n in zip(patterns, nodes, strict=True)])
        return ReferenceCompiled(LazyDfa(program))
