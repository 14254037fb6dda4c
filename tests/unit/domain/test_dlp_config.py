"""``dlp`` configuration: custom patterns merged by id over the built-ins, and their validation."""

import pytest

from sentinel_domain.common.severity import Severity
from sentinel_domain.dlp import (
    BUILTIN_PATTERNS,
    DlpConfigError,
    DlpEngine,
    DlpMode,
    merge_patterns,
    parse_dlp_mode,
)
from sentinel_testkit.fakes.reference_matcher import ReferenceMatcher

CUSTOM = {
    "id": "dlp-pii-passport",
    "name": "Passport Number",
    "regex": r"\b[A-Z][0-9]{8}\b",
    "severity": "high",
    "data_type": "pii",
    "description": "demo",
}


def by_id(patterns):
    return {p.id: p for p in patterns}


def test_no_entries_gives_the_builtins():
    assert merge_patterns([]) == list(BUILTIN_PATTERNS)


def test_custom_pattern_is_appended():
    merged = merge_patterns([CUSTOM])
    assert [p.id for p in merged][: len(BUILTIN_PATTERNS)] == [p.id for p in BUILTIN_PATTERNS]
    custom = merged[-1]
    assert (custom.id, custom.severity, custom.data_type, custom.validator, custom.builtin) == (
        "dlp-pii-passport",
        Severity.HIGH,
        "pii",
        None,
        False,
    )
    engine = DlpEngine(merged, ReferenceMatcher())
    assert [f.pattern_id for f in engine.scan(b"passport X12345678 ok")] == ["dlp-pii-passport"]


def test_builtin_override_keeps_validator_unless_regex_changes():
    merged = by_id(merge_patterns([{"id": "dlp-pci-visa", "severity": "medium", "name": "Visa"}]))
    visa = merged["dlp-pci-visa"]
    assert (visa.severity, visa.name, visa.validator, visa.regex) == (
        Severity.MEDIUM,
        "Visa",
        "visa",
        r"\b4[0-9]{12}(?:[0-9]{3})?\b",
    )
    replaced = by_id(merge_patterns([{"id": "dlp-pci-visa", "regex": r"\b4[0-9]{15}\b"}]))["dlp-pci-visa"]
    assert replaced.validator is None and not replaced.builtin


def test_disabling_a_builtin():
    merged = by_id(merge_patterns([{"id": "dlp-pii-email", "enabled": False}]))
    assert not merged["dlp-pii-email"].enabled
    assert len(merged) == len(BUILTIN_PATTERNS)


@pytest.mark.parametrize(
    ("entry", "field", "message"),
    [
        pytest.param({**CUSTOM, "id": "custom-x"}, "dlp.patterns[0].id", "must start with", id="id-prefix"),
        pytest.param(
            {**CUSTOM, "id": "dlp-pii-"}, "dlp.patterns[0].id", "must start with", id="id-prefix-only"
        ),
        pytest.param(
            {k: v for k, v in CUSTOM.items() if k != "id"}, "dlp.patterns[0].id", "missing", id="no-id"
        ),
        pytest.param(
            {k: v for k, v in CUSTOM.items() if k != "regex"},
            "dlp.patterns[0].regex",
            "missing",
            id="no-regex",
        ),
        pytest.param({**CUSTOM, "name": "  "}, "dlp.patterns[0].name", "non-empty", id="blank-name"),
        pytest.param(
            {**CUSTOM, "regex": "a" * 4097},
            "dlp.patterns[0].regex",
            r"4097 bytes \(maximum 4096\)",
            id="regex-too-long",
        ),
        pytest.param({**CUSTOM, "severity": "severe"}, "dlp.patterns[0].severity", "severe", id="severity"),
        pytest.param({**CUSTOM, "mode": "block"}, "dlp.patterns[0].mode", "only alert", id="mode-block"),
        pytest.param(
            {**CUSTOM, "enabled": "yes"}, "dlp.patterns[0]", "expected true or false", id="enabled-type"
        ),
        pytest.param(
            {**CUSTOM, "colour": "red"}, "dlp.patterns[0]", "unknown field 'colour'", id="unknown-key"
        ),
        pytest.param(
            {**CUSTOM, "data_type": 3}, "dlp.patterns[0].data_type", "non-empty string", id="data-type"
        ),
    ],
)
def test_invalid_entries_name_field_and_value(entry, field, message):
    with pytest.raises(DlpConfigError, match=message) as info:
        merge_patterns([entry])
    assert info.value.field == field


def test_regex_of_exactly_4096_bytes_is_accepted():
    merged = merge_patterns([{**CUSTOM, "regex": "a" * 4096}])
    assert len(merged[-1].regex) == 4096


def test_duplicate_custom_ids():
    with pytest.raises(DlpConfigError, match="duplicate pattern id 'dlp-pii-passport'") as info:
        merge_patterns([CUSTOM, CUSTOM])
    assert info.value.field == "dlp.patterns[1].id"


@pytest.mark.parametrize(
    ("value", "ok"), [("alert", True), (" ALERT ", True), ("block", False), ("enforce", False)]
)
def test_mode(value, ok):
    if ok:
        assert parse_dlp_mode(value) is DlpMode.ALERT
    else:
        with pytest.raises(DlpConfigError, match="only alert"):
            parse_dlp_mode(value)
