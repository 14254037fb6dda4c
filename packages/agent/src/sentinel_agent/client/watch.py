"""``watch``: a live view of the newest alerts and their counters, refreshed every interval.

Table mode redraws one rich Live panel; JSON mode prints one JSON object per refresh (NDJSON).
Ctrl-C ends it (exit 0). ``--iterations N`` stops after N refreshes (scripts, tests).
"""

import argparse
import datetime
import json
import time
from collections import Counter
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.text import Text

from sentinel_agent.client.alerts import ALERT_COLUMNS, SEVERITIES, add_filters, fetch_alerts
from sentinel_agent.client.cmdline import leaf, non_negative
from sentinel_agent.client.http import EXIT_OK, EXIT_USAGE, ApiClient, ClientError
from sentinel_agent.client.output import Output, build_table

WINDOW = 200  # alerts the counters are computed over
SHOWN = 15  # alerts listed


def snapshot(client: ApiClient, args: argparse.Namespace, iteration: int) -> dict[str, Any]:
    """One refresh: counters over the newest WINDOW matching alerts, and the newest SHOWN."""
    alerts, total = fetch_alerts(client, args, WINDOW)
    return {
        "iteration": iteration,
        "at": datetime.datetime.now().strftime("%H:%M:%S"),
        "total_stored": total,
        "window": len(alerts),
        "by_severity": dict(Counter(a.get("severity", "?") for a in alerts)),
        "by_component": dict(Counter(a.get("component", "?") for a in alerts)),
        "newest": alerts[:SHOWN],
    }


def render(snap: dict[str, Any], client: ApiClient, args: argparse.Namespace) -> Group:
    filters = ", ".join(
        f"{k}={v}" for k, v in (("component", args.component), ("severity>=", args.severity)) if v
    )
    shown = filters or "all alerts"
    header = Text(f"{client.base_url}  {snap['at']}  every {args.interval:g}s  {shown}  (Ctrl-C to stop)")
    severities = [s for s in SEVERITIES if s in snap["by_severity"]]
    by_severity = ", ".join(f"{s} {snap['by_severity'][s]}" for s in severities) or "-"
    components = ", ".join(f"{k} {v}" for k, v in sorted(snap["by_component"].items())) or "-"
    counters = Text(
        f"newest {snap['window']} of {snap['total_stored']} stored\n"
        f"by severity: {by_severity}\nby component: {components}"
    )
    newest = build_table("newest alerts", ALERT_COLUMNS, snap["newest"])
    return Group(header, counters, newest)


def watch(client: ApiClient, out: Output, args: argparse.Namespace) -> int:
    if args.interval < 0.1:
        raise ClientError("--interval must be at least 0.1 s", EXIT_USAGE)
    limit = args.iterations if args.iterations else None
    iteration = 0
    try:
        if out.json:
            while limit is None or iteration < limit:
                iteration += 1
                snap = snapshot(client, args, iteration)
                print(json.dumps(snap, sort_keys=True, separators=(",", ":")), flush=True)
                if limit is None or iteration < limit:
                    time.sleep(args.interval)
            return EXIT_OK
        first = snapshot(client, args, 1)
        iteration = 1
        with Live(render(first, client, args), console=out.console, auto_refresh=False) as live:
            while limit is None or iteration < limit:
                time.sleep(args.interval)
                iteration += 1
                live.update(render(snapshot(client, args, iteration), client, args), refresh=True)
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def _interval(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def register(sub: Any) -> None:
    parser = leaf(sub, "watch", "live view of the newest alerts and counters (polls /api/v1/alerts)")
    parser.add_argument("-i", "--interval", type=_interval, default=2.0, help="seconds between refreshes (2)")
    add_filters(parser)
    parser.add_argument(
        "--iterations", type=non_negative, default=0, help="stop after N refreshes (default 0: never)"
    )
    parser.set_defaults(handler=watch)
