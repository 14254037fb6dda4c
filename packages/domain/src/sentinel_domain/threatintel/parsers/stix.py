"""STIX 2.1 bundles (contract §7.6; OASIS STIX 2.1 §4.6 Indicator, §9 Patterning).

- The document must be ``{"type": "bundle", "objects": [...]}``.
- ``indicator`` objects: skipped (not an error) when ``revoked`` is true, when ``pattern_type`` is
  present and not ``stix``, or when ``valid_until`` is before ``now``. ``confidence`` (clamped
  0-100, default 100); the threat type is the first known value of ``indicator_types``
  (``malicious-activity``/``malware`` → malware, ``command-and-control``/``botnet`` → c2,
  ``compromised``/``anomalous-activity`` → scanner, ``unwanted`` → spam), overridden by an
  ``indicates`` relationship to a ``malware`` (malware), ``attack-pattern`` (scanner) or
  ``threat-actor`` (c2). ``valid_until`` becomes the IOC's expiry.
- The ``pattern`` is scanned for comparisons ``<type>:value = '<literal>'`` (and ``ISSUBSET``
  for addresses) with ``<type>`` one of ``ipv4-addr``, ``ipv6-addr``, ``domain-name``, ``url``,
  in any AND/OR compound; STIX string literals escape ``\\'`` and ``\\\\`` (§9.3). Each literal
  must be a valid indicator of its type, else the object is an error.
- Indicators whose pattern compares no supported object (file hashes...) are skipped.
- Observable objects (SCOs) ``ipv4-addr``, ``ipv6-addr``, ``domain-name``, ``url`` with a
  ``value`` are taken with confidence 50 and threat type ``other``.

``line_no`` in errors is the 1-based index of the object in ``objects``.
"""

import re
from datetime import UTC, datetime

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
from sentinel_domain.threatintel.entity import ParseOptions, ParseResult, ThreatType
from sentinel_domain.threatintel.errors import FeedFormatError
from sentinel_domain.threatintel.parsers._common import (
    Collector,
    bad_text,
    check_size,
    clamp_confidence,
    decode_text,
    loads_json,
)

SCO_CONFIDENCE = 50
_COMPARISON = re.compile(
    r"(ipv4-addr|ipv6-addr|domain-name|url):value\s*(=|ISSUBSET)\s*'((?:[^'\\]|\\.)*)'", re.IGNORECASE
)
_INDICATOR_TYPES = {
    "malicious-activity": ThreatType.MALWARE,
    "malware": ThreatType.MALWARE,
    "command-and-control": ThreatType.C2,
    "botnet": ThreatType.C2,
    "compromised": ThreatType.SCANNER,
    "anomalous-activity": ThreatType.SCANNER,
    "unwanted": ThreatType.SPAM,
}
_TARGET_TYPES = {
    "malware": ThreatType.MALWARE,
    "attack-pattern": ThreatType.SCANNER,
    "threat-actor": ThreatType.C2,
}
_ADDRESS_CODES = {"ipv4-addr": (V4_HOST, V4_NET), "ipv6-addr": (V6_HOST, V6_NET)}

Indicator = tuple[int, str]


