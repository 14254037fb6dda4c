"""``/api/v1/alerts`` (contract §2.2, §2.3 AlertResponse): history queries and false positives."""

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from sentinel_agent.rest import models as m
from sentinel_agent.rest.registry import Endpoint, Param, int_param, str_param
from sentinel_domain.alert import Alert
from sentinel_domain.common import DomainError, parse_severity
from sentinel_ports.alert_store import AlertQuery, AlertStore

MAX_LIMIT = 1000
_OPTIONAL = (
    "src_domain",
    "dst_domain",
    "confidence",
    "threat_type",
    "data_type",
    "pid",
    "tgid",
    "direction",
    "matched_domain",
)


class BadRequestError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def alert_response(alert: Alert) -> dict[str, Any]:
    """The REST DTO: lowercase severity/action, addresses as four u32 words, optional fields when set."""
    out: dict[str, Any] = {
        "id": alert.id,
        "timestamp_ns": alert.timestamp_ns,
        "component": alert.component.value,
        "severity": alert.severity.label,
        "rule_id": alert.rule_id,
        "action": alert.action.value,
        "src_addr": list(alert.src_words),
        "dst_addr": list(alert.dst_words),
        "src_port": alert.src_port,
        "dst_port": alert.dst_port,
        "protocol": alert.protocol,
        "is_ipv6": alert.is_ipv6,
        "message": alert.message,
        "false_positive": alert.false_positive,
    }
    for key in _OPTIONAL:
        value = getattr(alert, key)
        if value is not None:
            out[key] = value
    if alert.mitre is not None:
        out["mitre_technique_id"] = alert.mitre.technique_id
        out["mitre_technique_name"] = alert.mitre.technique_name
        out["mitre_tactic"] = alert.mitre.tactic
    return out


def _int(params: Any, name: str, default: int | None, low: int = 0, high: int | None = None) -> int | None:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or len(raw) > 20:
        raise BadRequestError(
            "VALIDATION_ERROR", f"'{name}' must be a non-negative integer, got '{raw[:40]}'"
        )
    value = int(raw)
    if value < low or (high is not None and value > high):
        raise BadRequestError("VALIDATION_ERROR", f"'{name}' must be between {low} and {high}")
    return value


def parse_query(params: Any) -> AlertQuery:
    """The contract's query parameters → AlertQuery; BadRequestError names the bad parameter."""
    severity = None
    if params.get("min_severity") is not None:
        try:
            severity = parse_severity(params["min_severity"])
        except DomainError:
            raise BadRequestError(
                "INVALID_SEVERITY", f"unknown severity '{params['min_severity'][:40]}'"
            ) from None
    fp_raw = params.get("false_positive")
    if fp_raw is not None and fp_raw.lower() not in ("true", "false"):
        raise BadRequestError("VALIDATION_ERROR", "'false_positive' must be true or false")
    for text in ("component", "rule_id", "tactic", "technique"):
        if len(params.get(text) or "") > 256:
            raise BadRequestError("VALIDATION_ERROR", f"'{text}' is longer than 256 characters")
    return AlertQuery(
        component=params.get("component"),
        min_severity=severity,
        rule_id=params.get("rule_id"),
        false_positive=None if fp_raw is None else fp_raw.lower() == "true",
        from_ns=_int(params, "from", None),
        to_ns=_int(params, "to", None),
        tactic=params.get("tactic"),
        technique=params.get("technique"),
        limit=_int(params, "limit", 100, 0, MAX_LIMIT) or 0,
        offset=_int(params, "offset", 0, 0) or 0,
    )


def alert_routes(store: AlertStore | None) -> list[Endpoint]:
    async def list_alerts(request: Request) -> Any:
        if store is None:
            return error(503, "SERVICE_UNAVAILABLE", "alert storage is not available")
        try:
            query = parse_query(request.query_params)
        except BadRequestError as exc:
            return error(400, exc.code, str(exc))
        page = store.query(query)
        return {
            "alerts": [alert_response(a) for a in page.alerts],
            "total": page.total,
            "limit": query.limit,
            "offset": query.offset,
        }

    async def mark_false_positive(request: Request) -> Any:
        if store is None:
            return error(503, "SERVICE_UNAVAILABLE", "alert storage is not available")
        alert_id = request.path_params["id"]
        if len(alert_id) > 256 or not store.mark_false_positive(alert_id):
            return error(404, "ALERT_NOT_FOUND", f"no alert with id '{alert_id[:256]}'")
        return {"alert_id": alert_id, "marked": True}

    return [
        Endpoint(
            "GET",
            "/api/v1/alerts",
            list_alerts,
            "Alert history, newest first (total is the store's count)",
            "alerts",
            m.AlertPage,
            errors=(400, 503),
            params=QUERY_PARAMS,
        ),
        Endpoint(
            "POST",
            "/api/v1/alerts/{id}/false-positive",
            mark_false_positive,
            "Mark an alert as a false positive (idempotent)",
            "alerts",
            m.FalsePositiveResponse,
            errors=(404, 503),
        ),
    ]


SEVERITIES = ["low", "medium", "high", "critical"]
QUERY_PARAMS = (
    str_param("component", "only this component (exact)"),
    str_param("min_severity", "at least this severity (case-insensitive)", 256, examples=SEVERITIES),
    str_param("rule_id", "only this rule"),
    Param("false_positive", {"type": "string", "enum": ["true", "false"]}, "only (not) false positives"),
    int_param("from", "from this timestamp (ns since the epoch)", 0, 2**64 - 1),
    int_param("to", "up to this timestamp (ns since the epoch)", 0, 2**64 - 1),
    str_param("tactic", "only this MITRE tactic"),
    str_param("technique", "only this MITRE technique id"),
    int_param("limit", "page size", 0, MAX_LIMIT, 100),
    int_param("offset", "alerts to skip", 0, 10**19 - 1, 0),
)
