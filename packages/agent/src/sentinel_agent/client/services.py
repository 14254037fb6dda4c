"""``ips``, ``threatintel``, ``dns``, ``domains`` and ``mitre`` (contract §2.2, §5).

Each verb is one REST call; an agent that does not serve the endpoint yet answers a bare 404,
which the HTTP helper turns into a clear "not available in this agent version" (exit 4).
"""

import argparse
from collections.abc import Callable
from typing import Any

from sentinel_agent.client.cmdline import group, leaf, non_negative
from sentinel_agent.client.http import EXIT_OK, ApiClient, segment
from sentinel_agent.client.output import Column, Output

Handler = Callable[[ApiClient, Output, argparse.Namespace], int]


def show_list(path: str, title: str, columns: list[Column], key: str | None = None) -> Handler:
    """A handler that GETs ``path`` and tables the list (or the list under ``key``)."""

    def handler(client: ApiClient, out: Output, _: argparse.Namespace) -> int:
        body = client.get(path)
        out.emit(body, lambda b: out.rows(title, columns, b.get(key, []) if key else b))
        return EXIT_OK

    return handler


def show_fields(path: str, title: str) -> Handler:
    """A handler that GETs ``path`` and shows the object as key/value rows."""

    def handler(client: ApiClient, out: Output, _: argparse.Namespace) -> int:
        body = client.get(path)
        out.emit(body, lambda b: out.fields(title, b))
        return EXIT_OK

    return handler


def ips_set_mode(client: ApiClient, out: Output, args: argparse.Namespace) -> int:
    body = client.send("PATCH", f"/api/v1/ips/rules/{segment(args.id)}", {"mode": args.mode})
    out.emit(body, lambda b: out.fields(f"IPS rule '{args.id}'", b, ("id", "mode")))
    return EXIT_OK


def dns_cache(client: ApiClient, out: Output, args: argparse.Namespace) -> int:
    query = {"domain": args.domain, "ip": args.ip, "page": args.page, "page_size": args.page_size}
    body = client.get("/api/v1/dns/cache", query)
    columns: list[Column] = [
        ("Domain", "domain"),
        ("IPs", "ips"),
        ("TTL s", "ttl_remaining_secs"),
        ("Queries", "query_count"),
        ("Blocked", "is_blocked"),
    ]
    out.emit(body, lambda b: out.rows(f"DNS cache (page {b.get('page')})", columns, b.get("entries", [])))
    return EXIT_OK


def dns_stats(client: ApiClient, out: Output, _: argparse.Namespace) -> int:
    body = client.get("/api/v1/dns/stats")

    def render(b: dict[str, Any]) -> None:
        out.fields("DNS statistics", {k: v for k, v in b.items() if k != "top_queried"})
        top = b.get("top_queried") or []
        out.rows("top queried", [("Domain", "domain"), ("Queries", "query_count")], top)

    out.emit(body, render)
    return EXIT_OK


def dns_flush(client: ApiClient, out: Output, _: argparse.Namespace) -> int:
    body = client.send("DELETE", "/api/v1/dns/cache")
    out.emit(body, lambda b: out.print(f"flushed {(b or {}).get('flushed_entries', 0)} cache entries"))
    return EXIT_OK


def domains_reputation(client: ApiClient, out: Output, args: argparse.Namespace) -> int:
    query = {
        "domain": args.domain,
        "min_score": args.min_score,
        "page": args.page,
        "page_size": args.page_size,
    }
    body = client.get("/api/v1/domains/reputation", query)
    columns: list[Column] = [
        ("Domain", "domain"),
        ("Score", lambda e: f"{e['score']:.2f}" if isinstance(e.get("score"), float) else e.get("score")),
        ("Factors", "factors"),
        ("Blocked", "is_blocked"),
    ]
    out.emit(body, lambda b: out.rows("domain reputation", columns, b.get("entries", [])))
    return EXIT_OK


def domains_block(client: ApiClient, out: Output, args: argparse.Namespace) -> int:
    body = client.send("POST", "/api/v1/domains/blocklist", {"domain": args.domain})
    out.emit(body, lambda _: out.print(f"blocked domain pattern '{args.domain}'"))
    return EXIT_OK


def domains_unblock(client: ApiClient, out: Output, args: argparse.Namespace) -> int:
    body = client.send("DELETE", f"/api/v1/domains/blocklist/{segment(args.domain)}")
    out.emit(body, lambda _: out.print(f"unblocked domain pattern '{args.domain}'"))
    return EXIT_OK


def mitre_coverage(client: ApiClient, out: Output, _: argparse.Namespace) -> int:
    body = client.get("/api/v1/mitre/coverage")

    def render(b: dict[str, Any]) -> None:
        out.print(f"MITRE ATT&CK {b.get('attack_version')}: {b.get('total_techniques')} techniques covered")
        out.rows(
            "by tactic",
            [("Tactic", "tactic"), ("Techniques", "covered_techniques"), ("Components", "components")],
            b.get("by_tactic", []),
        )
        out.rows(
            "techniques",
            [
                ("ID", "technique_id"),
                ("Name", "technique_name"),
                ("Tactic", "tactic"),
                ("Component", "component"),
            ],
            b.get("techniques", []),
        )

    out.emit(body, render)
    return EXIT_OK


