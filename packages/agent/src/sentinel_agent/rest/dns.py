"""``/api/v1/dns/*`` and ``/api/v1/domains/*`` (contract §2.2, §7.8, §7.9).

Reads and writes take the DNS service's lock (the ring consumer mutates the cache and the
blocklist under it) and run in a worker thread: a full cache holds up to 1,000,000 domains.
"""

import asyncio
import contextlib
import ipaddress
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from starlette.requests import Request

from sentinel_agent.rest import models as m
from sentinel_agent.rest._common import MAX_TEXT, BadRequestError, error, paging, unavailable
from sentinel_agent.rest.registry import Endpoint, Param, decode_body, int_param, str_param
from sentinel_domain.dns import DnsCache, DomainNameError, parse_config_patterns

API_SOURCE = "api"
T = TypeVar("T")


@contextlib.contextmanager
def _locked(dns: Any) -> Iterator[None]:
    """Hold the service's lock (``lock`` when it exposes one, else its private ``_lock``)."""
    lock = getattr(dns, "lock", None) or getattr(dns, "_lock", None)
    if lock is None:
        yield
        return
    with lock:
        yield


def _cache_rows(cache: DnsCache) -> list[tuple[str, dict[Any, float], int]]:
    """(domain, {address: expiry}, query count) of every cached domain, LRU order.

    DnsCache has no public iterator yet; this reads its forward table (a copy, under the lock).
    """
    entries = getattr(cache, "_entries", {})
    return [(name, dict(entry.addresses), entry.query_count) for name, entry in entries.items()]


def _blocklist_counts(runtime: Any, dns: Any) -> dict[str, int]:
    return {
        "blocklist_pattern_count": len(dns.domains),
        # domains answered while blocked, and addresses blocked because of them
        "blocklist_domains_blocked": int(getattr(dns, "blocked_domains", 0)),
        "blocklist_ips_injected": int(dns.injected),
    }


def cache_page(dns: Any, params: Any, now: float) -> dict[str, Any]:
    """``{entries, page, page_size}`` filtered by ``domain`` (substring) and ``ip`` (reverse)."""
    page, size = paging(params)
    needle = (params.get("domain") or "").strip().lower()[:MAX_TEXT]
    ip_text = params.get("ip")
    wanted: set[str] | None = None
    with _locked(dns):
        if ip_text:
            try:
                address = ipaddress.ip_address(ip_text.strip())
            except ValueError:
                raise BadRequestError(f"invalid IP address '{ip_text[:64]}'") from None
            wanted = set(dns.cache.reverse_lookup(address, now))
        rows = _cache_rows(dns.cache)
        entries = []
        for name, addresses, count in rows:
            live = {a: e for a, e in addresses.items() if e > now}
            if not live or (needle and needle not in name) or (wanted is not None and name not in wanted):
                continue
            entries.append((name, live, count))
        chosen = entries[page * size : (page + 1) * size]
        out = [
            {
                "domain": name,
                "ips": [str(a) for a in sorted(live, key=lambda a: (a.version, int(a)))],
                "ttl_remaining_secs": max(0, int(max(live.values()) - now)),
                "query_count": count,
                "is_blocked": dns.domains.match(name) is not None,
            }
            for name, live, count in chosen
        ]
    return {"entries": out, "page": page, "page_size": size}


def flush_cache(dns: Any) -> int:
    """Empty the cache (counters kept); returns how many domains it held."""
    with _locked(dns):
        old = dns.cache
        fresh = DnsCache(old.max_entries, old.min_ttl_secs)
        fresh.hits, fresh.misses, fresh.evictions, fresh.expired = (
            old.hits,
            old.misses,
            old.evictions,
            old.expired,
        )
        dns.cache = fresh
        return len(old)


def reputation_page(engine: Any, params: Any, now: float) -> dict[str, Any]:
    """``{entries, page, page_size}``, by decayed score, highest first."""
    page, size = paging(params)
    raw_min = params.get("min_score")
    try:
        min_score = float(raw_min) if raw_min not in (None, "") else None
    except ValueError:
        raise BadRequestError("min_score must be a number") from None
    domain = (params.get("domain") or "").strip()[:MAX_TEXT]
    if domain:
        found = engine.get(domain, now)
        snapshots = [found] if found is not None else []
    else:
        snapshots = engine.top(len(engine), now)
    if min_score is not None:
        snapshots = [s for s in snapshots if s.effective_score >= min_score]
    chosen = snapshots[page * size : (page + 1) * size]
    return {
        "entries": [
            {
                "domain": s.domain,
                "score": round(s.effective_score, 6),
                "factors": [f.value for f in s.factors],
                "first_seen": int(s.first_seen),
                "last_seen": int(s.last_seen),
                "is_blocked": s.blocked,
            }
            for s in chosen
        ],
        "page": page,
        "page_size": size,
    }


