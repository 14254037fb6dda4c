"""CSV feeds: the generic configurable form, abuse.ch Feodo Tracker and abuse.ch URLhaus.

Generic CSV (contract §7.6): fields split by ``separator`` with RFC 4180 quoting ("Fields
containing line breaks (CRLF), double quotes, and commas should be enclosed in double-quotes");
a quoted field may not span lines here (each line is one record, so a bad line stays one error).
With ``skip_header`` the first record holds the column names (lower-cased). ``value_field`` (the
contract's ``ip_field``), ``confidence_field`` and ``category_field`` are a column index or a
header name; the value column defaults to ``ip`` and falls back to column 0. The value may be an
IP, CIDR, domain or URL. Confidence: an integer clamped to 0-100, else the feed default;
category: mapped with ``parse_threat_type``.

abuse.ch dumps carry their header as a comment (``# "first_seen_utc","dst_ip",...`` and
``# id,dateadded,url,...``): Feodo takes the ``dst_ip`` column (C2), URLhaus the ``url`` column
(malware); without such a header the documented positions (1 and 2) are used.
"""

import csv

from sentinel_domain.threatintel._indicators import classify
from sentinel_domain.threatintel.entity import ParseOptions, ParseResult, ThreatType, parse_threat_type
from sentinel_domain.threatintel.errors import FeedFormatError
from sentinel_domain.threatintel.parsers._common import (
    Collector,
    bad_text,
    check_size,
    clamp_confidence,
    decode_text,
    split_lines,
)

Row = tuple[int, list[str]]


def _split(line: str, sep: str) -> list[str] | str:
    try:
        return next(csv.reader([line], delimiter=sep, strict=True), [])
    except csv.Error as exc:
        return f"malformed CSV record: {exc}"


def _column(
    spec: str | int | None, header: list[str] | None, names: tuple[str, ...], default: int | None
) -> int | None:
    """Resolve a column spec against the header; ``names``/``default`` apply when spec is None."""
    if isinstance(spec, bool):
        raise FeedFormatError(f"column '{spec}' must be an index or a header name")
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().isdigit()):
        index = int(spec)
        if index < 0:
            raise FeedFormatError(f"column index {index} must be >= 0")
        return index
    wanted = (spec.strip().lower(),) if isinstance(spec, str) else names
    for name in wanted:
        if header is not None and name in header:
            return header.index(name)
    if spec is None or (names and wanted[0] == names[0]):
        return default
    raise FeedFormatError(f"column '{spec}' is not in the feed's header {header or '(no header)'}")


def _read_rows(
    c: Collector, data: bytes, comment_header: tuple[str, ...]
) -> tuple[list[Row], list[str] | None]:
    opts = c.options
    check_size(data, opts)
    lines = split_lines(decode_text(data))
    c.total = len(lines)
    header: list[str] | None = None
    rows: list[Row] = []
    for line_no, raw in enumerate(lines, 1):
        line = raw.rstrip("\r")
        s = line.strip()
        if not s:
            continue
        if s.startswith(opts.comment_prefix) or s[0] == "#":
            if comment_header and header is None:
                fields = _split(s.lstrip("#").strip(), opts.separator)
                names = [f.strip().lower() for f in fields] if isinstance(fields, list) else []
                if any(n in names for n in comment_header):
                    header = names
            continue
        bad = bad_text(line)
        fields = _split(line, opts.separator) if bad is None else bad
        if isinstance(fields, str):
            c.error(line_no, fields)
        elif opts.skip_header and header is None and not comment_header:
            header = [f.strip().lower() for f in fields]
        else:
            rows.append((line_no, fields))
    return rows, header


def _parse(
    data: bytes,
    opts: ParseOptions,
    *,
    value_names: tuple[str, ...],
    value_default: int,
    default_threat: ThreatType,
    comment_header: bool,
) -> ParseResult:
    c = Collector(opts, default_threat)
    rows, header = _read_rows(c, data, value_names if comment_header else ())
    vi = _column(opts.value_field, header, value_names, value_default)
    ci = _column(opts.confidence_field, header, (), None) if opts.confidence_field is not None else None
    ti = _column(opts.category_field, header, (), None) if opts.category_field is not None else None
    if vi is None:  # unreachable: the value column has a default index
        raise FeedFormatError("no indicator column")
    for line_no, row in rows:
        if vi >= len(row) or not row[vi].strip():
            c.error(line_no, f"no indicator in column {vi + 1}")
            continue
        result = classify(row[vi].strip())
        if isinstance(result, str):
            c.error(line_no, result)
            continue
        confidence = clamp_confidence(row[ci], opts.confidence) if ci is not None and ci < len(row) else None
        threat = parse_threat_type(row[ti]) if ti is not None and ti < len(row) else None
        c.batch.add(result[0], result[1], confidence, threat)
    return c.finish()


def parse_csv(data: bytes, options: ParseOptions | None = None) -> ParseResult:
    """Generic CSV (see the module docstring). FeedFormatError when a named column is missing."""
    return _parse(
        data,
        options or ParseOptions(),
        value_names=("ip",),
        value_default=0,
        default_threat=ThreatType.OTHER,
        comment_header=False,
    )


def parse_feodo(data: bytes, options: ParseOptions | None = None) -> ParseResult:
    """abuse.ch Feodo Tracker botnet C2 CSV: the ``dst_ip`` column, threat type c2."""
    return _parse(
        data,
        options or ParseOptions(),
        value_names=("dst_ip", "dstip"),
        value_default=1,
        default_threat=ThreatType.C2,
        comment_header=True,
    )


def parse_urlhaus(data: bytes, options: ParseOptions | None = None) -> ParseResult:
    """abuse.ch URLhaus CSV dump: the ``url`` column, threat type malware."""
    return _parse(
        data,
        options or ParseOptions(),
        value_names=("url",),
        value_default=2,
        default_threat=ThreatType.MALWARE,
        comment_header=True,
    )
