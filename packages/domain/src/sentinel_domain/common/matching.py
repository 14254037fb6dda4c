"""What a multi-pattern matcher does (IDS, DLP and L7 need one).

The domain only defines the behaviour; the production implementation (hyperscan) is an adapter
and a reference implementation lives in the testkit. Both pass one contract suite
(``sentinel_testkit.contracts.pattern_matcher``) and a differential test against each other.

Match semantics (hyperscan's default, without start-of-match tracking):
- for each pattern, every end offset at which *some* match of it ends is reported once, as
  ``Match(end, pattern_id)``: ``a+`` over ``aaa`` gives ends 1, 2 and 3; overlapping matches of one
  or several patterns are all reported. Start offsets are not reported (a literal's start is
  ``end - len(expression)``; a regex's start is unknown). Results are sorted by (end, id).
- offsets are byte offsets from the start of the buffer (``scan``) or of the stream, end exclusive.
- ``LITERAL`` matches its bytes as-is; ``nocase`` folds ASCII letters only (never bytes >= 0x80);
  ``dotall``/``multiline`` do not apply to literals.
- ``REGEX`` is a byte-oriented PCRE subset shared with RE2 (the syntax module beside each
  implementation lists it): literals and ``\\xHH`` escapes, ``.``, ``\\d \\w \\s`` and their
  negations (ASCII; ``\\s`` includes ``\\x0b``), classes with ranges and ``[:posix:]`` names, groups,
  inline ``(?ims-ims)`` flags, ``| * + ? {n} {n,} {n,m}`` (lazy forms allowed; counts 1-1000),
  anchors ``^ $ \\A \\z \\Z \\b \\B``. ``^`` is the start of the data (after any ``\\n`` too with
  ``multiline``, except a final one); ``$`` is the end or just before a final ``\\n`` (before any
  ``\\n`` with ``multiline``). Backreferences, lookaround, atomic groups, possessive quantifiers,
  conditionals, recursion, ``\\Q..\\E``, ``\\p``, and letter escapes not listed are rejected, as are
  patterns that match the empty string without an anchor, can never match, put a start anchor
  after anything but ``\\A`` or an end anchor before anything but end anchors, or are longer than
  ``MAX_PATTERN_LENGTH`` bytes. Every rejection is a PatternError naming ``Pattern.label``.
- a stream reports, over all its ``feed`` and ``close`` results, exactly the matches ``scan`` finds
  in the concatenated chunks, each once. ``feed`` reports a match as soon as it is decided: at once
  for most patterns, one byte later (or at ``close``) when it ends in ``\\b``, ``\\B``, ``$`` or
  ``\\z``. ``feed``/``close`` after ``close`` raise ValueError.
"""

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sentinel_domain.common.errors import ValidationError

MAX_PATTERN_LENGTH = 4096


class PatternKind(enum.Enum):
    """How ``Pattern.expression`` is read; see the module docstring for the regex subset."""

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
        """Scan the next chunk; offsets count from the start of the stream; sorted, none repeated."""
        ...

    def close(self) -> list[Match]:
        """End the stream, returning matches only decidable at the end (e.g. ``$`` anchors).

        A stream can be closed once; later ``feed``/``close`` calls raise ValueError.
        """
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
