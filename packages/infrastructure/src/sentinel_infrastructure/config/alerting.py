"""The ``alerting`` section (contract §1.10, deviations 12, 13, 15, 20): models and validation.

Upstream keys keep their names and defaults; what this project adds is documented in
``docs/alerting.md``. Like every nested section, unknown keys are ignored. ``alerting_issues``
returns every semantic problem as (path inside ``alerting``, message) for the loader to locate.
"""

import re
import urllib.parse
from email.utils import parseaddr
from typing import Any

import msgspec

from sentinel_domain.common import DomainError, parse_cidr, parse_severity

DESTINATIONS = ("log", "email", "webhook", "otlp")
THROTTLE_FIELDS = ("rule", "source")
TACTICS = (
    "reconnaissance", "resource-development", "initial-access", "execution", "persistence",
    "privilege-escalation", "defense-evasion", "credential-access", "discovery", "lateral-movement",
    "collection", "command-and-control", "exfiltration", "impact",
)  # fmt: skip
SMTP_TLS = {"starttls": "starttls", "implicit": "implicit", "tls": "implicit", "smtps": "implicit"}
MAX_ROUTES = 100
MAX_ROUTE_NAME = 128
MIN_HMAC_SECRET = 16
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 7230 header field name
_COMPONENT = re.compile(r"[a-z0-9][a-z0-9_-]*")
_RESERVED_HEADERS = frozenset(
    {"content-type", "content-length", "transfer-encoding", "host", "x-ebpfsentinel-signature",
     "x-ebpfsentinel-alert-id"}
)  # fmt: skip


class SmtpSection(msgspec.Struct, kw_only=True):
    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None  # masked in GET /config
    from_address: str
    tls: bool | str = True  # false | true = starttls | "starttls" | "implicit" (alias "tls")
    ca_file: str | None = None  # CA bundle (PEM) trusted instead of the system store
    timeout_secs: float = 10.0
    batch_max: int = 100
    batch_interval_secs: float = 10.0


class OtlpSection(msgspec.Struct, kw_only=True):
    endpoint: str = "http://127.0.0.1:4318/v1/logs"
    protocol: str = "http"  # grpc is accepted by upstream's schema but not implemented here
    timeout_ms: int = 5000
    headers: dict[str, str] = {}
    batch_max: int = 512
    batch_interval_secs: float = 1.0


class WebhookSection(msgspec.Struct, kw_only=True):
    timeout_secs: float = 10.0
    allow_networks: list[str] = []  # internal receivers the SSRF guard may reach
    ca_file: str | None = None


class SpoolSection(msgspec.Struct, kw_only=True):
    path: str | None = None  # default: <agent.data_dir>/alert-spool
    max_alerts_per_destination: int = 100_000
    max_age_secs: float = 86_400.0  # 0 = keep until delivered
    map_size_mb: int = 256


class RetrySection(msgspec.Struct, kw_only=True):
    initial_backoff_ms: int = 1000
    max_backoff_ms: int = 30_000
    multiplier: float = 2.0
    attempt_timeout_secs: float = 10.0


class CircuitBreakerSection(msgspec.Struct, kw_only=True):
    failure_threshold: int = 5
    open_secs: float = 60.0


class RouteSection(msgspec.Struct, kw_only=True):
    name: str
    destination: str
    min_severity: str
    event_types: list[str] | None = None
    tactics: list[str] | None = None
    fallback: bool = False
    webhook_url: str | None = None
    webhook_headers: dict[str, str] = {}  # values masked in GET /config
    webhook_hmac_secret: str | None = None
    email_to: str | list[str] | None = None
    log_file: str | None = None  # default: alerting.log_file


def _default_routes() -> list[RouteSection]:
    return [RouteSection(name="default-log", destination="log", min_severity="low")]


