"""The Python codec's layouts equal the C structs in the compiled objects (read from their BTF).

The headers in bpf/include/sentinel/ are the one source of truth; this test is what keeps the
codec's copy honest (the same idea as Cilium's alignchecker).
"""

import json
import struct
import subprocess
from functools import cache

import pytest

from sentinel_adapters.ebpf import addr_trie, codec
from sentinel_adapters.ebpf.loader import object_path


@cache
def btf_types(program: str) -> dict[int, dict]:
    out = subprocess.run(
        ["bpftool", "btf", "dump", "file", str(object_path(program)), "-j"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {t["id"]: t for t in json.loads(out)["types"]}


def type_size(types: dict[int, dict], type_id: int) -> int:
    t = types[type_id]
    kind = t["kind"]
    if kind in ("TYPEDEF", "VOLATILE", "CONST"):
        return type_size(types, t["type_id"])
    if kind == "ARRAY":
        return t["nr_elems"] * type_size(types, t["type_id"])
    return int(t["size"])


def struct_layout(program: str, name: str) -> tuple[int, dict[str, tuple[int, int]]]:
    types = btf_types(program)
    matches = [t for t in types.values() if t["kind"] == "STRUCT" and t.get("name") == name]
    assert matches, f"struct {name} is not in {program}'s BTF"
    t = matches[0]
    fields = {m["name"]: (m["bits_offset"] // 8, type_size(types, m["type_id"])) for m in t["members"]}
    return t["size"], fields


def python_layout(fields: dict[str, tuple[int, str]]) -> dict[str, tuple[int, int]]:
    return {name: (offset, struct.calcsize("<" + code)) for name, (offset, code) in fields.items()}


@pytest.mark.parametrize(
    ("program", "c_name", "py_fields", "py_struct"),
    [
        ("xdp_firewall", "sentinel_packet_event", codec.PACKET_EVENT_FIELDS, codec.PACKET_EVENT),
        ("xdp_firewall", "sentinel_xdp_meta", codec.XDP_META_FIELDS, codec.XDP_META),
        ("xdp_firewall", "sentinel_addr_chunk", addr_trie.CHUNK_HEADER_FIELDS, addr_trie.CHUNK_HEADER),
    ],
)
def test_codec_layout_matches_compiled_struct(program, c_name, py_fields, py_struct) -> None:
    size, c_fields = struct_layout(program, c_name)
    assert py_struct.size == size
    assert python_layout(py_fields) == c_fields


def test_packet_event_is_the_56_byte_core() -> None:
    assert struct_layout("xdp_firewall", "sentinel_packet_event")[0] == 56
