"""Composition of threat-intel feed fetching: the HTTP fetcher, the refresh service and what it feeds.

The service loads the kernel IOC map (``BpfIocMap``); STIX domain indicators go to the DNS
blocklist as patterns of source ``stix:<feed_id>`` (contract §7.6) when ``tc_dns`` runs; domains
from other formats stay in the IOC list only (upstream's parsers take only addresses from them).
"""

from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import structlog

from sentinel_adapters.feeds import HttpFeedFetcher
from sentinel_application.threatintel_feeds import FeedOutcome, ThreatIntelFeedService
from sentinel_domain.dns import DomainPattern, MatchMode
from sentinel_domain.threatintel import FeedFormat, Ioc, IocKind, ThreatIntelConfig
from sentinel_infrastructure.config.detection import ThreatIntelSection
from sentinel_infrastructure.net.ssrf import parse_networks
from sentinel_ports.ioc_map import IocMap

log = structlog.get_logger("ebpfsentinel.agent")
STIX_SOURCE = "stix:"


def threatintel_config(section: ThreatIntelSection) -> ThreatIntelConfig:
    """The domain's view of the (already validated) ``threatintel`` section."""
    raw = {k: v for k, v in msgspec.structs.asdict(section).items() if v is not None}
    return ThreatIntelConfig.from_dict(raw)


def _log_outcome(outcome: FeedOutcome) -> None:
    if outcome.ok:
        log.info("threat-intel feed fetched", feed=outcome.feed_id, detail=outcome.detail, iocs=outcome.iocs)
    else:
        log.warning(
            "threat-intel feed failed", feed=outcome.feed_id, error=outcome.detail, iocs_kept=outcome.iocs
        )


class FeedComposition:
    """Owns the fetcher and the service for one running agent (``dns`` is read at each load)."""

    def __init__(self, section: ThreatIntelSection, iocs: IocMap, dns: Callable[[], Any]) -> None:
        self._dns = dns
        self._stix_sources: set[str] = set()
        config = threatintel_config(section)
        self._stix_feeds = {f.id for f in config.feeds if f.format is FeedFormat.STIX}
        self.fetcher = HttpFeedFetcher(parse_networks(section.allow_networks))
        self.service = ThreatIntelFeedService(
            config,
            self.fetcher,
            iocs,
            on_outcome=_log_outcome,
            on_loaded=self._loaded,
        )

    def _loaded(self, iocs: Sequence[Ioc]) -> None:
        kinds: dict[IocKind, int] = {}
        for ioc in iocs:
            kinds[ioc.kind] = kinds.get(ioc.kind, 0) + 1
        log.info("threat-intel IOC set loaded", **{k.value: n for k, n in kinds.items()})
        dns = self._dns()
        if dns is None:
            return
        by_feed: dict[str, list[DomainPattern]] = {}
        for ioc in iocs:
            if ioc.kind is IocKind.DOMAIN and ioc.feed_id in self._stix_feeds:
                source = STIX_SOURCE + ioc.feed_id
                by_feed.setdefault(source, []).append(DomainPattern(ioc.value, MatchMode.EXACT, source))
        for source in self._stix_sources - by_feed.keys():
            dns.domains.replace_source(source, ())
        for source, patterns in by_feed.items():
            dns.domains.replace_source(source, patterns)
        self._stix_sources = set(by_feed)

    def start(self) -> None:
        self.service.start()

    def reconfigure(self, section: ThreatIntelSection) -> None:
        """A config reload: new allow-list at once; feeds and mode from the next (immediate) cycle."""
        config = threatintel_config(section)
        self.fetcher.set_allow_networks(parse_networks(section.allow_networks))
        self._stix_feeds = {f.id for f in config.feeds if f.format is FeedFormat.STIX}
        self.service.reconfigure(config)

    def stop(self) -> None:
        self.service.stop()
        self.fetcher.close()
