"""``dlp`` configuration: the mode and custom patterns merged by id over the built-ins (§1.6)."""

from collections.abc import Mapping, Sequence

from sentinel_domain.common.errors import ValidationError
from sentinel_domain.common.matching import MAX_PATTERN_LENGTH
from sentinel_domain.common.severity import Severity, parse_severity
from sentinel_domain.dlp._builtins import BUILTIN_PATTERNS
from sentinel_domain.dlp.entity import DlpMode, DlpPattern
from sentinel_domain.dlp.errors import DlpConfigError

ALLOWED_ID_PREFIXES = ("dlp-pci-", "dlp-pii-", "dlp-cred-")
MAX_ID_LENGTH = 128
MAX_DATA_TYPE_LENGTH = 64
PATTERN_KEYS = ("id", "name", "regex", "severity", "data_type", "mode", "description", "enabled")
_REQUIRED = ("name", "regex", "severity", "data_type")


def parse_dlp_mode(value: object, field: str = "dlp.mode") -> DlpMode:
    """``alert``; ``block``/``enforce`` are rejected (DLP observes TLS writes and cannot block)."""
    if isinstance(value, DlpMode):
        return value
    text = value.strip().lower() if isinstance(value, str) else value
    if text == "alert":
        return DlpMode.ALERT
    if text in ("block", "enforce"):
        raise DlpConfigError(f"invalid value '{value}' for field 'mode': DLP supports only alert", field)
    raise DlpConfigError(f"invalid value '{value}' for field 'mode': expected alert", field)


def _text(entry: Mapping[str, object], key: str, field: str, *, limit: int | None = None) -> str:
    value = entry[key]
    if not isinstance(value, str) or not value.strip():
        raise DlpConfigError(f"invalid value '{value}' for field '{key}': expected a non-empty string", field)
    if limit is not None and len(value) > limit:
        raise DlpConfigError(f"field '{key}' is {len(value)} characters (maximum {limit})", field)
    return value.strip() if key != "regex" else value


def _pattern_id(entry: Mapping[str, object], prefix: str) -> str:
    if "id" not in entry:
        raise DlpConfigError("missing required field 'id'", f"{prefix}.id")
    pattern_id = _text(entry, "id", f"{prefix}.id", limit=MAX_ID_LENGTH)
    if not pattern_id.startswith(ALLOWED_ID_PREFIXES) or pattern_id in ALLOWED_ID_PREFIXES:
        raise DlpConfigError(
            f"invalid pattern id '{pattern_id}': must start with {', '.join(ALLOWED_ID_PREFIXES)}",
            f"{prefix}.id",
        )
    return pattern_id


def parse_pattern(entry: Mapping[str, object], prefix: str, base: DlpPattern | None = None) -> DlpPattern:
    """One ``dlp.patterns[]`` entry; ``base`` is the built-in it overrides (its values fill gaps).

    A new id needs ``name``, ``regex``, ``severity`` and ``data_type``. Overriding a built-in
    with a different ``regex`` drops the built-in validator: the custom regex is reported as-is.
    """
    if not isinstance(entry, Mapping):
        raise DlpConfigError(f"invalid pattern '{entry}': expected a mapping", prefix)
    unknown = sorted(str(key) for key in entry if key not in PATTERN_KEYS)
    if unknown:
        raise DlpConfigError(f"unknown field '{unknown[0]}': allowed {', '.join(PATTERN_KEYS)}", prefix)
    pattern_id = _pattern_id(entry, prefix)
    if base is None:
        for key in _REQUIRED:
            if key not in entry:
                raise DlpConfigError(
                    f"missing required field '{key}' for pattern '{pattern_id}'", f"{prefix}.{key}"
                )
    name = _text(entry, "name", f"{prefix}.name", limit=256) if "name" in entry else _base(base).name
    regex = _base(base).regex
    if "regex" in entry:
        regex = _text(entry, "regex", f"{prefix}.regex")
        size = len(regex.encode("utf-8"))
        if size > MAX_PATTERN_LENGTH:
            raise DlpConfigError(
                f"regex of pattern '{pattern_id}' is {size} bytes (maximum {MAX_PATTERN_LENGTH})",
                f"{prefix}.regex",
            )
    severity: Severity = _base(base).severity
    if "severity" in entry:
        try:
            severity = parse_severity(entry["severity"])
        except ValidationError as exc:
            raise DlpConfigError(str(exc), f"{prefix}.severity") from None
    data_type = _base(base).data_type
    if "data_type" in entry:
        data_type = _text(entry, "data_type", f"{prefix}.data_type", limit=MAX_DATA_TYPE_LENGTH).lower()
    mode = parse_dlp_mode(entry["mode"], f"{prefix}.mode") if "mode" in entry else DlpMode.ALERT
    description = _base(base).description
    if "description" in entry:
        if not isinstance(entry["description"], str):
            raise DlpConfigError("field 'description' must be a string", f"{prefix}.description")
        description = entry["description"]
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise DlpConfigError(f"invalid value '{enabled}' for field 'enabled': expected true or false", prefix)
    same_regex = base is not None and regex == base.regex
    return DlpPattern(
        id=pattern_id,
        name=name,
        regex=regex,
        severity=severity,
        data_type=data_type,
        mode=mode,
        description=description,
        enabled=enabled,
        validator=base.validator if base is not None and same_regex else None,
        supersedes=base.supersedes if base is not None and same_regex else (),
        builtin=base is not None and same_regex,
    )


_EMPTY = DlpPattern(id="", name="", regex="", severity=Severity.LOW, data_type="")


def _base(base: DlpPattern | None) -> DlpPattern:
    return base if base is not None else _EMPTY


def merge_patterns(
    entries: Sequence[Mapping[str, object]], builtins: Sequence[DlpPattern] = BUILTIN_PATTERNS
) -> list[DlpPattern]:
    """Built-ins (an entry with a built-in id replaces it in place) followed by new patterns.

    Disabled patterns stay in the list with ``enabled=False``. Raises DlpConfigError naming the
    field (``dlp.patterns[i].<key>``) for the first invalid entry or a duplicate id.
    """
    by_id = {pattern.id: pattern for pattern in builtins}
    merged = dict(by_id)
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        prefix = f"dlp.patterns[{index}]"
        pattern = parse_pattern(
            entry, prefix, by_id.get(str(entry.get("id", ""))) if isinstance(entry, Mapping) else None
        )
        if pattern.id in seen:
            raise DlpConfigError(f"duplicate pattern id '{pattern.id}'", f"{prefix}.id")
        seen.add(pattern.id)
        merged[pattern.id] = pattern
    return list(merged.values())
