"""What a multi-pattern matcher does (IDS, DLP and L7 need one).

The domain only defines the behaviour; the production implementation (hyperscan) is an adapter
and a reference implementation lives in the testkit. Both pass one contract suite
(``sentinel_testkit.contracts.pattern_matcher``).
"""

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sentinel_domain.common.errors import ValidationError

MAX_PATTERN_LENGTH = 4096


class PatternKind(enum.Enum):
    LITERAL = "literal"  # raw bytes, matched as-is
    REGEX = "regex"  # a regex in the common subset of hyperscan and RE2 (no backrefs/lookaround)


@dataclass(frozen=True, slots=True)
class Pattern:
    """One pattern of a set. ``id`` is reported back in matches; ``nocase`` folds ASCII case."""

    id: int
    expression: bytes
    kind: PatternKind = PatternKind.LITERAL
    nocase: bool = False
    dotall: bool = False
    multiline: bool = False
    label: str = ""  # e.g. the rule id, used in error messages


@dataclass(frozen=True, slots=True, order=True)
class Match:
    """``pattern_id`` matched bytes ending at ``end`` (exclusive offset from the stream start)."""

    end: int
    pattern_id: int


class PatternError(ValidationError):
    """A pattern cannot be compiled; the message names the rule (``Pattern.label``) and why."""


class MatchStream(Protocol):
    """Scans data that arrives in chunks; matches spanning chunk boundaries are found."""

    def feed(self, chunk: bytes) -> list[Match]:
        """Scan the next chunk; offsets count from the start of the stream."""
        ...

    def close(self) -> list[Match]:
        """End the stream, returning matches only decidable at the end (e.g. ``$`` anchors)."""
        ...


class CompiledPatterns(Protocol):
    """An immutable compiled set, safe to share between scans."""

    def scan(self, data: bytes) -> list[Match]:
        """All matches in ``data`` (each pattern reported once per end offset), sorted."""
        ...

    def stream(self) -> MatchStream:
        """A fresh streaming scanner over this set."""
        ...


class PatternMatcher(Protocol):
    """Compiles pattern sets; raises PatternError for anything it cannot compile."""

    def compile(self, patterns: Sequence[Pattern]) -> CompiledPatterns:
        """Compile ``patterns`` (ids unique) into one database."""
        ...
