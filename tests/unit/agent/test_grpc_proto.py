"""The committed gRPC stubs are what tools/gen_proto.sh generates from the proto (never stale), and
the proto carries the contract's package, service, messages and field numbers (§3)."""

import subprocess
import sys
from pathlib import Path

from google.protobuf.descriptor import FieldDescriptor

from sentinel_agent.grpc_api._generated import alerts_pb2

ROOT = Path(__file__).resolve().parents[3]
GENERATED = ROOT / "packages/agent/src/sentinel_agent/grpc_api/_generated"
STUBS = ("__init__.py", "alerts_pb2.py", "alerts_pb2.pyi", "alerts_pb2_grpc.py")

S, U32, U64, I32, F64, B = "string", "uint32", "uint64", "int32", "double", "bool"
ALERT_EVENT = [
    ("id", 1, S), ("timestamp_ns", 2, U64), ("component", 3, S), ("severity", 4, S),
    ("rule_id", 5, S), ("action", 6, S), ("src_addr", 7, "repeated uint32"),
    ("dst_addr", 8, "repeated uint32"), ("src_port", 9, U32), ("dst_port", 10, U32),
    ("protocol", 11, U32), ("message", 12, S), ("is_ipv6", 13, B), ("false_positive", 14, B),
    ("src_domain", 15, S), ("dst_domain", 16, S), ("src_domain_score", 17, F64),
    ("dst_domain_score", 18, F64), ("confidence", 19, I32), ("threat_type", 20, S),
    ("data_type", 21, S), ("pid", 22, U32), ("tgid", 23, U32), ("direction", 24, I32),
    ("matched_domain", 25, S), ("attack_type", 26, S), ("peak_pps", 27, U64),
    ("current_pps", 28, U64), ("mitigation_status", 29, S), ("total_packets", 30, U64),
    ("src_geo", 31, S), ("dst_geo", 32, S), ("mitre_technique_id", 33, S),
    ("mitre_technique_name", 34, S), ("mitre_tactic", 35, S), ("ja4_fingerprint", 36, S),
    ("container", 37, "ebpfsentinel.v1.ContainerIdentity"),
]  # fmt: skip
REQUEST = [("min_severity", 1, S), ("component", 2, S), ("mitre_tactic", 3, S), ("mitre_technique_id", 4, S)]
CONTAINER = [
    ("runtime", 1, S), ("id", 2, S), ("cgroup_path", 3, S), ("namespace", 4, S), ("pod", 5, S),
    ("container_name", 6, S),
]  # fmt: skip
_SCALARS = {
    FieldDescriptor.TYPE_STRING: S,
    FieldDescriptor.TYPE_UINT32: U32,
    FieldDescriptor.TYPE_UINT64: U64,
    FieldDescriptor.TYPE_INT32: I32,
    FieldDescriptor.TYPE_DOUBLE: F64,
    FieldDescriptor.TYPE_BOOL: B,
}


def _shape(message: str) -> list[tuple[str, int, str]]:
    out = []
    for field in alerts_pb2.DESCRIPTOR.message_types_by_name[message].fields:
        kind = field.message_type.full_name if field.message_type else _SCALARS[field.type]
        repeated = field.is_repeated
        out.append((field.name, field.number, f"repeated {kind}" if repeated else kind))
    return out


def test_committed_stubs_match_a_fresh_generation(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    subprocess.run(
        ["bash", str(ROOT / "tools/gen_proto.sh"), str(out)],
        check=True,
        env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    for name in STUBS[1:]:
        fresh, committed = (out / name).read_text(), (GENERATED / name).read_text()
        assert fresh == committed, f"{name} is stale: run tools/gen_proto.sh and commit the result"
    assert sorted(p.name for p in GENERATED.iterdir() if p.is_file()) == sorted(STUBS)


def test_proto_has_the_contract_package_service_and_field_numbers() -> None:
    descriptor = alerts_pb2.DESCRIPTOR
    assert (descriptor.name, descriptor.package) == ("ebpfsentinel/v1/alerts.proto", "ebpfsentinel.v1")
    service = descriptor.services_by_name["AlertStreamService"]
    method = service.methods_by_name["StreamAlerts"]
    assert [m.name for m in service.methods] == ["StreamAlerts"]
    assert (method.input_type.name, method.output_type.name) == ("StreamAlertsRequest", "AlertEvent")
    assert (method.client_streaming, method.server_streaming) == (False, True)
    assert _shape("AlertEvent") == ALERT_EVENT
    assert _shape("StreamAlertsRequest") == REQUEST
    assert _shape("ContainerIdentity") == CONTAINER