def parse_timestamp(value: object) -> float | None:
    """RFC 3339 timestamp → epoch seconds (naive = UTC); None when not a valid timestamp."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _literal(kind: str, text: str) -> Indicator | str:
    """One comparison literal checked against its object type."""
    bad = bad_text(text)
    if bad is not None:
        return bad
    if kind in _ADDRESS_CODES:
        result = classify_cidr(text) if "/" in text else classify(text)
        if isinstance(result, tuple) and result[0] not in _ADDRESS_CODES[kind]:
            return f"'{text[:64]}' is not an {kind} value"
        return result
    if kind == "domain-name":
        domain = normalize_domain(text)
        return (DOMAIN, domain) if domain is not None else f"invalid domain-name '{text[:64]}'"
    url = normalize_url(text)
    return (URL, url) if url is not None else f"invalid url '{text[:64]}'"


def pattern_indicators(pattern: str) -> list[Indicator | str]:
    """Every supported equality comparison of a STIX pattern, as indicators or error strings."""
    out: list[Indicator | str] = []
    for kind, _op, raw in _COMPARISON.findall(pattern):
        literal = raw.replace("\\'", "'").replace("\\\\", "\\")
        out.append(_literal(kind.lower(), literal))
    return out


def _relationship_types(objects: list[object]) -> dict[str, ThreatType]:
    types: dict[str, ThreatType] = {}
    for obj in objects:
        if not isinstance(obj, dict) or obj.get("type") != "relationship":
            continue
        if obj.get("relationship_type") != "indicates":
            continue
        source, target = obj.get("source_ref"), obj.get("target_ref")
        if isinstance(source, str) and isinstance(target, str):
            threat = _TARGET_TYPES.get(target.split("--", 1)[0])
            if threat is not None:
                types.setdefault(source, threat)
    return types


def _indicator_threat(obj: dict[str, object]) -> ThreatType | None:
    types = obj.get("indicator_types")
    if isinstance(types, list):
        for name in types:
            if isinstance(name, str) and name.lower() in _INDICATOR_TYPES:
                return _INDICATOR_TYPES[name.lower()]
    return None


def _indicator(c: Collector, index: int, obj: dict[str, object], overrides: dict[str, ThreatType]) -> None:
    opts = c.options
    if obj.get("revoked") is True or obj.get("pattern_type", "stix") != "stix":
        c.skipped += 1
        return
    expires: float | None = None
    if obj.get("valid_until") is not None:
        expires = parse_timestamp(obj.get("valid_until"))
        if expires is None:
            c.error(index, f"invalid valid_until '{str(obj.get('valid_until'))[:64]}'")
            return
        if opts.now is not None and expires < opts.now:
            c.skipped += 1
            return
    pattern = obj.get("pattern")
    if not isinstance(pattern, str):
        c.error(index, "indicator has no string 'pattern'")
        return
    found = pattern_indicators(pattern)
    if not found:
        if "[" in pattern and "]" in pattern:  # a pattern over other objects (files, processes...)
            c.skipped += 1
        else:
            c.error(index, "pattern is not a STIX pattern")
        return
    obj_id = obj.get("id")
    threat = overrides.get(obj_id) if isinstance(obj_id, str) else None
    threat = threat if threat is not None else _indicator_threat(obj)
    confidence = clamp_confidence(obj.get("confidence"), opts.confidence)
    errors = [f for f in found if isinstance(f, str)]
    for item in found:
        if not isinstance(item, str):
            c.batch.add(item[0], item[1], confidence, threat, expires)
    if errors:
        c.error(index, errors[0])


def parse_stix(data: bytes, options: ParseOptions | None = None) -> ParseResult:
    """Parse a STIX 2.1 bundle (see the module docstring). FeedFormatError when the document is
    not JSON or not a bundle with an ``objects`` array."""
    opts = options or ParseOptions()
    check_size(data, opts)
    doc = loads_json(decode_text(data), f"feed '{opts.feed_id}'")
    if not isinstance(doc, dict) or doc.get("type") != "bundle" or not isinstance(doc.get("objects"), list):
        raise FeedFormatError(
            f"feed '{opts.feed_id}': not a STIX bundle (type 'bundle' with an 'objects' array)"
        )
    objects: list[object] = doc["objects"]
    overrides = _relationship_types(objects)
    c = Collector(opts)
    c.total = len(objects)
    for index, obj in enumerate(objects, 1):
        if not isinstance(obj, dict):
            c.error(index, "object is not a JSON object")
            continue
        kind = obj.get("type")
        if kind == "indicator":
            _indicator(c, index, obj, overrides)
        elif kind in ("ipv4-addr", "ipv6-addr", "domain-name", "url"):
            value = obj.get("value")
            result = (
                _literal(kind, value.strip()) if isinstance(value, str) else f"{kind} object has no value"
            )
            if isinstance(result, str):
                c.error(index, result)
            else:
                c.batch.add(result[0], result[1], SCO_CONFIDENCE, ThreatType.OTHER)
    return c.finish()
