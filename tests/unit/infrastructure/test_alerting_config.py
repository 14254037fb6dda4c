"""The ``alerting`` section: contract defaults, our additions, and located validation errors."""

from pathlib import Path
from typing import Any

import msgspec
import pytest
from ruamel.yaml import YAML

from sentinel_infrastructure.config.alerting import (
    AlertingSection,
    RouteSection,
    SmtpSection,
    alerting_issues,
    email_recipients,
    masked_alerting,
    smtp_tls_mode,
)

FIXTURES = Path(__file__).resolve().parents[2] / "integration" / "fixtures" / "alerting"


def load(text: str) -> tuple[AlertingSection, Any]:
    """Parse like the loader does: round-trip YAML (positions kept), then strict msgspec."""
    tree = YAML(typ="rt").load(text)
    section = msgspec.convert(_plain(tree.get("alerting") or {}), AlertingSection, strict=True)
    return section, tree


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def line_of(tree: Any, path: list[str | int]) -> int:
    """1-based line of the deepest node of ``alerting.<path>`` (what the loader reports)."""
    node, line = tree, 0
    for part in ["alerting", *path]:
        if isinstance(part, str) and hasattr(node, "lc") and part in node:
            line = node.lc.key(part)[0] + 1
        elif isinstance(part, int) and isinstance(node, list) and part < len(node):
            line = getattr(node, "lc").item(part)[0] + 1  # noqa: B009 - ruamel's CommentedSeq
        else:
            break
        node = node[part]
    return line


def located(text: str) -> list[tuple[int, str, str]]:
    section, tree = load(text)
    return [
        (line_of(tree, path), ".".join(map(str, path)), message) for path, message in alerting_issues(section)
    ]


def test_contract_defaults_when_the_section_is_absent() -> None:
    section, _ = load("agent: {interfaces: [eth0]}\n")
    assert (
        section.enabled,
        section.dedup_window_secs,
        section.throttle_window_secs,
        section.throttle_max,
    ) == (
        True,
        60,
        300,
        100,
    )
    assert section.smtp is None and section.otlp is None
    assert [(r.name, r.destination, r.min_severity) for r in section.routes] == [
        ("default-log", "log", "low")
    ]
    assert section.throttle_by == ["rule", "source"] and section.channel_capacity == 1000
    assert (section.spool.max_alerts_per_destination, section.spool.max_age_secs) == (100_000, 86_400)
    assert (section.retry.initial_backoff_ms, section.circuit_breaker.failure_threshold) == (1000, 5)
    assert alerting_issues(section) == []


def test_an_upstream_style_file_loads_clean() -> None:
    section, _ = load((FIXTURES / "alerting.yaml").read_text())
    assert alerting_issues(section) == []
    assert (section.dedup_window_secs, section.throttle_window_secs, section.throttle_max) == (120, 600, 50)
    assert [r.destination for r in section.routes] == ["log", "email", "webhook"]
    assert email_recipients(section.routes[1].email_to) == ["soc@example.org", "oncall@example.org"]
    assert section.routes[2].webhook_headers == {"Authorization": "Bearer abc123", "X-Team": "blue"}


def test_every_added_key_loads_clean() -> None:
    section, _ = load((FIXTURES / "alerting-extended.yaml").read_text())
    assert alerting_issues(section) == []
    assert section.smtp is not None and smtp_tls_mode(section.smtp.tls) == "implicit"
    assert section.routes[0].tactics == ["credential-access", "lateral-movement"]
    assert section.routes[2].fallback is True and section.webhook.allow_networks == ["10.20.0.0/16"]


@pytest.mark.parametrize(
    ("value", "mode"),
    [(False, "plain"), (True, "starttls"), ("starttls", "starttls"), ("implicit", "implicit"),
     ("TLS", "implicit"), ("smtps", "implicit")],
)  # fmt: skip
def test_smtp_tls_values(value: bool | str, mode: str) -> None:
    assert smtp_tls_mode(value) == mode
    smtp = SmtpSection(host="h", from_address="a@example.org", tls=value)
    route = RouteSection(name="m", destination="email", min_severity="low", email_to="b@example.org")
    assert alerting_issues(AlertingSection(smtp=smtp, routes=[route])) == []


def test_an_unknown_smtp_tls_mode_uses_the_contract_message() -> None:
    smtp = SmtpSection(host="h", from_address="a@example.org", tls="maybe")
    ((path, message),) = alerting_issues(AlertingSection(smtp=smtp))
    assert path == ["smtp", "tls"]
    assert message.startswith("invalid value 'maybe' for field 'tls': expected one of true, false, starttls")


