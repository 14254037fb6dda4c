"""Replay output: ``table`` (people), ``json`` (one document, alerts in the REST API's shape),
``eve`` (one EVE-JSON ``alert`` line per alert, like the ``log`` destination writes)."""

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any, TextIO

from sentinel_agent.replay.engine import PacketResult
from sentinel_agent.rest.alerts import alert_response
from sentinel_domain.alert import to_eve


def summary(results: Sequence[PacketResult]) -> dict[str, Any]:
    verdicts = Counter(r.verdict for r in results)
    components = Counter(a.component.value for r in results for a in r.alerts)
    return {
        "packets": len(results),
        "verdicts": dict(sorted(verdicts.items())),
        "alerts": sum(components.values()),
        "alerts_by_component": dict(sorted(components.items())),
    }


def packet_json(result: PacketResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "index": result.index,
        "timestamp_ns": result.timestamp_ns,
        "length": result.length,
        "packet": result.packet,
        "verdict": result.verdict,
        "decided_by": result.decided_by or None,
        "rule_hits": [
            {"program": h.program, "rule_id": h.rule_id, "action": h.action} for h in result.rule_hits
        ],
        "alerts": [alert_response(a) for a in result.alerts],
    }
    if result.error:
        out["error"] = result.error
    return out


def _table(results: Sequence[PacketResult], out: TextIO) -> None:
    header = f"{'#':>5}  {'packet':<46} {'verdict':<8} {'by':<15} rule hits"
    print(header, file=out)
    print("-" * len(header), file=out)
    for r in results:
        hits = ", ".join(f"{h.program}:{h.rule_id}({h.action})" for h in r.rule_hits) or "-"
        by = r.decided_by or "-"
        print(f"{r.index:>5}  {r.packet:<46} {r.verdict:<8} {by:<15} {hits}", file=out)
        if r.error:
            print(f"{'':>7}error: {r.error}", file=out)
        for a in r.alerts:
            print(f"{'':>7}[{a.component.value}/{a.severity.label}] {a.rule_id}: {a.message}", file=out)


def render(
    results: Sequence[PacketResult],
    mode: str,
    capture: str,
    config: str,
    programs: Sequence[str],
    out: TextIO,
) -> None:
    if mode == "json":
        doc = {
            "capture": capture,
            "config": config,
            "programs": list(programs),
            "packets": [packet_json(r) for r in results],
            "summary": summary(results),
        }
        print(json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False), file=out)
    elif mode == "eve":
        for r in results:
            for a in r.alerts:
                print(json.dumps(to_eve(a), ensure_ascii=False, separators=(",", ":")), file=out)
    else:
        print(f"capture {capture}  config {config}  programs {', '.join(programs) or '-'}", file=out)
        _table(results, out)
        s = summary(results)
        verdicts = ", ".join(f"{k} {v}" for k, v in s["verdicts"].items()) or "-"
        print(f"\n{s['packets']} packets ({verdicts}); {s['alerts']} alerts", file=out)
