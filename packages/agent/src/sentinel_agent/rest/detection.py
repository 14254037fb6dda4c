"""Read-only views of the detection engines (contract §2.2): ``/ids/*``, ``/dlp/*``,
``/threatintel/*`` and ``GET /firewall/l7-rules``.

Rule lists come from the running configuration's built rule sets (``runtime.loaded.detection``),
which is exactly what the engines were built from and is replaced on reload.
"""

from typing import Any

from starlette.requests import Request

from sentinel_agent.rest import models as m
from sentinel_agent.rest._common import error
from sentinel_agent.rest.ips import rule_body
from sentinel_agent.rest.registry import Endpoint
from sentinel_domain.ids import IdsRule
from sentinel_domain.l7 import rule_to_dict
from sentinel_domain.threatintel import FeedConfig, Ioc, IocKind, ThreatIntelError


def _mode(text: str) -> str:
    """The contract's mode vocabulary: alert|monitor|observe → alert, block|enforce → block."""
    return "block" if text.strip().lower() in ("block", "enforce") else "alert"


def ids_rule_body(rule: IdsRule, default_mode: str) -> dict[str, Any]:
    body = rule_body(rule, default_mode)
    if rule.threshold is not None:
        t = rule.threshold
        body["threshold"] = {
            "threshold_type": t.type.value,
            "count": t.count,
            "window_secs": t.window_secs,
            "track_by": t.track_by.value,
        }
    return body


def feed_body(raw: dict[str, Any], last_fetched: dict[str, int]) -> dict[str, Any]:
    """``{id, name, url, format, enabled, refresh_interval_secs, max_iocs, min_confidence,
    last_fetched}`` of one configured feed (already validated at load)."""
    try:
        feed = FeedConfig.from_dict(raw)
    except (ThreatIntelError, ValueError, TypeError):  # validated at load: kept as configured
        return {
            "id": str(raw.get("id", "")),
            "name": str(raw.get("name", "")),
            "url": str(raw.get("url", "")),
        }
    return {
        "id": feed.id,
        "name": feed.name,
        "url": feed.url,
        "format": feed.format.value,
        "enabled": feed.enabled,
        "refresh_interval_secs": feed.refresh_interval_secs,
        "max_iocs": feed.max_iocs,
        "min_confidence": feed.min_confidence,
        "last_fetched": last_fetched.get(feed.id),
    }


def ioc_body(ioc: Ioc) -> dict[str, Any]:
    return {
        "ip": ioc.value,
        "feed_id": ioc.feed_id,
        "confidence": ioc.confidence,
        "threat_type": ioc.threat_type.name.lower(),
        "source_feed": ioc.feed_id,
    }


def url_body(ioc: Ioc) -> dict[str, Any]:
    return {
        "url": ioc.value,
        "feed_id": ioc.feed_id,
        "confidence": ioc.confidence,
        "threat_type": ioc.threat_type.name.lower(),
    }


def detection_routes(runtime: Any) -> list[Endpoint]:
    def rules() -> Any:
        return runtime.loaded.detection

    def address_iocs() -> list[Ioc]:
        """The enforced address IOCs (``detection.loaded_iocs`` once feed fetching publishes them)."""
        loaded = getattr(runtime.detection, "loaded_iocs", None) or ()
        return [i for i in loaded if i.kind is IocKind.IP]

    async def ids_status(_: Request) -> Any:
        if runtime.detection.ids_engine is None or rules() is None:
            return error(404, "SERVICE_NOT_AVAILABLE", "the IDS is not running")
        cfg = runtime.loaded.config.ids
        return {"enabled": cfg.enabled, "mode": _mode(cfg.mode), "rule_count": len(rules().ids_rules)}

    async def ids_rules(_: Request) -> Any:
        if runtime.detection.ids_engine is None or rules() is None:
            return error(404, "SERVICE_NOT_AVAILABLE", "the IDS is not running")
        mode = rules().ids_mode.value
        return [ids_rule_body(r, mode) for r in rules().ids_rules]

    async def dlp_status(_: Request) -> Any:
        cfg = runtime.loaded.config.dlp
        count = len(rules().dlp_patterns) if rules() is not None else 0
        return {"enabled": cfg.enabled, "mode": _mode(cfg.mode), "pattern_count": count}

    async def dlp_patterns(_: Request) -> Any:
        patterns = rules().dlp_patterns if rules() is not None else ()
        return [
            {
                "id": p.id,
                "name": p.name,
                "regex": p.regex,
                "severity": p.severity.label,
                "data_type": p.data_type,
                "enabled": p.enabled,
            }
            for p in patterns
        ]

    async def ti_status(_: Request) -> Any:
        cfg = runtime.loaded.config.threatintel
        return {
            "enabled": cfg.enabled,
            "mode": _mode(cfg.mode),
            "ioc_count": len(address_iocs()),
            "feed_count": len(cfg.feeds),
        }

    async def ti_iocs(_: Request) -> Any:
        return [ioc_body(i) for i in address_iocs()]

    async def ti_urls(_: Request) -> Any:
        """URL indicators (STIX feeds; read-only: not enforced)."""
        loaded = getattr(runtime.detection, "loaded_iocs", None) or ()
        return [url_body(i) for i in loaded if i.kind is IocKind.URL]

    async def ti_feeds(_: Request) -> Any:
        fetched = getattr(runtime.detection, "feeds_last_fetched", None) or {}
        return [feed_body(f, fetched) for f in runtime.loaded.config.threatintel.feeds]

    async def l7_rules(_: Request) -> Any:
        service = getattr(runtime, "l7_rules", None)  # YAML + API rules (L7RuleService)
        l7 = service.rules() if service is not None else rules().l7_rules if rules() is not None else ()
        return [rule_to_dict(r) for r in sorted(l7, key=lambda r: r.priority)]

    def get(path: str, handler: Any, summary: str, tag: str, model: Any, **kw: Any) -> Endpoint:
        return Endpoint("GET", path, handler, summary, tag, model, **kw)

    return [
        get("/api/v1/ids/status", ids_status, "IDS status", "ids", m.IdsStatusResponse, errors=(404,)),
        get("/api/v1/ids/rules", ids_rules, "IDS rules", "ids", list[m.IdsRuleResponse], errors=(404,)),
        get("/api/v1/dlp/status", dlp_status, "DLP status", "dlp", m.DlpStatusResponse),
        get("/api/v1/dlp/patterns", dlp_patterns, "DLP patterns", "dlp", list[m.DlpPatternResponse]),
        get(
            "/api/v1/threatintel/status",
            ti_status,
            "Threat-intelligence status",
            "threatintel",
            m.ThreatIntelStatusResponse,
        ),
        get("/api/v1/threatintel/iocs", ti_iocs, "Address IOCs in force", "threatintel", list[m.IocResponse]),
        get(
            "/api/v1/threatintel/urls",
            ti_urls,
            "URL indicators from the feeds (read-only)",
            "threatintel",
            list[m.UrlIocResponse],
        ),
        get("/api/v1/threatintel/feeds", ti_feeds, "Configured feeds", "threatintel", list[m.FeedResponse]),
        get(
            "/api/v1/firewall/l7-rules",
            l7_rules,
            "L7 firewall rules, by priority",
            "firewall",
            list[m.L7RuleResponse],
        ),
    ]
