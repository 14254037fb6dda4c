"""The regex subset every PatternMatcher accepts, parsed into a small AST with all flags resolved.

Both matchers parse with this one module (the reference matcher builds an NFA from the AST,
the hyperscan adapter prints a canonical expression from it), so they accept exactly the same
patterns; it lives beside the PatternMatcher protocol it serves.

The subset (PCRE spelling, byte-oriented, ASCII-only case folding):
- literal bytes; ``\\`` + any non-alphanumeric byte is that byte; ``\\t \\n \\r \\f \\a \\e``;
  ``\\xH``/``\\xHH``/``\\x{HH}`` (at most 0xFF);
- ``.`` (no ``\\n`` unless dotall), ``\\d \\D \\w \\W \\s \\S`` (ASCII; ``\\s`` includes ``\\x0b``),
  classes ``[...]``/``[^...]`` with ranges, escapes and POSIX ``[:name:]``/``[:^name:]``;
- groups ``(...)``, ``(?:...)``, ``(?<n>...)``, ``(?P<n>...)``, comments ``(?#...)``, inline flags
  ``(?ims-ims)`` and ``(?ims-ims:...)`` (a bare setting lasts to the end of its group);
- ``| * + ? {n} {n,} {n,m}`` with an optional lazy ``?`` (laziness changes nothing when every
  match end is reported); a ``{`` that does not open a valid quantifier is a literal;
- anchors ``^ $ \\A \\z \\Z \\b \\B``: ``^`` is ``\\A`` and ``$`` is ``\\Z`` (end, or before a final
  ``\\n``) unless multiline, where they also match after/before any ``\\n``.
Rejected (with the reason): backreferences and octal escapes, lookaround, atomic groups, possessive
quantifiers, conditionals, recursion, ``\\Q..\\E``, ``\\p``, ``\\h``/``\\v``/``\\R``/``\\K``/``\\G``
and other letter escapes, repeat counts above 1000 or ``{0}``, groups nested deeper than 200,
patterns expanding to more than 10 000 positions, patterns that can match the empty string without
an anchor, start anchors preceded by anything but ``\\A``, end anchors followed by anything but
end anchors (hyperscan's rules).
"""

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sentinel_domain.common.matching import MAX_PATTERN_LENGTH, Pattern, PatternError, PatternKind

MAX_REPEAT = 1000
MAX_DEPTH = 200
MAX_POSITIONS = 10_000
MAX_PATTERN_ID = 0xFFFFFFFF
ALL_BYTES = (1 << 256) - 1
NEWLINE = 0x0A


def _span(lo: int, hi: int) -> int:
    return ((1 << (hi - lo + 1)) - 1) << lo


def _chars(text: bytes) -> int:
    mask = 0
    for byte in text:
        mask |= 1 << byte
    return mask


DIGIT = _span(0x30, 0x39)
UPPER = _span(0x41, 0x5A)
LOWER = _span(0x61, 0x7A)
WORD = DIGIT | UPPER | LOWER | (1 << 0x5F)
SPACE = _span(0x09, 0x0D) | (1 << 0x20)
_GRAPH = _span(0x21, 0x7E)
_POSIX = {
    b"alnum": DIGIT | UPPER | LOWER,
    b"alpha": UPPER | LOWER,
    b"ascii": _span(0, 0x7F),
    b"blank": _chars(b" \t"),
    b"cntrl": _span(0, 0x1F) | (1 << 0x7F),
    b"digit": DIGIT,
    b"graph": _GRAPH,
    b"lower": LOWER,
    b"print": _GRAPH | (1 << 0x20),
    b"punct": _GRAPH & ~(DIGIT | UPPER | LOWER),
    b"space": SPACE,
    b"upper": UPPER,
    b"word": WORD,
    b"xdigit": DIGIT | _span(0x41, 0x46) | _span(0x61, 0x66),
}
_CLASS_ESCAPES = {
    0x64: DIGIT,
    0x44: ALL_BYTES & ~DIGIT,
    0x77: WORD,
    0x57: ALL_BYTES & ~WORD,
    0x73: SPACE,
    0x53: ALL_BYTES & ~SPACE,
}
_BYTE_ESCAPES = {0x74: 0x09, 0x6E: 0x0A, 0x72: 0x0D, 0x66: 0x0C, 0x61: 0x07, 0x65: 0x1B}
_HEX = b"0123456789abcdefABCDEF"


