"""Lexing of Suricata/Snort ``.rules`` text: rule lines, header tokens, options, quoted values.

Everything here is sans-IO and total: any input yields rules or a SignatureError naming the problem.
"""

from collections.abc import Iterator

from sentinel_domain.ids.errors import SignatureError

MAX_RULE_LENGTH = 65_536


def rule_lines(text: str | bytes) -> Iterator[tuple[int, str | None, str]]:
    """Yield ``(first line number, rule text or None, raw text)`` per rule.

    Blank lines and ``#`` comments (including commented-out rules) are dropped; a line ending in
    a backslash continues on the next line (the backslash and the line break are removed). A
    ``bytes`` line that is not UTF-8 yields ``None`` as its text so the caller can report it.
    """
    lines: list[tuple[str | None, str]] = []
    if isinstance(text, bytes):
        for raw in text.split(b"\n"):
            try:
                lines.append((raw.decode("utf-8"), ""))
            except UnicodeDecodeError:
                lines.append((None, raw.decode("utf-8", "replace")[:200]))
    else:
        lines = [(line, "") for line in text.split("\n")]
    pending: list[str] = []
    start = 0
    for number, (decoded, shown) in enumerate(lines, start=1):
        if decoded is None:
            yield number, None, shown
            pending = []
            continue
        line = decoded
        line = line.rstrip("\r")
        if not pending:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            start = number
        stripped = line.rstrip()
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(line)
        joined = "".join(pending)
        pending = []
        yield start, joined.strip(), joined.strip()
    if pending:  # a continuation at the end of the text
        joined = "".join(pending)
        yield start, joined.strip(), joined.strip()


def split_rule(text: str) -> tuple[list[str], list[tuple[str, str | None]]]:
    """Split ``header (options)`` into the 7 header tokens and ``(name, raw value)`` options."""
    if len(text) > MAX_RULE_LENGTH:
        raise SignatureError(f"rule is {len(text)} characters long (maximum {MAX_RULE_LENGTH})")
    open_at = text.find("(")
    if open_at < 0 or not text.endswith(")"):
        raise SignatureError("rule must end with an option list in parentheses")
    header = header_tokens(text[:open_at])
    if len(header) != 7:
        raise SignatureError(
            f"header has {len(header)} fields; expected 'action proto src sport -> dst dport'"
        )
    return header, options(text[open_at + 1 : -1])


def header_tokens(text: str) -> list[str]:
    """Whitespace-separated tokens; whitespace inside ``[...]`` lists does not split."""
    tokens: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth < 0:
                raise SignatureError("unbalanced ']' in rule header")
        if char.isspace() and depth == 0:
            if current:
                tokens.append("".join(current))
                current = []
            continue
        if not char.isspace():
            current.append(char)
    if depth:
        raise SignatureError("unbalanced '[' in rule header")
    if current:
        tokens.append("".join(current))
    return tokens


def options(body: str) -> list[tuple[str, str | None]]:
    """``name[:value]`` items separated by unescaped ``;`` (Suricata splits on ``;`` unless it is
    escaped as ``\\;``, quotes or not). Values keep their escapes for the keyword to decode."""
    items: list[tuple[str, str | None]] = []
    current: list[str] = []
    escaped = False
    for char in body:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == ";":
            items.append(_option("".join(current)))
            current = []
        else:
            current.append(char)
    if "".join(current).strip():  # a last option without its ';'
        items.append(_option("".join(current)))
    return items


def _option(text: str) -> tuple[str, str | None]:
    name, sep, value = text.partition(":")
    name = name.strip()
    if not name:
        raise SignatureError(f"empty option name in '{text.strip()[:60]}'")
    return name, value.strip() if sep else None


def unquote(value: str | None, keyword: str) -> str:
    """The text between the double quotes of a quoted option value, escapes kept."""
    if value is None or len(value) < 2 or not (value.startswith('"') and value.endswith('"')):
        raise SignatureError(f"{keyword}: expected a double-quoted value")
    inner = value[1:-1]
    escaped = False
    for char in inner:
        if char == '"' and not escaped:
            raise SignatureError(f"{keyword}: unescaped '\"' inside the value")
        escaped = char == "\\" and not escaped
    if escaped:
        raise SignatureError(f"{keyword}: value ends with a lone backslash")
    return inner


def unescape_text(inner: str) -> str:
    """``msg`` text: a backslash keeps the next character literally."""
    out: list[str] = []
    escaped = False
    for char in inner:
        if escaped or char != "\\":
            out.append(char)
            escaped = False
        else:
            escaped = True
    return "".join(out)


def content_bytes(inner: str) -> bytes:
    """Decode a content string: text (UTF-8) with ``|41 42|`` hex runs; ``\\;`` ``\\"`` ``\\\\``
    ``\\:`` ``\\|`` are the allowed escapes (Suricata's)."""
    out = bytearray()
    hex_mode, escaped = False, False
    digits: list[str] = []
    for char in inner:
        if hex_mode:
            if char == "|":
                if digits:
                    raise SignatureError("content: odd number of hex digits in |...|")
                hex_mode = False
            elif char in "0123456789abcdefABCDEF":
                digits.append(char)
                if len(digits) == 2:
                    out.append(int("".join(digits), 16))
                    digits = []
            elif not char.isspace():
                raise SignatureError(f"content: invalid character '{char}' in hex run")
        elif escaped:
            if char not in ';"\\:|':
                raise SignatureError(f"content: invalid escape '\\{char}'")
            out += char.encode()
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "|":
            hex_mode = True
        else:
            out += char.encode()
    if hex_mode:
        raise SignatureError("content: unterminated |...| hex run")
    if not out:
        raise SignatureError("content: empty pattern")
    return bytes(out)
