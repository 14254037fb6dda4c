"""tc_threatintel and tc_dns: every struct and constant Python encodes or decodes equals the C
in the compiled objects (read from their BTF), as tests/architecture/test_abi_layout.py does for
xdp_firewall."""

import pytest
from test_abi_layout import btf_types, python_layout, struct_layout

from sentinel_adapters.ebpf import codec, codec_dns, threatintel_map


@pytest.mark.parametrize(
    ("program", "c_name", "py_fields", "py_size"),
    [
        ("tc_threatintel", "sentinel_packet_event", codec.PACKET_EVENT_FIELDS, codec.PACKET_EVENT.size),
        ("tc_threatintel", "sentinel_ti_value", threatintel_map.VALUE_FIELDS, threatintel_map.VALUE.size),
        ("tc_threatintel", "sentinel_ti_config", threatintel_map.CONFIG_FIELDS, threatintel_map.CONFIG.size),
        ("tc_dns", "sentinel_dns_event", codec_dns.DNS_EVENT_FIELDS, codec_dns.DNS_EVENT.size),
    ],
)
def test_codec_layout_matches_compiled_struct(
    program: str, c_name: str, py_fields: dict[str, tuple[int, str]], py_size: int
) -> None:
    size, c_fields = struct_layout(program, c_name)
    assert py_size == size
    assert python_layout(py_fields) == c_fields


def test_ioc_keys_are_the_address_wire_bytes() -> None:
    assert struct_layout("tc_threatintel", "sentinel_ti_key_v4") == (4, {"addr": (0, 4)})
    assert struct_layout("tc_threatintel", "sentinel_ti_key_v6") == (16, {"addr": (0, 16)})


def test_dns_record_tiers_are_the_header_plus_their_payload() -> None:
    sizes = {}
    for tier in ("small", "medium", "large"):
        size, fields = struct_layout("tc_dns", f"sentinel_dns_record_{tier}")
        assert fields["header"] == (0, codec_dns.DNS_EVENT.size)
        assert fields["payload"] == (codec_dns.DNS_EVENT.size, size - codec_dns.DNS_EVENT.size)
        sizes[size] = size - codec_dns.DNS_EVENT.size
    assert sizes == codec_dns.RECORD_TIERS


def enum_values(program: str, name: str) -> dict[str, int]:
    matches = [t for t in btf_types(program).values() if t["kind"] == "ENUM" and t.get("name") == name]
    assert matches, f"enum {name} is not in {program}'s BTF"
    return {v["name"]: v["val"] for v in matches[0]["values"]}


def slots(program: str, enum: str, prefix: str) -> list[str]:
    values = enum_values(program, enum)
    return [name.removeprefix(prefix).lower() for name, _ in sorted(values.items(), key=lambda kv: kv[1])]


def test_counter_names_follow_the_c_slot_order() -> None:
    ti = slots("tc_threatintel", "sentinel_ti_counter", "SENTINEL_TI_")
    assert ti[: len(threatintel_map.TI_COUNTERS)] == list(threatintel_map.TI_COUNTERS)
    assert ti[len(threatintel_map.TI_COUNTERS) :] == ["counter_slots"]
    dns = slots("tc_dns", "sentinel_dns_counter", "SENTINEL_DNS_")
    assert dns[: len(codec_dns.DNS_COUNTERS)] == list(codec_dns.DNS_COUNTERS)
    assert dns[len(codec_dns.DNS_COUNTERS) :] == ["counter_slots"]


def test_flag_direction_and_hook_constants_match() -> None:
    ti_flags = enum_values("tc_threatintel", "sentinel_ti_flag")
    assert (ti_flags["SENTINEL_TI_FLAG_BY_DST"], ti_flags["SENTINEL_TI_FLAG_SRC_HIT"]) == (
        threatintel_map.FLAG_BY_DST,
        threatintel_map.FLAG_SRC_HIT,
    )
    assert ti_flags["SENTINEL_TI_FLAG_DST_HIT"] == threatintel_map.FLAG_DST_HIT
    assert enum_values("tc_threatintel", "sentinel_event_type")["SENTINEL_EVENT_THREATINTEL"] == (
        threatintel_map.EVENT_THREATINTEL
    )
    dns = {
        **enum_values("tc_dns", "sentinel_dns_direction"),
        **enum_values("tc_dns", "sentinel_dns_hook"),
        **enum_values("tc_dns", "sentinel_dns_flag"),
    }
    assert (dns["SENTINEL_DNS_QUERY"], dns["SENTINEL_DNS_RESPONSE"]) == (
        codec_dns.DIRECTION_QUERY,
        codec_dns.DIRECTION_RESPONSE,
    )
    assert (dns["SENTINEL_DNS_INGRESS"], dns["SENTINEL_DNS_EGRESS"]) == (
        codec_dns.HOOK_INGRESS,
        codec_dns.HOOK_EGRESS,
    )
    assert dns["SENTINEL_DNS_FLAG_TRUNCATED"] == codec_dns.FLAG_TRUNCATED
    flags = enum_values("tc_dns", "sentinel_event_flag")
    assert (flags["SENTINEL_FLAG_IPV6"], flags["SENTINEL_FLAG_VLAN"], flags["SENTINEL_FLAG_TCP"]) == (
        codec_dns.FLAG_IPV6,
        codec_dns.FLAG_VLAN,
        codec_dns.FLAG_TCP,
    )


def test_sizes_and_caps_match() -> None:
    ti = enum_values("tc_threatintel", "sentinel_ti_limit")
    assert ti["SENTINEL_TI_MAX_IOCS"] == threatintel_map.MAX_IOCS
    dns = enum_values("tc_dns", "sentinel_dns_limit")
    assert (
        dns["SENTINEL_DNS_TIER_SMALL"],
        dns["SENTINEL_DNS_TIER_MEDIUM"],
        dns["SENTINEL_DNS_MAX_CAPTURE"],
    ) == (
        codec_dns.TIER_SMALL,
        codec_dns.TIER_MEDIUM,
        codec_dns.MAX_CAPTURE,
    )
