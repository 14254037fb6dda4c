"""``alerts list | mark-fp | stats`` over ``/api/v1/alerts`` (contract §2.2, §5)."""

import argparse
from collections import Counter
from typing import Any

from sentinel_agent.client.cmdline import group, leaf, non_negative
from sentinel_agent.client.http import EXIT_OK, EXIT_USAGE, ApiClient, ClientError, segment
from sentinel_agent.client.output import Column, Output, clock, endpoint

PAGE = 1000  # the API's largest page (contract §2.2)
SEVERITIES = ("critical", "high", "medium", "low")

ALERT_COLUMNS: list[Column] = [
    ("Time", lambda a: clock(a.get("timestamp_ns"))),
    ("Sev", "severity"),
    ("Component", "component"),
    ("Rule", "rule_id"),
    ("Flow", endpoint),
    ("Action", "action"),
    ("FP", "false_positive"),
]


def alert_query(args: argparse.Namespace, limit: int, offset: int) -> dict[str, Any]:
    """Query parameters for the filters a command was given (``--severity`` is a minimum)."""
    return {
        "component": getattr(args, "component", None),
        "min_severity": getattr(args, "severity", None),
        "tactic": getattr(args, "tactic", None),
        "technique": getattr(args, "technique", None),
        "limit": limit,
        "offset": offset,
    }


def list_alerts(client: ApiClient, out: Output, args: argparse.Namespace) -> int:
    body = client.get("/api/v1/alerts", alert_query(args, args.limit, args.offset))

    def render(b: dict[str, Any]) -> None:
        alerts = b.get("alerts", [])
        out.rows("alerts (newest first)", ALERT_COLUMNS, alerts)
        shown = f"{b.get('offset', 0)}..{b.get('offset', 0) + len(alerts)}"
        noun = "alert" if len(alerts) == 1 else "alerts"
        out.print(f"showing {shown} ({len(alerts)} {noun}); {b.get('total')} stored in total")
        if alerts:
            out.print("ids (for alerts mark-fp): " + ", ".join(a["id"] for a in alerts[:5]))

    out.emit(body, render)
    return EXIT_OK


def mark_fp(client: ApiClient, out: Output, args: argparse.Namespace) -> int:
    body = client.send("POST", f"/api/v1/alerts/{segment(args.id)}/false-positive")
    out.emit(body, lambda _: out.print(f"alert '{args.id}' marked as a false positive"))
    return EXIT_OK


def fetch_alerts(client: ApiClient, args: argparse.Namespace, wanted: int) -> tuple[list[Any], int]:
    """Up to ``wanted`` newest alerts (paged), and the store's total."""
    alerts: list[Any] = []
    total = 0
    while len(alerts) < wanted:
        size = min(PAGE, wanted - len(alerts))
        page = client.get("/api/v1/alerts", alert_query(args, size, len(alerts)))
        batch = page.get("alerts", [])
        total = int(page.get("total", 0))
        alerts.extend(batch)
        if len(batch) < size:
            break
    return alerts, total


def summarize(alerts: list[dict[str, Any]], total: int) -> dict[str, Any]:
    """Counts by component, severity and rule over ``alerts`` (the client-side aggregation)."""
    return {
        "analyzed": len(alerts),
        "total_stored": total,
        "by_component": dict(Counter(a.get("component", "?") for a in alerts)),
        "by_severity": dict(Counter(a.get("severity", "?") for a in alerts)),
        "by_rule": dict(Counter(a.get("rule_id", "?") for a in alerts)),
        "false_positives": sum(1 for a in alerts if a.get("false_positive")),
    }


def _ranked(counts: dict[str, int]) -> list[dict[str, Any]]:
    return [{"key": k, "count": v} for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def stats(client: ApiClient, out: Output, args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise ClientError("--limit must be at least 1", EXIT_USAGE)
    alerts, total = fetch_alerts(client, args, args.limit)
    summary = summarize(alerts, total)

    def render(s: dict[str, Any]) -> None:
        out.print(f"{s['analyzed']} newest alerts analyzed ({s['total_stored']} stored)")
        for key, title in (("by_severity", "severity"), ("by_component", "component"), ("by_rule", "rule")):
            out.rows(f"by {title}", [(title.capitalize(), "key"), ("Count", "count")], _ranked(s[key]))
        out.print(f"false positives: {s['false_positives']}")

    out.emit(summary, render)
    return EXIT_OK


def add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--component", help="only this component (firewall, ids, dns, ...)")
    parser.add_argument("--severity", help="minimum severity (low, medium, high, critical)")


def register(sub: Any) -> None:
    verbs = group(sub, "alerts", "stored alerts (/api/v1/alerts)")
    listing = leaf(verbs, "list", "list alerts, newest first")
    add_filters(listing)
    listing.add_argument("--tactic", help="MITRE tactic")
    listing.add_argument("--technique", help="MITRE technique id (T1046)")
    listing.add_argument("--limit", type=non_negative, default=100, help="page size (default 100, max 1000)")
    listing.add_argument("--offset", type=non_negative, default=0, help="skip this many (default 0)")
    listing.set_defaults(handler=list_alerts)
    fp = leaf(verbs, "mark-fp", "mark an alert as a false positive")
    fp.add_argument("id", help="alert id")
    fp.set_defaults(handler=mark_fp)
    summary = leaf(verbs, "stats", "counts by component, severity and rule over the newest alerts")
    add_filters(summary)
    summary.add_argument("--limit", type=non_negative, default=500, help="alerts analyzed (default 500)")
    summary.set_defaults(handler=stats)
