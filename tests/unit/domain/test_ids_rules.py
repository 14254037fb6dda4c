"""IDS/IPS rules in the contract's YAML form (§1.4, §1.5): parsing and validation errors."""

from typing import Any

import pytest

from sentinel_domain.common import Protocol, Severity
from sentinel_domain.ids import (
    Component,
    FlowDirection,
    IdsRule,
    IdsRuleError,
    RuleMode,
    Threshold,
    ThresholdType,
    TrackBy,
    direction_from_ports,
    parse_mode,
    validate_rule_set,
)


def rule(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "ssh-bf", "severity": "high", "protocol": "tcp", "dst_port": 22}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def test_full_rule_round_trips_every_field() -> None:
    parsed = IdsRule.from_dict(
        rule(
            description="SSH brute force",
            mode="enforce",
            src_port=1024,
            pattern="SSH-2\\.0-libssh",
            enabled=False,
            threshold={"type": "both", "count": 5, "window_secs": 60, "track_by": "dst_ip"},
            interfaces=["eth0"],
            unknown_future_key="ignored",
        )
    )
    assert parsed == IdsRule(
        id="ssh-bf",
        severity=Severity.HIGH,
        description="SSH brute force",
        mode=RuleMode.BLOCK,
        protocol=Protocol.TCP,
        dst_port=22,
        src_port=1024,
        pattern=b"SSH-2\\.0-libssh",
        enabled=False,
        threshold=Threshold(ThresholdType.BOTH, 5, 60, TrackBy.DST),
        interfaces=("eth0",),
    )
    assert parsed.rate_based


def test_defaults() -> None:
    parsed = IdsRule.from_dict({"id": "r1", "severity": "info", "dst_port": 80})
    assert (parsed.protocol, parsed.mode, parsed.enabled, parsed.threshold) == (
        Protocol.ANY,
        None,
        True,
        None,
    )
    assert parsed.severity is Severity.LOW and parsed.component is Component.IDS and not parsed.rate_based


def test_threshold_track_by_defaults_to_source() -> None:
    assert Threshold.from_dict({"type": "limit", "count": 1, "window_secs": 5}).track_by is TrackBy.SRC


def test_icmp_rules_may_use_port_zero() -> None:
    """Contract §12 item 10: the docs say "use 0 for ICMP"; we allow 0 for ICMP only."""
    assert IdsRule.from_dict(rule(protocol="icmp", dst_port=0)).dst_port == 0
    with pytest.raises(IdsRuleError, match="only allowed with protocol icmp"):
        IdsRule.from_dict(rule(protocol="tcp", dst_port=0))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param({"severity": "high", "dst_port": 1}, "id is required", id="missing-id"),
        pytest.param(rule(id="bad id!"), "invalid rule id", id="bad-id-charset"),
        pytest.param(rule(id=""), "invalid rule id", id="empty-id"),
        pytest.param(rule(severity=None), "severity is required", id="missing-severity"),
        pytest.param(rule(severity="urgent"), "'severity': expected one of", id="bad-severity"),
        pytest.param(rule(dst_port=None), "at least one of dst_port and src_port", id="no-port"),
        pytest.param(rule(dst_port=70000), "expected an integer 0-65535", id="port-too-big"),
        pytest.param(rule(dst_port="22"), "expected an integer", id="port-not-int"),
        pytest.param(rule(dst_port=True), "expected an integer", id="port-bool"),
        pytest.param(rule(protocol="sctp"), "'protocol': expected one of", id="bad-protocol"),
        pytest.param(rule(mode="maybe"), "'mode': expected one of", id="bad-mode"),
        pytest.param(rule(enabled="yes"), "enabled must be true or false", id="enabled-not-bool"),
        pytest.param(
            rule(protocol="udp", pattern="x"), "pattern needs protocol tcp or any", id="pattern-udp"
        ),
        pytest.param(rule(pattern=""), "pattern must be 1-4096 bytes", id="empty-pattern"),
        pytest.param(rule(pattern="a" * 4097), "pattern must be 1-4096 bytes", id="long-pattern"),
        pytest.param(rule(pattern=7), "pattern must be a string", id="pattern-not-str"),
        pytest.param(rule(description=3), "description must be a string", id="description-not-str"),
        pytest.param(rule(interfaces="eth0"), "interfaces must be a list", id="interfaces-not-list"),
        pytest.param(rule(threshold=5), "expected a mapping", id="threshold-not-mapping"),
        pytest.param(
            rule(threshold={"type": "often", "count": 1, "window_secs": 1}),
            "threshold.type",
            id="threshold-type",
        ),
        pytest.param(
            rule(threshold={"type": "limit", "count": 0, "window_secs": 1}),
            "threshold.count",
            id="count-zero",
        ),
        pytest.param(
            rule(threshold={"type": "limit", "count": 1, "window_secs": 0}), "window_secs", id="window-zero"
        ),
        pytest.param(
            rule(threshold={"type": "limit", "count": 1, "window_secs": 1, "track_by": "port"}),
            "threshold.track_by",
            id="track-by",
        ),
        pytest.param(rule(domain_pattern="*.evil"), "'domain_pattern' is not supported", id="domain-pattern"),
        pytest.param(rule(country_thresholds={"RU": {}}), "'country_thresholds' is not", id="country"),
        pytest.param(rule(tenant_id=3), "tenant_id must be 0", id="tenant"),
    ],
)
def test_invalid_rules_are_rejected_with_the_field(data: dict[str, Any], message: str) -> None:
    with pytest.raises(IdsRuleError, match=message):
        IdsRule.from_dict(data)


