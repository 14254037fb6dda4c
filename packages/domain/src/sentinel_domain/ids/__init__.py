"""IDS engine: YAML rules (contract §1.4/§1.5), a Suricata/Snort rule subset, thresholds, prefilter."""

from sentinel_domain.ids._sampling import Sampling, SamplingMode
from sentinel_domain.ids._signature import (
    Action,
    AddressSpec,
    ContentMatch,
    FlowCondition,
    PcreMatch,
    PortSpec,
    SignatureRule,
    SignatureSet,
    SkippedRule,
)
from sentinel_domain.ids._suricata import CLASSTYPES, parse_signatures
from sentinel_domain.ids._thresholds import ThresholdState
from sentinel_domain.ids.engine import IdsEngine, severity_for_priority, validate_rule_set
from sentinel_domain.ids.entity import (
    ANY_PORT,
    MAX_RULES,
    Component,
    FlowDirection,
    IdsAlert,
    IdsRule,
    PayloadEvent,
    PrefilterKey,
    RuleMode,
    Threshold,
    ThresholdType,
    TrackBy,
    direction_from_ports,
    parse_mode,
)
from sentinel_domain.ids.errors import IdsRuleError, SignatureError

__all__ = [
    "ANY_PORT",
    "CLASSTYPES",
    "MAX_RULES",
    "Action",
    "AddressSpec",
    "Component",
    "ContentMatch",
    "FlowCondition",
    "FlowDirection",
    "IdsAlert",
    "IdsEngine",
    "IdsRule",
    "IdsRuleError",
    "PayloadEvent",
    "PcreMatch",
    "PortSpec",
    "PrefilterKey",
    "RuleMode",
    "Sampling",
    "SamplingMode",
    "SignatureError",
    "SignatureRule",
    "SignatureSet",
    "SkippedRule",
    "Threshold",
    "ThresholdState",
    "ThresholdType",
    "TrackBy",
    "direction_from_ports",
    "parse_mode",
    "parse_signatures",
    "severity_for_priority",
    "validate_rule_set",
]