def test_every_problem_is_reported_with_its_line_and_key() -> None:
    issues = located((FIXTURES / "alerting-invalid.yaml").read_text())
    expected = [
        (2, "dedup_window_secs", "must be >= 0"),
        (3, "throttle_max", "must be >= 1"),
        (4, "throttle_by.1", "invalid value 'port' for field 'throttle_by'"),
        (5, "log_file", "absolute path"),
        (14, "routes.0.min_severity", "invalid value 'urgent' for field 'severity'"),
        (15, "routes.0.webhook_url", "scheme must be http or https"),
        (17, "routes.0.webhook_headers.Content-Type", "set by the agent"),
        (18, "routes.0.webhook_headers.Bad Name", "RFC 7230 token"),
        (19, "routes.1.name", "duplicate route name 'hook'"),
        (20, "routes.1.destination", "expected one of log, email, webhook, otlp"),
        (25, "routes.2.tactics.0", "invalid value 'world-domination' for field 'tactics'"),
        (22, "routes.2.email_to", "email_to is required"),  # absent: the route's own line
        (23, "routes.2.destination", "requires the alerting.smtp section"),
        (27, "routes.3.destination", "requires the alerting.otlp section"),
        (7, "webhook.allow_networks.0", "invalid CIDR notation '10.0.0.1/8'"),
        (9, "retry.initial_backoff_ms", "initial_backoff_ms <= max_backoff_ms"),
    ]
    assert len(issues) == len(expected), issues
    for (line, key, message), (want_line, want_key, fragment) in zip(issues, expected, strict=True):
        assert (line, key) == (want_line, want_key) and fragment in message, (line, key, message)


@pytest.mark.parametrize(
    ("route", "fragment"),
    [
        ({"destination": "webhook"}, "webhook_url is required"),
        ({"destination": "webhook", "webhook_url": "https://x.example/\r\nHost: evil"}, "control characters"),
        ({"destination": "webhook", "webhook_url": "http://:80/"}, "no host"),
        ({"destination": "webhook", "webhook_url": "https://x.example:99999/"}, "invalid webhook_url"),
        ({"destination": "webhook", "webhook_url": "https://x.example/", "webhook_hmac_secret": "short"},
         "at least 16 characters"),
        ({"destination": "webhook", "webhook_url": "https://x.example/",
          "webhook_headers": {"X-A": "1\r\nB: 2"}}, "printable ASCII"),
        ({"destination": "log", "log_file": "eve.json"}, "absolute path"),
        ({"destination": "log", "name": ""}, "route name must be"),
        ({"destination": "log", "event_types": ["IDS!"]}, "invalid component name"),
    ],
)  # fmt: skip
def test_route_problems(route: dict[str, Any], fragment: str) -> None:
    values = {"name": "r", "min_severity": "low", **route}
    issues = alerting_issues(AlertingSection(routes=[RouteSection(**values)]))
    assert any(fragment in message for _, message in issues), issues


def test_email_addresses_and_header_injection_are_refused() -> None:
    smtp = SmtpSection(host="mail", from_address="sentinel@example.org\r\nBcc: x@evil.example")
    route = RouteSection(
        name="m", destination="email", min_severity="low", email_to=["ok@example.org", "nope"]
    )
    messages = [m for _, m in alerting_issues(AlertingSection(smtp=smtp, routes=[route]))]
    assert any("control characters" in m for m in messages)
    assert any("invalid e-mail address 'nope'" in m for m in messages)


def test_otlp_grpc_is_refused_only_when_an_otlp_route_uses_it() -> None:
    section, _ = load("alerting:\n  otlp: {endpoint: 'http://c:4317', protocol: grpc}\n")
    assert alerting_issues(section) == []
    section, tree = load(
        "alerting:\n  otlp: {endpoint: 'http://c:4317', protocol: grpc}\n"
        "  routes: [{name: o, destination: otlp, min_severity: low}]\n"
    )
    ((path, message),) = alerting_issues(section)
    assert path == ["otlp", "protocol"] and "use http" in message and line_of(tree, path) == 2


def test_wrong_types_fail_conversion_naming_the_key() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"\$\.throttle_max"):
        load("alerting:\n  throttle_max: many\n")
    with pytest.raises(msgspec.ValidationError, match=r"\$\.routes\[0\]"):
        load("alerting:\n  routes: [{destination: log, min_severity: low}]\n")


def test_unknown_nested_keys_are_ignored_like_every_nested_section() -> None:
    section, _ = load("alerting:\n  future_key: 1\n  smtp: {host: h, from_address: a@b.example, pool: 3}\n")
    assert alerting_issues(section) == []


def test_more_than_a_hundred_routes_are_refused() -> None:
    routes = [RouteSection(name=f"r{i}", destination="log", min_severity="low") for i in range(101)]
    assert (["routes"], "at most 100 routes") in alerting_issues(AlertingSection(routes=routes))


def test_secrets_are_masked_for_display() -> None:
    section, _ = load((FIXTURES / "alerting.yaml").read_text())
    shown = masked_alerting(section)
    assert shown["smtp"]["password"] == "***" and shown["smtp"]["username"] == "sentinel"
    assert shown["routes"][2]["webhook_headers"] == {"Authorization": "***", "X-Team": "***"}
    assert "s3cret" not in repr(shown) and "abc123" not in repr(shown)
    assert section.smtp is not None and section.smtp.password == "s3cret-pass"  # the model is untouched