def test_ips_rules_have_the_ids_schema_minus_src_port_and_interfaces() -> None:
    ips = IdsRule.from_dict(rule(id="ips-1"), Component.IPS)
    assert ips.component is Component.IPS
    with pytest.raises(IdsRuleError, match="IPS rules have no src_port"):
        IdsRule.from_dict(rule(src_port=5), Component.IPS)
    with pytest.raises(IdsRuleError, match="IPS rules have no interfaces"):
        IdsRule.from_dict(rule(interfaces=["eth0"]), Component.IPS)


def test_rule_sets_reject_duplicates_wrong_component_and_oversize() -> None:
    one = IdsRule.from_dict(rule())
    validate_rule_set([one], Component.IDS)
    with pytest.raises(IdsRuleError, match="duplicate rule id 'ssh-bf'"):
        validate_rule_set([one, one], Component.IDS)
    with pytest.raises(IdsRuleError, match="is a ids rule, not ips"):
        validate_rule_set([one], Component.IPS)
    many = [IdsRule(f"r{i}", Severity.LOW, dst_port=1) for i in range(50_001)]
    with pytest.raises(IdsRuleError, match="too many ids rules: 50001"):
        validate_rule_set(many, Component.IDS)


@pytest.mark.parametrize(
    ("text", "mode"),
    [("alert", RuleMode.ALERT), ("Monitor", RuleMode.ALERT), ("observe", RuleMode.ALERT),
     ("BLOCK", RuleMode.BLOCK), ("enforce", RuleMode.BLOCK)],
)  # fmt: skip
def test_mode_vocabulary(text: str, mode: RuleMode) -> None:
    assert parse_mode(text) is mode


@pytest.mark.parametrize(
    ("src", "dst", "direction"),
    [
        (51000, 443, FlowDirection.TO_SERVER),
        (22, 51000, FlowDirection.TO_CLIENT),
        (5000, 6000, FlowDirection.UNKNOWN),
        (53, 80, FlowDirection.UNKNOWN),
        (None, 80, FlowDirection.UNKNOWN),
    ],
)
def test_direction_heuristic(src: int | None, dst: int | None, direction: FlowDirection) -> None:
    assert direction_from_ports(src, dst) is direction
