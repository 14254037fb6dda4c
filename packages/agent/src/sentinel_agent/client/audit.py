"""``audit logs`` and ``audit history <rule id>`` (``/api/v1/audit/*``)."""

import argparse
from typing import Any

from sentinel_agent.client.cmdline import group, leaf, non_negative
from sentinel_agent.client.http import EXIT_OK, ApiClient, segment
from sentinel_agent.client.output import Column, Output, cell, clock


def logs(client: ApiClient, out: Output, args: argparse.Namespace) -> int:
    query = {"component": args.component, "action": args.action, "limit": args.limit, "offset": args.offset}
    body = client.get("/api/v1/audit/logs", query)
    columns: list[Column] = [
        ("Time", lambda e: clock(e.get("timestamp_ns"))),
        ("Component", "component"),
        ("Action", "action"),
        ("Rule", "rule_id"),
        ("Detail", "detail"),
    ]

    def render(b: dict[str, Any]) -> None:
        out.rows("audit log", columns, b.get("entries", []))
        out.print(f"{len(b.get('entries', []))} shown; {b.get('total')} in total")

    out.emit(body, render)
    return EXIT_OK


def _change(entry: dict[str, Any]) -> str:
    before, after = entry.get("before"), entry.get("after")
    if before is not None and after is not None:
        return f"{cell(before)} → {cell(after)}"
    return cell(after if after is not None else before)


def history(client: ApiClient, out: Output, args: argparse.Namespace) -> int:
    body = client.get(f"/api/v1/audit/rules/{segment(args.id)}/history", {"limit": args.limit})
    columns: list[Column] = [
        ("Ver", "version"),
        ("Time", lambda e: clock(e.get("timestamp_ns"))),
        ("Action", "action"),
        ("Actor", "actor"),
        ("Change", _change),
    ]
    out.emit(body, lambda b: out.rows(f"history of rule '{args.id}'", columns, b.get("entries", [])))
    return EXIT_OK


def register(sub: Any) -> None:
    verbs = group(sub, "audit", "audit trail (/api/v1/audit/*)")
    log = leaf(verbs, "logs", "audit log entries, newest first")
    log.add_argument("--component", help="only this component")
    log.add_argument("--action", help="only this action (rule_added, rule_removed, ...)")
    log.add_argument("--limit", type=non_negative, default=100, help="page size (default 100, max 1000)")
    log.add_argument("--offset", type=non_negative, default=0, help="skip this many (default 0)")
    log.set_defaults(handler=logs)
    hist = leaf(verbs, "history", "versioned changes of one rule")
    hist.add_argument("id", help="rule id")
    hist.add_argument("--limit", type=non_negative, default=50, help="entries (default 50, max 500)")
    hist.set_defaults(handler=history)
