"""The payload codecs' layouts equal the C structs and enums compiled into tc_ids and uprobe_dlp.

Same check as test_abi_layout.py (BTF of the built objects vs codec_payload), plus the counter
enums, so a slot added in C without its Python name (or the reverse) fails here.
"""

import struct

import pytest
from test_abi_layout import btf_types, python_layout, struct_layout

from sentinel_adapters.ebpf import codec_payload as cp

STRUCTS = [
    ("tc_ids", "sentinel_ids_event", cp.IDS_EVENT_FIELDS, cp.IDS_EVENT),
    ("tc_ids", "sentinel_ids_key", cp.IDS_KEY_FIELDS, cp.IDS_KEY),
    ("tc_ids", "sentinel_ids_filter", cp.IDS_FILTER_FIELDS, cp.IDS_FILTER),
    ("tc_ids", "sentinel_ids_config", cp.IDS_CONFIG_FIELDS, cp.IDS_CONFIG),
    ("uprobe_dlp", "sentinel_dlp_event", cp.DLP_EVENT_FIELDS, cp.DLP_EVENT),
    ("uprobe_dlp", "sentinel_dlp_config", cp.DLP_CONFIG_FIELDS, cp.DLP_CONFIG),
]


@pytest.mark.parametrize(
    ("program", "c_name", "py_fields", "py_struct"), STRUCTS, ids=[s[1] for s in STRUCTS]
)
def test_codec_layout_matches_compiled_struct(
    program: str, c_name: str, py_fields: dict[str, tuple[int, str]], py_struct: struct.Struct
) -> None:
    size, c_fields = struct_layout(program, c_name)
    assert py_struct.size == size
    assert python_layout(py_fields) == c_fields


def enum_values(program: str, name: str) -> dict[str, int]:
    matches = [t for t in btf_types(program).values() if t["kind"] == "ENUM" and t.get("name") == name]
    assert matches, f"enum {name} is not in {program}'s BTF"
    return {v["name"]: v["val"] for v in matches[0]["values"]}


@pytest.mark.parametrize(
    ("program", "enum", "prefix", "names"),
    [
        ("tc_ids", "sentinel_ids_counter", "SENTINEL_IDS_", cp.IDS_COUNTERS),
        ("uprobe_dlp", "sentinel_dlp_counter", "SENTINEL_DLP_", cp.DLP_COUNTERS),
    ],
)
def test_counter_names_match_the_kernel_slots(
    program: str, enum: str, prefix: str, names: tuple[str, ...]
) -> None:
    values = enum_values(program, enum)
    slots = values.pop(f"{prefix}COUNTER_SLOTS")
    assert {name.removeprefix(prefix).lower(): v for name, v in values.items()} == {
        name: slot for slot, name in enumerate(names)
    }
    assert len(names) <= slots


def test_payload_caps_match_the_headers() -> None:
    ids = {t["name"]: t for t in btf_types("tc_ids").values() if t["kind"] == "STRUCT"}
    dlp = {t["name"]: t for t in btf_types("uprobe_dlp").values() if t["kind"] == "STRUCT"}
    # the scratch records are header + the largest payload one event can carry
    assert ids["ids_record"]["size"] == cp.IDS_EVENT.size + cp.IDS_CAPTURE_MAX
    assert dlp["dlp_record"]["size"] == cp.DLP_EVENT.size + cp.DLP_CAPTURE_MAX