def fold_case(mask: int) -> int:
    """Add the other ASCII case of every letter in ``mask``."""
    return mask | ((mask & UPPER) << 32) | ((mask & LOWER) >> 32)


class AssertKind(enum.Enum):
    TEXT_START = "\\A"  # also ``^`` without multiline
    LINE_START = "(?m:^)"
    TEXT_END = "\\z"
    TEXT_END_NL = "\\Z"  # also ``$`` without multiline: the end, or before a final newline
    LINE_END = "(?m:$)"
    WORD_BOUNDARY = "\\b"
    NOT_WORD_BOUNDARY = "\\B"


_START_KINDS = (AssertKind.TEXT_START, AssertKind.LINE_START)
_END_KINDS = (AssertKind.TEXT_END, AssertKind.TEXT_END_NL, AssertKind.LINE_END)


@dataclass(frozen=True, slots=True)
class ByteSet:
    mask: int  # bit b set = byte b matches (flags already applied)


@dataclass(frozen=True, slots=True)
class Assertion:
    kind: AssertKind


@dataclass(frozen=True, slots=True)
class Concat:
    items: tuple["Node", ...]


@dataclass(frozen=True, slots=True)
class Alternation:
    options: tuple["Node", ...]


@dataclass(frozen=True, slots=True)
class Repeat:
    item: "Node"
    min: int
    max: int | None  # None = unbounded


Node = ByteSet | Assertion | Concat | Alternation | Repeat


class _ParseError(Exception):
    def __init__(self, reason: str, index: int) -> None:
        super().__init__(reason)
        self.reason, self.index = reason, index


