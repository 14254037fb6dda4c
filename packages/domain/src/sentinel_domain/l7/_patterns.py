"""Rule patterns: a small linear-time glob for text fields and the domain matcher for host/SNI.

Text patterns (HTTP path, gRPC service and method) keep the contract's case-insensitive
**substring** meaning when they contain none of ``*``, ``?``, ``[``; with one of them they are a
glob matched against the **whole** field (``/api/*`` = "starts with /api/"):
``*`` any run of characters (``/`` included), ``?`` one character, ``[abc]``, ``[a-z]``,
``[!abc]``/``[^abc]`` one character of (not of) a set; ``\\x`` is a literal ``x``. Matching is
case-insensitive. Unlike ``fnmatch`` nothing is compiled to ``re``: the matcher below keeps one
backtrack point (the last ``*``), so the time is O(len(text) x len(pattern)), never exponential.
"""

from dataclasses import dataclass, field

from sentinel_domain.l7.errors import L7RuleError

MAX_PATTERN_LENGTH = 512  # contract §2.0 input limits: pattern strings <= 512
MAX_DOMAIN_LENGTH = 253
_STAR = "*"
_ANY = "?"


@dataclass(frozen=True, slots=True)
class _CharClass:
    negated: bool
    chars: frozenset[str]
    ranges: tuple[tuple[str, str], ...]

    def matches(self, char: str) -> bool:
        inside = char in self.chars or any(low <= char <= high for low, high in self.ranges)
        return inside != self.negated


_Token = str | _CharClass  # "*", "?", "=c" (the literal c), or a character class


def _parse_class(source: str, start: int) -> tuple[_CharClass, int]:
    """The class starting after ``[`` at ``start``; returns it and the index after ``]``."""
    i = start
    negated = i < len(source) and source[i] in "!^"
    i += negated
    chars: set[str] = set()
    ranges: list[tuple[str, str]] = []
    first = True
    while i < len(source) and (source[i] != "]" or first):
        first = False
        char = source[i]
        if i + 2 < len(source) and source[i + 1] == "-" and source[i + 2] != "]":
            low, high = char, source[i + 2]
            if low > high:
                raise L7RuleError(f"invalid glob '{source}': range '{low}-{high}' is reversed")
            ranges.append((low, high))
            i += 3
        else:
            chars.add(char)
            i += 1
    if i >= len(source):
        raise L7RuleError(f"invalid glob '{source}': '[' without a closing ']'")
    return _CharClass(negated, frozenset(chars), tuple(ranges)), i + 1


def compile_glob(source: str) -> tuple[_Token, ...]:
    """Tokens of a (lower-cased) glob; raises L7RuleError for an unclosed class or trailing ``\\``."""
    tokens: list[_Token] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char == "\\":
            if i + 1 == len(source):
                raise L7RuleError(f"invalid glob '{source}': trailing '\\'")
            tokens.append("=" + source[i + 1])
            i += 2
        elif char == "[":
            cls, i = _parse_class(source, i + 1)
            tokens.append(cls)
        else:
            if not (char == _STAR and tokens and tokens[-1] == _STAR):  # '**' is '*'
                tokens.append(char if char in (_STAR, _ANY) else "=" + char)
            i += 1
    return tuple(tokens)


def glob_match(tokens: tuple[_Token, ...], text: str) -> bool:
    """Whether ``text`` matches the whole glob (Russ Cox's one-backtrack-point algorithm)."""
    pi = ti = 0
    star_pi, star_ti = -1, -1
    while pi < len(tokens) or ti < len(text):
        if pi < len(tokens):
            token = tokens[pi]
            if token == _STAR:
                # Try an empty run first; on a later mismatch, let the star eat one more character.
                star_pi, star_ti = pi, ti + 1
                pi += 1
                continue
            if ti < len(text):
                char = text[ti]
                if (
                    token == _ANY
                    or (isinstance(token, _CharClass) and token.matches(char))
                    or (isinstance(token, str) and token[1:] == char)
                ):
                    pi += 1
                    ti += 1
                    continue
        if 0 < star_ti <= len(text):
            pi, ti = star_pi, star_ti
            continue
        return False
    return True


def _check_text(source: str, what: str, max_length: int) -> None:
    if not isinstance(source, str) or not source:
        raise L7RuleError(f"invalid {what} '{source}': expected a non-empty string")
    if len(source) > max_length:
        raise L7RuleError(f"invalid {what}: {len(source)} characters (maximum {max_length})")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in source):
        raise L7RuleError(f"invalid {what} {source!r}: control characters are not allowed")


@dataclass(frozen=True, slots=True)
class TextPattern:
    """Case-insensitive substring, or whole-field glob when ``*``, ``?`` or ``[`` appears."""

    source: str
    _glob: tuple[_Token, ...] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_text(self.source, "pattern", MAX_PATTERN_LENGTH)
        lowered = self.source.lower()
        is_glob = any(c in lowered for c in "*?[")
        object.__setattr__(self, "_glob", compile_glob(lowered) if is_glob else None)

    @property
    def is_glob(self) -> bool:
        return self._glob is not None

    def matches(self, text: str) -> bool:
        lowered = text.lower()
        if self._glob is None:
            return self.source.lower() in lowered
        return glob_match(self._glob, lowered)


@dataclass(frozen=True, slots=True)
class DomainPattern:
    """The contract's domain matcher (§7.7) for HTTP host and TLS SNI, case-insensitive.

    ``*.example.com`` matches strict subdomains (``a.example.com``, not ``example.com``);
    ``www.*`` matches names starting with ``www.``; anything else is a substring. ``~regex``
    patterns are rejected: the domain has no regex engine, and hostile regexes are refused by
    design (bad-inputs: ReDoS). Names are compared without a trailing dot.
    """

    source: str
    kind: str = field(init=False, compare=False)
    value: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        text = self.source
        _check_text(text, "domain pattern", MAX_DOMAIN_LENGTH)
        if text.startswith("~"):
            raise L7RuleError(
                f"invalid domain pattern '{text}': regex patterns ('~...') are not supported; "
                "use '*.suffix', 'prefix.*' or a substring"
            )
        if text.startswith("*.") and text.endswith(".*"):
            raise L7RuleError(
                f"invalid domain pattern '{text}': cannot both start with '*.' and end with '.*'"
            )
        if text.startswith("*."):
            kind, value = "suffix", text[2:]
        elif text.endswith(".*"):
            kind, value = "prefix", text[:-2]
        else:
            kind, value = "substring", text
        if not value or "*" in value or any(c.isspace() for c in value):
            raise L7RuleError(
                f"invalid domain pattern '{text}': '*' only as '*.suffix' or 'prefix.*', no whitespace"
            )
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "value", value.lower().rstrip(".") if kind == "suffix" else value.lower())

    def matches(self, name: str) -> bool:
        host = name.lower().rstrip(".")
        if self.kind == "suffix":
            return host.endswith("." + self.value)
        if self.kind == "prefix":
            return host.startswith(self.value + ".") and len(host) > len(self.value) + 1
        return self.value in host