def _pages(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--page", type=non_negative, default=0, help="page number (default 0)")
    parser.add_argument("--page-size", type=non_negative, default=50, help="entries per page (50, max 500)")


def register_ips(sub: Any) -> None:
    """``ips list | blacklist | domain-blocks | set-mode``."""
    verbs = group(sub, "ips", "intrusion prevention (/api/v1/ips/*)")
    rule_columns: list[Column] = [
        ("ID", "id"),
        ("Sev", "severity"),
        ("Mode", "mode"),
        ("Proto", "protocol"),
        ("Port", "dst_port"),
        ("On", "enabled"),
        ("Description", "description"),
    ]
    leaf(verbs, "list", "IPS rules").set_defaults(
        handler=show_list("/api/v1/ips/rules", "IPS rules", rule_columns)
    )
    black: list[Column] = [
        ("IP", "ip"),
        ("Reason", "reason"),
        ("Auto", "auto_generated"),
        ("TTL s", "ttl_remaining_secs"),
    ]
    leaf(verbs, "blacklist", "blacklisted addresses").set_defaults(
        handler=show_list("/api/v1/ips/blacklist", "IPS blacklist", black)
    )
    blocks: list[Column] = [
        ("IP", "ip"),
        ("Domain", "domain"),
        ("Source", "source"),
        ("TTL s", "ttl_remaining_secs"),
    ]
    leaf(verbs, "domain-blocks", "addresses blocked for their domain").set_defaults(
        handler=show_list("/api/v1/ips/domain-blocks", "domain blocks", blocks)
    )
    mode = leaf(verbs, "set-mode", "switch one IPS rule between alert and block")
    mode.add_argument("id", help="IPS rule id")
    mode.add_argument("--mode", required=True, choices=("alert", "block"))
    mode.set_defaults(handler=ips_set_mode)


def _register_threatintel(sub: Any) -> None:
    verbs = group(sub, "threatintel", "threat intelligence (/api/v1/threatintel/*)")
    leaf(verbs, "status", "engine status").set_defaults(
        handler=show_fields("/api/v1/threatintel/status", "threat intelligence")
    )
    iocs: list[Column] = [
        ("IP", "ip"),
        ("Feed", "feed_id"),
        ("Conf", "confidence"),
        ("Threat", "threat_type"),
    ]
    leaf(verbs, "iocs", "loaded indicators").set_defaults(
        handler=show_list("/api/v1/threatintel/iocs", "IOCs", iocs)
    )
    feeds: list[Column] = [
        ("ID", "id"),
        ("Format", "format"),
        ("On", "enabled"),
        ("Every s", "refresh_interval_secs"),
        ("URL", "url"),
    ]
    leaf(verbs, "feeds", "configured feeds").set_defaults(
        handler=show_list("/api/v1/threatintel/feeds", "feeds", feeds)
    )


def register_rest(sub: Any) -> None:
    """``threatintel``, ``dns``, ``domains``, ``mitre``."""
    _register_threatintel(sub)

    dns = group(sub, "dns", "DNS cache and blocklist (/api/v1/dns/*)")
    cache = leaf(dns, "cache", "cached resolutions")
    cache.add_argument("--domain", help="domain substring")
    cache.add_argument("--ip", help="reverse lookup: domains that resolved to this IP")
    _pages(cache)
    cache.set_defaults(handler=dns_cache)
    leaf(dns, "stats", "cache and blocklist counters").set_defaults(handler=dns_stats)
    patterns: list[Column] = [("Pattern", "pattern"), ("Action", "action"), ("Matches", "match_count")]
    leaf(dns, "blocklist", "blocklist patterns").set_defaults(
        handler=show_list("/api/v1/dns/blocklist", "DNS blocklist", patterns)
    )
    leaf(dns, "flush", "empty the DNS cache").set_defaults(handler=dns_flush)

    domains = group(sub, "domains", "domain reputation and blocking (/api/v1/domains/*)")
    rep = leaf(domains, "reputation", "tracked domains by score, riskiest first")
    rep.add_argument("--domain", help="exact domain")
    rep.add_argument("--min-score", type=float, help="only scores >= this (0.0-1.0)")
    _pages(rep)
    rep.set_defaults(handler=domains_reputation)
    for verb, handler, text in (("block", domains_block, "add"), ("unblock", domains_unblock, "remove")):
        parser = leaf(domains, verb, f"{text} a blocklist pattern (example.com or *.example.com)")
        parser.add_argument("domain")
        parser.set_defaults(handler=handler)

    mitre = group(sub, "mitre", "MITRE ATT&CK coverage")
    leaf(mitre, "coverage", "techniques the enabled engines detect").set_defaults(handler=mitre_coverage)
