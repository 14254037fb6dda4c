"""JSON feeds and Spamhaus DROP.

JSON (contract §7.6, extended): the document is an array of items, or an object whose item array
sits at the dotted ``items_path`` (e.g. ``data.indicators``). An item is a string (the indicator)
or an object holding the indicator at the dotted ``value_field`` (default ``ip``), optionally a
confidence (``confidence_field``: an integer, clamped to 0-100, default 100) and a category
(``category_field``: a string mapped with ``parse_threat_type``). Nesting is capped at 64 levels
(the contract's limit). Errors name the 1-based item index as ``line_no``.

Spamhaus DROP, both published forms, line by line:
- JSON lines ``{"cidr": "1.10.16.0/20", "sblid": "SBL256894", "rir": "apnic"}``; the closing
  ``{"type": "metadata", ...}`` record is skipped;
- the older text form ``1.10.16.0/20 ; SBL256894`` with ``;`` comment lines.
"""

from sentinel_domain.threatintel._indicators import V4_HOST, V4_NET, V6_HOST, V6_NET, classify
from sentinel_domain.threatintel.entity import ParseOptions, ParseResult, ThreatType, parse_threat_type
from sentinel_domain.threatintel.errors import FeedFormatError
from sentinel_domain.threatintel.parsers._common import (
    Collector,
    bad_text,
    check_size,
    clamp_confidence,
    decode_text,
    get_path,
    loads_json,
    split_lines,
)

_IP_CODES = (V4_HOST, V6_HOST, V4_NET, V6_NET)


def _field_path(spec: str | int | None, default: str) -> str:
    if spec is None:
        return default
    if isinstance(spec, bool) or not isinstance(spec, str | int):
        raise FeedFormatError(f"field '{spec}' must be a dotted path")
    return str(spec)


def parse_json(data: bytes, options: ParseOptions | None = None) -> ParseResult:
    """Parse a JSON feed (see the module docstring). FeedFormatError for invalid JSON, nesting
    deeper than 64, or no item array where one is expected."""
    opts = options or ParseOptions()
    check_size(data, opts)
    doc = loads_json(decode_text(data), f"feed '{opts.feed_id}'")
    items = get_path(doc, opts.items_path) if opts.items_path else doc
    if not isinstance(items, list):
        where = f"at '{opts.items_path}'" if opts.items_path else "at the top level (set items_path)"
        raise FeedFormatError(f"feed '{opts.feed_id}': no array of items {where}")
    value_path = _field_path(opts.value_field, "ip")
    conf_path = _field_path(opts.confidence_field, "confidence")
    cat_path = _field_path(opts.category_field, "category")
    c = Collector(opts)
    c.total = len(items)
    for index, item in enumerate(items, 1):
        if isinstance(item, str):
            value: object = item
            confidence, category = None, None
        elif isinstance(item, dict):
            value = get_path(item, value_path)
            confidence = clamp_confidence(get_path(item, conf_path), opts.confidence)
            raw_cat = get_path(item, cat_path)
            category = parse_threat_type(raw_cat) if isinstance(raw_cat, str) else None
        else:
            c.error(index, f"item is a {type(item).__name__}, expected an object or a string")
            continue
        if not isinstance(value, str) or not value.strip():
            c.error(index, f"no string indicator at '{value_path}'")
            continue
        bad = bad_text(value.strip())
        result = classify(value.strip()) if bad is None else bad
        if isinstance(result, str):
            c.error(index, result)
        else:
            c.batch.add(result[0], result[1], confidence, category)
    return c.finish()


def parse_spamhaus_drop(data: bytes, options: ParseOptions | None = None) -> ParseResult:
    """Spamhaus DROP/EDROP in JSON-lines or text form (see the module docstring); only IP and
    CIDR entries are accepted. Threat type defaults to ``other``."""
    opts = options or ParseOptions()
    check_size(data, opts)
    c = Collector(opts, ThreatType.OTHER)
    lines = split_lines(decode_text(data))
    c.total = len(lines)
    for line_no, raw in enumerate(lines, 1):
        s = raw.strip()
        if not s or s[0] in ";#" or s.startswith(opts.comment_prefix):
            continue
        bad = bad_text(s)
        if bad is not None:
            c.error(line_no, bad)
            continue
        if s.startswith("{"):
            try:
                record = loads_json(s, "record")
            except FeedFormatError as exc:
                c.error(line_no, str(exc))
                continue
            if not isinstance(record, dict):
                c.error(line_no, "record is not a JSON object")
                continue
            if record.get("type") == "metadata":
                c.skipped += 1
                continue
            token = record.get("cidr")
            if not isinstance(token, str):
                c.error(line_no, "record has no string 'cidr'")
                continue
        else:
            token = s.split(";", 1)[0].strip()
        result = classify(token.strip())
        if isinstance(result, str):
            c.error(line_no, result)
        elif result[0] not in _IP_CODES:
            c.error(line_no, f"'{token[:64]}' is not an IP network")
        else:
            c.batch.add(result[0], result[1])
    return c.finish()
