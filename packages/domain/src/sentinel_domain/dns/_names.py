"""Domain-name text rules shared by the parser, the blocklist and the cache."""

from sentinel_domain.dns.errors import DomainNameError

MAX_LABEL_OCTETS = 63  # RFC 1035 §2.3.4: "labels 63 octets or less"
MAX_NAME_OCTETS = 255  # RFC 1035 §2.3.4: "names 255 octets or less" (wire form)
MAX_NAME_TEXT = 253  # the same limit in text form, without the root's trailing dot

# Letters, digits, hyphen, and underscore (used by SRV/DMARC-style names and by real ad domains).
_HOST_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789-_")
# Bytes kept verbatim when a wire label is turned into text; everything else becomes \DDD.
_PRINTABLE = frozenset(range(0x21, 0x7F)) - {ord("."), ord("\\")}
_PRINTABLE_BYTES = bytes(sorted(_PRINTABLE))


def label_to_text(label: bytes) -> str:
    """A wire label in master-file text form (RFC 1035 §5.1), ASCII letters lower-cased.

    DNS compares names case-insensitively (RFC 4343), and resolvers randomise case (0x20
    encoding), so the text form is folded to lower case to keep one spelling per name.
    """
    lowered = label.lower()
    if not lowered.translate(None, _PRINTABLE_BYTES):  # the usual case: nothing to escape
        return lowered.decode("ascii")
    out: list[str] = []
    for byte in lowered:
        if byte in _PRINTABLE:
            out.append(chr(byte))
        elif byte in (ord("."), ord("\\")):
            out.append("\\" + chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return "".join(out)


def names_to_text(labels: list[bytes]) -> str:
    """The text form of a name given its wire labels (``.`` for the root)."""
    if not labels:
        return "."
    joined = b".".join(labels).lower()
    # One check for the whole name: only escape label by label when something needs it.
    if not joined.translate(None, _PRINTABLE_BYTES + b".") and joined.count(b".") == len(labels) - 1:
        return joined.decode("ascii")
    return ".".join(label_to_text(label) for label in labels)


def normalize_domain(text: str) -> str:
    """The canonical form of a host name: stripped, lower case, no trailing dot, IDN as punycode.

    Raises DomainNameError unless every label is 1-63 characters of ``[a-z0-9_-]`` and the name is
    at most 253 characters (RFC 1035 §2.3.4 in text form).
    """
    raw = text.strip()
    if raw.endswith("."):
        raw = raw[:-1]
    if not raw:
        raise DomainNameError(f"invalid domain '{text}': empty")
    if not raw.isascii():
        try:
            raw = raw.encode("idna").decode("ascii")
        except UnicodeError:
            raise DomainNameError(f"invalid domain '{text}': not a valid internationalised name") from None
    name = raw.lower()
    if len(name) > MAX_NAME_TEXT:
        raise DomainNameError(f"invalid domain '{text}': {len(name)} characters (maximum {MAX_NAME_TEXT})")
    for label in name.split("."):
        if not label:
            raise DomainNameError(f"invalid domain '{text}': empty label")
        if len(label) > MAX_LABEL_OCTETS:
            raise DomainNameError(
                f"invalid domain '{text}': label '{label[:16]}…' is {len(label)} characters "
                f"(maximum {MAX_LABEL_OCTETS})"
            )
        if not _HOST_CHARS.issuperset(label.encode()):
            raise DomainNameError(f"invalid domain '{text}': label '{label}' allows only a-z, 0-9, '-', '_'")
    return name


def lookup_key(name: str) -> str:
    """How a name from traffic is compared with patterns and cache keys: lower case, no trailing dot.

    Unlike :func:`normalize_domain` this never raises: a name that no pattern could match simply
    matches nothing.
    """
    key = name.strip().lower()
    return key[:-1] if key.endswith(".") and len(key) > 1 else key


def parents(name: str) -> list[str]:
    """Proper suffixes of ``name`` from the longest: ``a.b.c`` → ``[b.c, c]``."""
    out: list[str] = []
    index = name.find(".")
    while index != -1:
        out.append(name[index + 1 :])
        index = name.find(".", index + 1)
    return out