def dns_routes(runtime: Any) -> list[Endpoint]:
    def service() -> Any:
        return runtime.detection.dns

    async def in_thread(fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def status(_: Request) -> Any:
        dns = service()
        if dns is None:
            body = {"blocklist_pattern_count": 0, "blocklist_domains_blocked": 0, "blocklist_ips_injected": 0}
            return {"enabled": False, **body}
        return {"enabled": True, **_blocklist_counts(runtime, dns)}

    async def cache(request: Request) -> Any:
        dns = service()
        if dns is None:
            return unavailable("DNS intelligence")
        try:
            return await in_thread(cache_page, dns, request.query_params, time.time())
        except BadRequestError as exc:
            return error(400, "VALIDATION_ERROR", str(exc))

    async def flush(_: Request) -> Any:
        dns = service()
        if dns is None:
            return unavailable("DNS intelligence")
        return {"flushed_entries": await in_thread(flush_cache, dns)}

    async def stats(_: Request) -> Any:
        dns = service()
        if dns is None:
            return unavailable("DNS intelligence")
        with _locked(dns):
            s = dns.cache.stats()
            counts = _blocklist_counts(runtime, dns)
        return {
            "total_entries": s.entries,
            "hit_count": s.hits,
            "miss_count": s.misses,
            "eviction_count": s.evictions,
            "expired_count": s.expired,
            "top_queried": [{"domain": d, "query_count": c} for d, c in s.top_queried],
            **counts,
        }

    async def blocklist(_: Request) -> Any:
        dns = service()
        if dns is None:
            return unavailable("DNS intelligence")
        action = runtime.loaded.config.dns.blocklist.action.strip().lower()
        matches = getattr(dns, "pattern_matches", {})  # per-pattern hit counts, when tracked
        with _locked(dns):
            texts = sorted({p.text for p in dns.domains.patterns()})
        return [{"pattern": t, "action": action, "match_count": int(matches.get(t, 0))} for t in texts]

    async def reputation(request: Request) -> Any:
        dns = service()
        engine = dns.reputation if dns is not None else None
        if engine is None:
            return unavailable("domain reputation (dns.reputation.enabled)")
        try:
            with _locked(dns):
                return reputation_page(engine, request.query_params, time.time())
        except BadRequestError as exc:
            return error(400, "VALIDATION_ERROR", str(exc))

    async def add_domain(request: Request) -> Any:
        dns = service()
        if dns is None:
            return unavailable("DNS intelligence")
        try:
            text = (await decode_body(request, m.DomainBlockRequest)).domain
            (pattern,) = parse_config_patterns([text], API_SOURCE)
        except BadRequestError as exc:
            return error(400, "VALIDATION_ERROR", str(exc))
        except DomainNameError as exc:
            return error(400, "INVALID_PATTERN", str(exc).split(": ", 1)[-1])
        with _locked(dns):
            added = pattern not in dns.domains.patterns(API_SOURCE)
            dns.domains.add(pattern)
        return {"domain": pattern.text, "added": added}

    async def remove_domain(request: Request) -> Any:
        dns = service()
        if dns is None:
            return unavailable("DNS intelligence")
        text = request.path_params["domain"][:MAX_TEXT]
        try:
            (pattern,) = parse_config_patterns([text], API_SOURCE)
        except DomainNameError:
            return error(404, "PATTERN_NOT_FOUND", f"no API blocklist pattern '{text}'")
        with _locked(dns):
            removed = dns.domains.remove(pattern)
        if not removed:
            return error(404, "PATTERN_NOT_FOUND", f"no API blocklist pattern '{pattern.text}'")
        return {"domain": pattern.text, "removed": True}

    paging_params = (
        int_param("page", "page number, from 0", 0, MAX_PAGE, 0),
        int_param("page_size", "entries per page", 1, 500, 50),
    )
    return [
        Endpoint("GET", "/api/v1/dns/status", status, "DNS intelligence status", "dns", m.DnsStatusResponse),
        Endpoint(
            "GET",
            "/api/v1/dns/cache",
            cache,
            "Cached domains and their live addresses",
            "dns",
            m.DnsCachePage,
            errors=(400, 503),
            params=(
                str_param("domain", "domains containing this text", MAX_TEXT),
                str_param("ip", "domains that resolved to this address (reverse lookup)", 64),
                *paging_params,
            ),
        ),
        Endpoint(
            "DELETE",
            "/api/v1/dns/cache",
            flush,
            "Empty the DNS cache",
            "dns",
            m.DnsFlushResponse,
            errors=(503,),
        ),
        Endpoint(
            "GET",
            "/api/v1/dns/stats",
            stats,
            "DNS cache statistics",
            "dns",
            m.DnsStatsResponse,
            errors=(503,),
        ),
        Endpoint(
            "GET",
            "/api/v1/dns/blocklist",
            blocklist,
            "Domain blocklist patterns",
            "dns",
            list[m.DnsBlocklistEntry],
            errors=(503,),
        ),
        Endpoint(
            "GET",
            "/api/v1/domains/reputation",
            reputation,
            "Domain reputation scores, highest first",
            "domains",
            m.ReputationPage,
            errors=(400, 503),
            params=(
                str_param("domain", "this domain only (exact)", MAX_TEXT),
                Param("min_score", {"type": "number"}, "at least this score"),
                *paging_params,
            ),
        ),
        Endpoint(
            "POST",
            "/api/v1/domains/blocklist",
            add_domain,
            "Block a domain (exact or *.suffix)",
            "domains",
            m.DomainAddedResponse,
            request=m.DomainBlockRequest,
            errors=(400, 503),
        ),
        Endpoint(
            "DELETE",
            "/api/v1/domains/blocklist/{domain}",
            remove_domain,
            "Unblock a domain the API blocked",
            "domains",
            m.DomainRemovedResponse,
            errors=(404, 503),
            path_limits={"domain": MAX_TEXT},
        ),
    ]


MAX_PAGE = 10_000_000