class _Parser:
    def __init__(self, src: bytes, nocase: bool, dotall: bool, multiline: bool) -> None:
        self.src, self.pos = src, 0
        self.flags = {"i": nocase, "s": dotall, "m": multiline}

    def peek(self, offset: int = 0) -> int:
        i = self.pos + offset
        return self.src[i] if i < len(self.src) else -1

    def parse(self) -> Node:
        node = self.alternation(0)
        if self.pos < len(self.src):  # only an unbalanced ")" stops the top level early
            raise _ParseError("unmatched ')'", self.pos)
        return node

    def alternation(self, depth: int) -> Node:
        options = [self.concat(depth)]
        while self.peek() == 0x7C:  # "|"
            self.pos += 1
            options.append(self.concat(depth))
        return options[0] if len(options) == 1 else Alternation(tuple(options))

    def concat(self, depth: int) -> Node:
        items: list[Node] = []
        repeatable = False  # the last item is an atom that a quantifier may follow
        while (c := self.peek()) not in (-1, 0x7C, 0x29):
            start = self.pos
            if c in b"*+?{":
                bounds = self.quantifier()
                if bounds is None:  # "{" not opening a quantifier is a literal
                    items.append(self.literal(0x7B))
                    self.pos += 1
                    repeatable = True
                    continue
                if not items or not repeatable:
                    last = items[-1] if items else None
                    what = "an assertion" if isinstance(last, Assertion) else "nothing or a quantifier"
                    raise _ParseError(f"quantifier follows {what}", start)
                if not consumes(items[-1]):  # hyperscan treats e.g. (?:\A){2} inconsistently
                    raise _ParseError("quantifier on a group that cannot consume a byte", start)
                items[-1] = Repeat(items[-1], *bounds)
                repeatable = False
                continue
            node = self.atom(depth)
            repeatable = node is not None and (c == 0x28 or not isinstance(node, Assertion))
            if node is not None:
                items.append(node)
        return items[0] if len(items) == 1 else Concat(tuple(items))

    def quantifier(self) -> tuple[int, int | None] | None:
        c, start = self.peek(), self.pos
        if c == 0x7B:
            close = self.src.find(b"}", start)
            body = self.src[start + 1 : close] if close > 0 else b""
            lo_s, comma, hi_s = body.partition(b",")
            if not lo_s.isdigit() or not (hi_s.isdigit() or (comma and not hi_s) or not comma):
                return None
            lo, hi = int(lo_s[:5]), (int(hi_s[:5]) if hi_s else None)
            hi = hi if comma else lo
            if max(lo, hi or 0) > MAX_REPEAT or len(lo_s) > 5 or len(hi_s) > 5:
                raise _ParseError(f"repeat count above {MAX_REPEAT}", start)
            if hi is not None and (hi < lo or hi == 0):
                raise _ParseError("invalid repeat bounds (need 1 <= max and min <= max)", start)
            self.pos = close + 1
            bounds: tuple[int, int | None] = (lo, hi)
        else:
            self.pos += 1
            bounds = {0x2A: (0, None), 0x2B: (1, None), 0x3F: (0, 1)}[c]
        if self.peek() == 0x2B:
            raise _ParseError("possessive quantifiers are not supported", self.pos)
        if self.peek() == 0x3F:  # lazy: same set of match ends
            self.pos += 1
        return bounds

    def literal(self, byte: int) -> ByteSet:
        mask = 1 << byte
        return ByteSet(fold_case(mask) if self.flags["i"] else mask)

    def atom(self, depth: int) -> Node | None:
        c, start = self.peek(), self.pos
        self.pos += 1
        if c == 0x28:  # "("
            return self.group(depth + 1, start)
        if c == 0x5B:  # "["
            return self.char_class(start)
        if c == 0x2E:  # "."
            return ByteSet(ALL_BYTES if self.flags["s"] else ALL_BYTES & ~(1 << NEWLINE))
        if c == 0x5E:  # "^"
            return Assertion(AssertKind.LINE_START if self.flags["m"] else AssertKind.TEXT_START)
        if c == 0x24:  # "$"
            return Assertion(AssertKind.LINE_END if self.flags["m"] else AssertKind.TEXT_END_NL)
        if c == 0x5C:  # "\\"
            anchors = {0x41: "\\A", 0x7A: "\\z", 0x5A: "\\Z", 0x62: "\\b", 0x42: "\\B"}
            if self.peek() in anchors:
                self.pos += 1
                return Assertion(AssertKind(anchors[self.src[self.pos - 1]]))
            value = self.escape(start, in_class=False)
            return ByteSet(value & ALL_BYTES) if value > 0xFF else self.literal(value)
        return self.literal(c)

    def escape(self, start: int, in_class: bool) -> int:
        """After a backslash: a byte value (0-255) or a class mask marked by bit 256."""
        c = self.peek()
        if c == -1:
            raise _ParseError("pattern ends with a lone backslash", start)
        self.pos += 1
        if c in _CLASS_ESCAPES:
            return _CLASS_ESCAPES[c] | (1 << 256)
        if c in _BYTE_ESCAPES:
            return _BYTE_ESCAPES[c]
        if c == 0x78:  # \x
            return self.hex_escape(start)
        if 0x30 <= c <= 0x39 or c in b"kg":
            raise _ParseError("backreferences and octal escapes are not supported (use \\xHH)", start)
        if c == 0x62 and in_class:
            raise _ParseError("\\b inside a class is not supported (use \\x08)", start)
        if 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A:
            raise _ParseError(f"unsupported escape '\\{chr(c)}'", start)
        return c

    def hex_escape(self, start: int) -> int:
        if self.peek() == 0x7B:
            close = self.src.find(b"}", self.pos)
            digits = self.src[self.pos + 1 : close] if close > 0 else b""
            if not 1 <= len(digits) <= 2 or any(d not in _HEX for d in digits):
                raise _ParseError("\\x{...} needs 1-2 hex digits (at most FF)", start)
            self.pos = close + 1
            return int(digits, 16)
        end = self.pos
        while end < len(self.src) and end - self.pos < 2 and self.src[end] in _HEX:
            end += 1
        if end == self.pos:
            raise _ParseError("\\x needs 1-2 hex digits", start)
        value, self.pos = int(self.src[self.pos : end], 16), end
        return value

    def class_atom(self, start: int) -> int:
        c = self.peek()
        if c == 0x5B and self.peek(1) in (0x3A, 0x2E, 0x3D):  # "[:", "[.", "[="
            if self.peek(1) != 0x3A:
                raise _ParseError("POSIX collating elements are not supported", self.pos)
            close = self.src.find(b":]", self.pos + 2)
            name = self.src[self.pos + 2 : close] if close > 0 else b""
            negate = name.startswith(b"^")
            if name.lstrip(b"^") not in _POSIX:
                raise _ParseError("invalid POSIX class name", self.pos)
            self.pos = close + 2
            mask = _POSIX[name.lstrip(b"^")]
            return (ALL_BYTES & ~mask if negate else mask) | (1 << 256)
        self.pos += 1
        return self.escape(self.pos - 1, in_class=True) if c == 0x5C else c

    def char_class(self, start: int) -> ByteSet:
        negate = self.peek() == 0x5E
        self.pos += negate
        mask, first = 0, True
        while True:
            c = self.peek()
            if c == -1:
                raise _ParseError("unterminated character class", start)
            if c == 0x5D and not first:
                self.pos += 1
                break
            first = False
            lo = self.class_atom(start)
            if lo <= 0xFF and self.peek() == 0x2D and self.peek(1) not in (0x5D, -1):
                self.pos += 1
                hi = self.class_atom(start)
                if hi > 0xFF:
                    raise _ParseError("invalid range in character class", start)
                if hi < lo:
                    raise _ParseError("range out of order in character class", start)
                mask |= _span(lo, hi)
            else:
                mask |= lo & ALL_BYTES if lo > 0xFF else 1 << lo
        if self.flags["i"]:
            mask = fold_case(mask)
        return ByteSet(ALL_BYTES & ~mask if negate else mask)

    def group(self, depth: int, start: int) -> Node | None:
        if depth > MAX_DEPTH:
            raise _ParseError(f"groups nested deeper than {MAX_DEPTH}", start)
        saved = dict(self.flags)
        if self.peek() == 0x3F:  # "(?"
            self.pos += 1
            if not self.group_prefix(start):  # "(?flags)" or a comment: no node
                return None
        inner = self.alternation(depth)
        if self.peek() != 0x29:
            raise _ParseError("missing ')'", start)
        self.pos += 1
        self.flags = saved
        return inner

    def group_prefix(self, start: int) -> bool:
        """Consume what follows ``(?``; True when a group body follows."""
        c = self.peek()
        if c == 0x23:  # "(?#"
            close = self.src.find(b")", self.pos)
            if close < 0:
                raise _ParseError("unterminated comment", start)
            self.pos = close + 1
            return False
        if c == 0x3A:  # "(?:"
            self.pos += 1
            return True
        named = self.src.startswith(b"P<", self.pos) or (c == 0x3C and self.peek(1) not in b"=!")
        if named:
            self.pos += 2 if c == 0x50 else 1
            close = self.src.find(b">", self.pos)
            name = self.src[self.pos : close] if close > 0 else b""
            if not name.replace(b"_", b"a").isalnum() or name[:1].isdigit():
                raise _ParseError("invalid group name", start)
            self.pos = close + 1
            return True
        unsupported = {
            b"=": "lookaround is not supported",
            b"!": "lookaround is not supported",
            b"<": "lookaround is not supported",
            b">": "atomic groups are not supported",
            b"(": "conditional groups are not supported",
            b"P": "backreferences and recursion are not supported",
        }
        if c != -1 and bytes([c]) in unsupported:
            raise _ParseError(unsupported[bytes([c])], start)
        return self.inline_flags(start)

    def inline_flags(self, start: int) -> bool:
        on, seen = True, {True: 0, False: 0}
        while (c := self.peek()) in (0x69, 0x73, 0x6D, 0x2D):
            self.pos += 1
            if c == 0x2D:
                if not on:
                    raise _ParseError("invalid inline flags", start)
                on = False
                continue
            self.flags[chr(c)] = on
            seen[on] += 1
        if (not on and not seen[False]) or not (seen[True] or seen[False]) or self.peek() not in (0x29, 0x3A):
            raise _ParseError("unsupported group syntax after '(?'", start)
        self.pos += 1
        return self.src[self.pos - 1] == 0x3A


