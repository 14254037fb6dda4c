from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StreamAlertsRequest(_message.Message):
    __slots__ = ("min_severity", "component", "mitre_tactic", "mitre_technique_id")
    MIN_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_FIELD_NUMBER: _ClassVar[int]
    MITRE_TACTIC_FIELD_NUMBER: _ClassVar[int]
    MITRE_TECHNIQUE_ID_FIELD_NUMBER: _ClassVar[int]
    min_severity: str
    component: str
    mitre_tactic: str
    mitre_technique_id: str
    def __init__(self, min_severity: _Optional[str] = ..., component: _Optional[str] = ..., mitre_tactic: _Optional[str] = ..., mitre_technique_id: _Optional[str] = ...) -> None: ...

class AlertEvent(_message.Message):
    __slots__ = ("id", "timestamp_ns", "component", "severity", "rule_id", "action", "src_addr", "dst_addr", "src_port", "dst_port", "protocol", "message", "is_ipv6", "false_positive", "src_domain", "dst_domain", "src_domain_score", "dst_domain_score", "confidence", "threat_type", "data_type", "pid", "tgid", "direction", "matched_domain", "attack_type", "peak_pps", "current_pps", "mitigation_status", "total_packets", "src_geo", "dst_geo", "mitre_technique_id", "mitre_technique_name", "mitre_tactic", "ja4_fingerprint", "container")
    ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_NS_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    SRC_ADDR_FIELD_NUMBER: _ClassVar[int]
    DST_ADDR_FIELD_NUMBER: _ClassVar[int]
    SRC_PORT_FIELD_NUMBER: _ClassVar[int]
    DST_PORT_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    IS_IPV6_FIELD_NUMBER: _ClassVar[int]
    FALSE_POSITIVE_FIELD_NUMBER: _ClassVar[int]
    SRC_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    DST_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    SRC_DOMAIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    DST_DOMAIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    THREAT_TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_TYPE_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    TGID_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    MATCHED_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    ATTACK_TYPE_FIELD_NUMBER: _ClassVar[int]
    PEAK_PPS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PPS_FIELD_NUMBER: _ClassVar[int]
    MITIGATION_STATUS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PACKETS_FIELD_NUMBER: _ClassVar[int]
    SRC_GEO_FIELD_NUMBER: _ClassVar[int]
    DST_GEO_FIELD_NUMBER: _ClassVar[int]
    MITRE_TECHNIQUE_ID_FIELD_NUMBER: _ClassVar[int]
    MITRE_TECHNIQUE_NAME_FIELD_NUMBER: _ClassVar[int]
    MITRE_TACTIC_FIELD_NUMBER: _ClassVar[int]
    JA4_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    id: str
    timestamp_ns: int
    component: str
    severity: str
    rule_id: str
    action: str
    src_addr: _containers.RepeatedScalarFieldContainer[int]
    dst_addr: _containers.RepeatedScalarFieldContainer[int]
    src_port: int
    dst_port: int
    protocol: int
    message: str
    is_ipv6: bool
    false_positive: bool
    src_domain: str
    dst_domain: str
    src_domain_score: float
    dst_domain_score: float
    confidence: int
    threat_type: str
    data_type: str
    pid: int
    tgid: int
    direction: int
    matched_domain: str
    attack_type: str
    peak_pps: int
    current_pps: int
    mitigation_status: str
    total_packets: int
    src_geo: str
    dst_geo: str
    mitre_technique_id: str
    mitre_technique_name: str
    mitre_tactic: str
    ja4_fingerprint: str
    container: ContainerIdentity
    def __init__(self, id: _Optional[str] = ..., timestamp_ns: _Optional[int] = ..., component: _Optional[str] = ..., severity: _Optional[str] = ..., rule_id: _Optional[str] = ..., action: _Optional[str] = ..., src_addr: _Optional[_Iterable[int]] = ..., dst_addr: _Optional[_Iterable[int]] = ..., src_port: _Optional[int] = ..., dst_port: _Optional[int] = ..., protocol: _Optional[int] = ..., message: _Optional[str] = ..., is_ipv6: _Optional[bool] = ..., false_positive: _Optional[bool] = ..., src_domain: _Optional[str] = ..., dst_domain: _Optional[str] = ..., src_domain_score: _Optional[float] = ..., dst_domain_score: _Optional[float] = ..., confidence: _Optional[int] = ..., threat_type: _Optional[str] = ..., data_type: _Optional[str] = ..., pid: _Optional[int] = ..., tgid: _Optional[int] = ..., direction: _Optional[int] = ..., matched_domain: _Optional[str] = ..., attack_type: _Optional[str] = ..., peak_pps: _Optional[int] = ..., current_pps: _Optional[int] = ..., mitigation_status: _Optional[str] = ..., total_packets: _Optional[int] = ..., src_geo: _Optional[str] = ..., dst_geo: _Optional[str] = ..., mitre_technique_id: _Optional[str] = ..., mitre_technique_name: _Optional[str] = ..., mitre_tactic: _Optional[str] = ..., ja4_fingerprint: _Optional[str] = ..., container: _Optional[_Union[ContainerIdentity, _Mapping]] = ...) -> None: ...

class ContainerIdentity(_message.Message):
    __slots__ = ("runtime", "id", "cgroup_path", "namespace", "pod", "container_name")
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    CGROUP_PATH_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    POD_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_NAME_FIELD_NUMBER: _ClassVar[int]
    runtime: str
    id: str
    cgroup_path: str
    namespace: str
    pod: str
    container_name: str
    def __init__(self, runtime: _Optional[str] = ..., id: _Optional[str] = ..., cgroup_path: _Optional[str] = ..., namespace: _Optional[str] = ..., pod: _Optional[str] = ..., container_name: _Optional[str] = ...) -> None: ...