class AlertingSection(msgspec.Struct, kw_only=True):
    enabled: bool = True
    dedup_window_secs: int = 60
    throttle_window_secs: int = 300
    throttle_max: int = 100
    throttle_by: list[str] = msgspec.field(default_factory=lambda: list(THROTTLE_FIELDS))
    channel_capacity: int = 1000
    log_file: str | None = None  # None: <agent.data_dir>/eve.json
    smtp: SmtpSection | None = None
    otlp: OtlpSection | None = None
    webhook: WebhookSection = msgspec.field(default_factory=WebhookSection)
    spool: SpoolSection = msgspec.field(default_factory=SpoolSection)
    retry: RetrySection = msgspec.field(default_factory=RetrySection)
    circuit_breaker: CircuitBreakerSection = msgspec.field(default_factory=CircuitBreakerSection)
    routes: list[RouteSection] = msgspec.field(default_factory=_default_routes)


def smtp_tls_mode(value: bool | str) -> str:
    """``plain``, ``starttls`` or ``implicit`` for a valid ``smtp.tls`` value."""
    if isinstance(value, bool):
        return "starttls" if value else "plain"
    return SMTP_TLS[value.strip().lower()]


def email_recipients(value: str | list[str] | None) -> list[str]:
    """``email_to`` as a list: a string may hold several comma-separated addresses."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else value
    return [item.strip() for item in items if item.strip()]


Path = list[str | int]
Issues = list[tuple[Path, str]]


def _invalid(value: object, field: str, allowed: tuple[str, ...]) -> str:
    return f"invalid value '{value}' for field '{field}': expected one of {', '.join(allowed)}"


def _address_problem(address: str) -> str | None:
    if any(ch in address for ch in "\r\n\x00") or not address.isprintable():
        return f"invalid e-mail address {address!r}: control characters"
    _, parsed = parseaddr(address)
    if "@" not in parsed or parsed.startswith("@") or parsed.endswith("@"):
        return f"invalid e-mail address '{address}'"
    return None


def _url_problem(url: str, what: str) -> str | None:
    if not url.isprintable() or any(ch.isspace() for ch in url):
        return f"invalid {what} {url!r}: spaces or control characters"
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return f"invalid {what} '{url}': {exc}"
    if parts.scheme not in ("http", "https"):
        return f"invalid {what} '{url}': scheme must be http or https"
    if not parts.hostname:
        return f"invalid {what} '{url}': no host"
    if parts.username is not None or parts.password is not None:
        return f"invalid {what} '{url}': credentials in the URL are not allowed (use headers)"
    return None


def _headers_issues(headers: dict[str, str], base: Path, reserved: frozenset[str]) -> Issues:
    issues: Issues = []
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name):
            issues.append(([*base, name], f"invalid header name '{name}' (RFC 7230 token)"))
        elif name.lower() in reserved:
            issues.append(([*base, name], f"header '{name}' is set by the agent and cannot be configured"))
        if not all(ch == "\t" or 0x20 <= ord(ch) < 0x7F for ch in value):
            issues.append(([*base, name], "header value must be printable ASCII (no CR, LF or NUL)"))
    return issues


def _abs_path_issue(value: str | None, path: Path, what: str) -> Issues:
    if value is not None and (not value.startswith("/") or "\x00" in value):
        return [(path, f"{what} must be an absolute path")]
    return []


def _route_issues(route: RouteSection, index: int, section: AlertingSection) -> Issues:
    base: Path = ["routes", index]
    issues: Issues = []
    if not route.name.strip() or len(route.name) > MAX_ROUTE_NAME or not route.name.isprintable():
        issues.append(([*base, "name"], f"route name must be 1-{MAX_ROUTE_NAME} printable characters"))
    if route.destination not in DESTINATIONS:
        issues.append(([*base, "destination"], _invalid(route.destination, "destination", DESTINATIONS)))
    try:
        parse_severity(route.min_severity)
    except DomainError as exc:
        issues.append(([*base, "min_severity"], str(exc)))
    for i, component in enumerate(route.event_types or []):
        if not _COMPONENT.fullmatch(component):
            issues.append(([*base, "event_types", i], f"invalid component name '{component}'"))
    for i, tactic in enumerate(route.tactics or []):
        if tactic not in TACTICS:
            issues.append(([*base, "tactics", i], _invalid(tactic, "tactics", TACTICS)))
    if route.destination == "webhook":
        if not route.webhook_url:
            issues.append(([*base, "webhook_url"], "webhook_url is required for a webhook route"))
        elif problem := _url_problem(route.webhook_url, "webhook_url"):
            issues.append(([*base, "webhook_url"], problem))
        secret = route.webhook_hmac_secret
        if secret is not None and len(secret) < MIN_HMAC_SECRET:
            message = f"webhook_hmac_secret must be at least {MIN_HMAC_SECRET} characters"
            issues.append(([*base, "webhook_hmac_secret"], message))
    issues += _headers_issues(route.webhook_headers, [*base, "webhook_headers"], _RESERVED_HEADERS)
    if route.destination == "email":
        recipients = email_recipients(route.email_to)
        if not recipients:
            issues.append(([*base, "email_to"], "email_to is required for an email route"))
        issues += [([*base, "email_to"], p) for p in map(_address_problem, recipients) if p]
        if section.smtp is None:
            issues.append(([*base, "destination"], "an email route requires the alerting.smtp section"))
    if route.destination == "otlp" and section.otlp is None:
        issues.append(([*base, "destination"], "an otlp route requires the alerting.otlp section"))
    issues += _abs_path_issue(route.log_file, [*base, "log_file"], "log_file")
    return issues


def _smtp_issues(smtp: SmtpSection) -> Issues:
    issues: Issues = []
    if not smtp.host.strip() or not smtp.host.isprintable():
        issues.append((["smtp", "host"], "smtp.host must be a host name or address"))
    if not 1 <= smtp.port <= 65535:
        issues.append((["smtp", "port"], f"port {smtp.port} out of range 1-65535"))
    if problem := _address_problem(smtp.from_address):
        issues.append((["smtp", "from_address"], problem))
    if isinstance(smtp.tls, str) and smtp.tls.strip().lower() not in SMTP_TLS:
        issues.append((["smtp", "tls"], _invalid(smtp.tls, "tls", ("true", "false", *SMTP_TLS))))
    if smtp.timeout_secs <= 0 or smtp.batch_interval_secs < 0 or smtp.batch_max < 1:
        issues.append((["smtp"], "timeout_secs must be > 0, batch_interval_secs >= 0 and batch_max >= 1"))
    return issues + _abs_path_issue(smtp.ca_file, ["smtp", "ca_file"], "ca_file")


def alerting_issues(section: AlertingSection) -> Issues:
    """Every semantic problem of ``section``, as (path inside ``alerting``, message)."""
    issues: Issues = []
    for key in ("dedup_window_secs", "throttle_window_secs"):
        if getattr(section, key) < 0:
            issues.append(([key], f"{key} must be >= 0 (0 disables)"))
    if section.throttle_max < 1:
        issues.append((["throttle_max"], "throttle_max must be >= 1"))
    for i, name in enumerate(section.throttle_by):
        if name not in THROTTLE_FIELDS or section.throttle_by.index(name) != i:
            issues.append(
                (["throttle_by", i], _invalid(name, "throttle_by", THROTTLE_FIELDS) + ", each once")
            )
    if not 1 <= section.channel_capacity <= 1_000_000:
        issues.append((["channel_capacity"], "channel_capacity must be 1-1000000"))
    issues += _abs_path_issue(section.log_file, ["log_file"], "log_file")
    if len(section.routes) > MAX_ROUTES:
        issues.append((["routes"], f"at most {MAX_ROUTES} routes"))
    seen: set[str] = set()
    for i, route in enumerate(section.routes):
        if route.name in seen:
            issues.append((["routes", i, "name"], f"duplicate route name '{route.name}'"))
        seen.add(route.name)
        issues += _route_issues(route, i, section)
    if section.smtp is not None:
        issues += _smtp_issues(section.smtp)
    if section.otlp is not None:
        used = any(route.destination == "otlp" for route in section.routes)
        if used and section.otlp.protocol.lower() not in ("http", "http/protobuf"):
            message = (
                f"otlp protocol '{section.otlp.protocol}' is not supported: use http (OTLP/HTTP, port 4318)"
            )
            issues.append((["otlp", "protocol"], message))
        if problem := _url_problem(section.otlp.endpoint, "otlp endpoint"):
            issues.append((["otlp", "endpoint"], problem))
        if section.otlp.timeout_ms < 1 or section.otlp.batch_max < 1 or section.otlp.batch_interval_secs < 0:
            issues.append((["otlp"], "timeout_ms and batch_max must be >= 1, batch_interval_secs >= 0"))
        issues += _headers_issues(section.otlp.headers, ["otlp", "headers"], frozenset({"content-type"}))
    for i, network in enumerate(section.webhook.allow_networks):
        try:
            parse_cidr(network)
        except DomainError as exc:
            issues.append((["webhook", "allow_networks", i], str(exc)))
    if section.webhook.timeout_secs <= 0:
        issues.append((["webhook", "timeout_secs"], "timeout_secs must be > 0"))
    issues += _abs_path_issue(section.webhook.ca_file, ["webhook", "ca_file"], "ca_file")
    issues += _resilience_issues(section)
    return issues


def _resilience_issues(section: AlertingSection) -> Issues:
    issues: Issues = []
    spool, retry, breaker = section.spool, section.retry, section.circuit_breaker
    issues += _abs_path_issue(spool.path, ["spool", "path"], "spool.path")
    if not 1 <= spool.max_alerts_per_destination <= 10_000_000:
        issues.append((["spool", "max_alerts_per_destination"], "must be 1-10000000"))
    if spool.max_age_secs < 0:
        issues.append((["spool", "max_age_secs"], "max_age_secs must be >= 0 (0 = no limit)"))
    if not 1 <= spool.map_size_mb <= 1_048_576:
        issues.append((["spool", "map_size_mb"], "map_size_mb must be 1-1048576"))
    if not 0 <= retry.initial_backoff_ms <= retry.max_backoff_ms:
        issues.append((["retry", "initial_backoff_ms"], "need 0 <= initial_backoff_ms <= max_backoff_ms"))
    if retry.multiplier < 1:
        issues.append((["retry", "multiplier"], "multiplier must be >= 1"))
    if retry.attempt_timeout_secs <= 0:
        issues.append((["retry", "attempt_timeout_secs"], "attempt_timeout_secs must be > 0"))
    if breaker.failure_threshold < 1:
        issues.append((["circuit_breaker", "failure_threshold"], "failure_threshold must be >= 1"))
    if breaker.open_secs < 0:
        issues.append((["circuit_breaker", "open_secs"], "open_secs must be >= 0"))
    return issues


MASK = "***"


def masked_alerting(section: AlertingSection) -> dict[str, Any]:
    """The section as plain data with secrets replaced by ``***`` (for ``GET /config``)."""
    data: dict[str, Any] = msgspec.to_builtins(section)
    if data.get("smtp") and data["smtp"].get("password") is not None:
        data["smtp"]["password"] = MASK
    if data.get("otlp"):
        data["otlp"]["headers"] = dict.fromkeys(data["otlp"]["headers"], MASK)
    for route in data["routes"]:
        route["webhook_headers"] = dict.fromkeys(route["webhook_headers"], MASK)
        if route.get("webhook_hmac_secret") is not None:
            route["webhook_hmac_secret"] = MASK
    return data