def consumes(node: Node) -> bool:
    """Whether some path through ``node`` consumes a byte."""
    if isinstance(node, ByteSet):
        return True
    if isinstance(node, Assertion):
        return False
    if isinstance(node, Concat):
        return any(consumes(n) for n in node.items)
    if isinstance(node, Alternation):
        return any(consumes(n) for n in node.options)
    return consumes(node.item)


def positions(node: Node) -> int:
    """How many NFA positions the pattern expands to (repeats unrolled)."""
    if isinstance(node, ByteSet | Assertion):
        return 1
    if isinstance(node, Concat):
        return sum(positions(n) for n in node.items)
    if isinstance(node, Alternation):
        return sum(positions(n) for n in node.options)
    copies = node.max if node.max is not None else node.min + 1
    return positions(node.item) * max(copies, 1)


def nullable(node: Node) -> bool:
    """Whether the pattern can match the empty string without passing any assertion."""
    if isinstance(node, ByteSet | Assertion):
        return False
    if isinstance(node, Concat):
        return all(nullable(n) for n in node.items)
    if isinstance(node, Alternation):
        return any(nullable(n) for n in node.options)
    return node.min == 0 or nullable(node.item)


def _anchors(node: Node, busy: bool, forward: bool) -> bool:
    """Walk in match order (or reversed); ``busy`` = something may lie between here and the edge."""
    if isinstance(node, ByteSet):
        return True
    if isinstance(node, Assertion):
        kinds = _START_KINDS if forward else _END_KINDS
        if node.kind in kinds and busy:
            raise _ParseError(f"embedded {'start' if forward else 'end'} anchor", -1)
        if forward:  # only \A may precede a start anchor
            return busy or node.kind is not AssertKind.TEXT_START
        return busy or node.kind not in _END_KINDS
    if isinstance(node, Concat):
        for item in node.items if forward else reversed(node.items):
            busy = _anchors(item, busy, forward)
        return busy
    if isinstance(node, Alternation):
        return any([_anchors(n, busy, forward) for n in node.options])
    out = _anchors(node.item, busy, forward)
    if node.max != 1:  # the body can follow itself
        out = _anchors(node.item, busy or out, forward)
    return out or (node.min == 0 and busy)


