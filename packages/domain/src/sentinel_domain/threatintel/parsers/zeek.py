"""Zeek Intelligence Framework files (tab-separated, ``#fields`` header).

The header ``#fields<TAB>indicator<TAB>indicator_type<TAB>meta.source...`` names the columns;
other ``#`` lines (``#separator``, ``#close``...) are comments; without a header the first two
columns are ``indicator`` and ``indicator_type``. Types: ``Intel::ADDR`` (a host address),
``Intel::SUBNET`` (a CIDR), ``Intel::DOMAIN``, ``Intel::URL`` (Zeek writes URLs without a scheme:
``http://`` is assumed). Other ``Intel::`` types (hashes, e-mail addresses, certificates...) are
well-formed but not network indicators: skipped, not errors.
"""

from sentinel_domain.threatintel._indicators import (
    DOMAIN,
    URL,
    V4_HOST,
    V4_NET,
    V6_HOST,
    V6_NET,
    classify,
    classify_cidr,
    normalize_domain,
    normalize_url,
)
from sentinel_domain.threatintel.entity import ParseOptions, ParseResult
from sentinel_domain.threatintel.errors import FeedFormatError
from sentinel_domain.threatintel.parsers._common import (
    Collector,
    bad_text,
    check_size,
    decode_text,
    split_lines,
)

_ALLOWED = {
    "Intel::ADDR": (V4_HOST, V6_HOST),
    "Intel::SUBNET": (V4_NET, V6_NET, V4_HOST, V6_HOST),
    "Intel::DOMAIN": (DOMAIN,),
    "Intel::URL": (URL,),
}


def _value(kind: str, text: str) -> tuple[int, str] | str:
    if kind == "Intel::DOMAIN":
        domain = normalize_domain(text)
        return (DOMAIN, domain) if domain is not None else f"invalid domain '{text[:64]}'"
    if kind == "Intel::URL":
        url = normalize_url(text if "://" in text else f"http://{text}")
        return (URL, url) if url is not None else f"invalid URL '{text[:64]}'"
    result = classify_cidr(text) if "/" in text else classify(text)
    if isinstance(result, tuple) and result[0] not in _ALLOWED[kind]:
        return f"'{text[:64]}' is not a valid {kind} value"
    return result


def parse_zeek_intel(data: bytes, options: ParseOptions | None = None) -> ParseResult:
    """Parse a Zeek Intel file (see the module docstring). FeedFormatError when the ``#fields``
    header lacks ``indicator`` or ``indicator_type``."""
    opts = options or ParseOptions()
    check_size(data, opts)
    lines = split_lines(decode_text(data))
    c = Collector(opts)
    c.total = len(lines)
    vi, ti = 0, 1
    for line_no, raw in enumerate(lines, 1):
        line = raw.rstrip("\r")
        if line.startswith("#fields"):
            names = line.split("\t")[1:]
            if "indicator" not in names or "indicator_type" not in names:
                raise FeedFormatError(f"feed '{opts.feed_id}': #fields lacks indicator and indicator_type")
            vi, ti = names.index("indicator"), names.index("indicator_type")
            continue
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if max(vi, ti) >= len(cols):
            c.error(line_no, f"expected at least {max(vi, ti) + 1} tab-separated columns")
            continue
        text, kind = cols[vi].strip(), cols[ti].strip()
        bad = bad_text(text)
        if bad is not None:
            c.error(line_no, bad)
        elif not kind.startswith("Intel::"):
            c.error(line_no, f"unknown indicator_type '{kind[:64]}'")
        elif kind not in _ALLOWED:
            c.skipped += 1
        elif not text or text == "-":
            c.error(line_no, "empty indicator")
        else:
            result = _value(kind, text)
            if isinstance(result, str):
                c.error(line_no, result)
            else:
                c.batch.add(result[0], result[1])
    return c.finish()