def _fail(pattern: Pattern, reason: str, index: int | None = None) -> PatternError:
    where = f" at index {index}" if index is not None and index >= 0 else ""
    name = pattern.label or f"id {pattern.id}"
    return PatternError(f"pattern '{name}': {reason}{where}")


def parse_pattern(pattern: Pattern) -> Node:
    """The AST of one pattern, or PatternError naming ``pattern.label`` and the reason."""
    source = pattern.expression
    if not isinstance(source, bytes):
        raise _fail(pattern, "expression must be bytes")
    if not source:
        raise _fail(pattern, "empty pattern")
    if len(source) > MAX_PATTERN_LENGTH:
        raise _fail(pattern, f"source is {len(source)} bytes (maximum {MAX_PATTERN_LENGTH})")
    if pattern.kind is PatternKind.LITERAL:
        fold = fold_case if pattern.nocase else int
        items = tuple(ByteSet(fold(1 << b)) for b in source)
        return items[0] if len(items) == 1 else Concat(items)
    try:
        node = _Parser(source, pattern.nocase, pattern.dotall, pattern.multiline).parse()
        if positions(node) > MAX_POSITIONS:
            raise _ParseError(f"pattern expands to more than {MAX_POSITIONS} positions", -1)
        if nullable(node):
            raise _ParseError("pattern can match the empty string", -1)
        _anchors(node, False, True)
        _anchors(node, False, False)
    except _ParseError as exc:
        raise _fail(pattern, exc.reason, exc.index) from None
    except RecursionError:
        raise _fail(pattern, "pattern nested too deeply") from None
    return node


def parse_set(patterns: Sequence[Pattern]) -> list[Node]:
    """Parse a whole set, also rejecting duplicate or out-of-range ids."""
    seen: set[int] = set()
    nodes = []
    for pattern in patterns:
        if isinstance(pattern.id, bool) or not isinstance(pattern.id, int):
            raise _fail(pattern, "id must be an integer")
        if not 0 <= pattern.id <= MAX_PATTERN_ID:
            raise _fail(pattern, f"id {pattern.id} out of range 0-{MAX_PATTERN_ID}")
        if pattern.id in seen:
            raise _fail(pattern, f"duplicate pattern id {pattern.id}")
        seen.add(pattern.id)
        nodes.append(parse_pattern(pattern))
    return nodes
