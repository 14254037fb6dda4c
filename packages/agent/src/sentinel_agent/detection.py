"""Composition of the detection programs: tc_threatintel, tc_ids (+ IPS enforcement), tc_dns
and uprobe_dlp.

Engines are rebuilt on reload and swapped by reference; the consumers read them per batch.
Each program is optional by config; one that fails to load or attach is reported in readyz and
the rest of the agent keeps running.
"""

import time
from collections.abc import Callable
from typing import Any

import structlog

from sentinel_adapters.ebpf.attach import attach_tc, detach_tc
from sentinel_adapters.ebpf.blocklist import BpfBlocklist
from sentinel_adapters.ebpf.dlp_source import BpfDlpEventSource
from sentinel_adapters.ebpf.dns_source import BpfDnsSource, attach_tc_dns, detach_tc_dns
from sentinel_adapters.ebpf.errors import BpfError
from sentinel_adapters.ebpf.event_source import BpfThreatIntelEventSource
from sentinel_adapters.ebpf.ids_map import BpfIdsPrefilter
from sentinel_adapters.ebpf.ids_source import BpfIdsEventSource
from sentinel_adapters.ebpf.loader import BpfObject
from sentinel_adapters.ebpf.threatintel_map import BpfIocMap
from sentinel_adapters.ebpf.uprobe import BpfDlpProbe
from sentinel_adapters.matching import HyperscanMatcher
from sentinel_agent.feeds import FeedComposition
from sentinel_application.alert_factory import AlertIds
from sentinel_application.dlp_alerts import DlpAlertService
from sentinel_application.dns_service import DnsService
from sentinel_application.ids_alerts import IdsAlertService
from sentinel_application.ips_enforcement import IpsEnforcer
from sentinel_application.l7_alerts import L7AlertService
from sentinel_application.threatintel_alerts import ThreatIntelAlertService
from sentinel_domain.common import Protocol
from sentinel_domain.dlp import DlpEngine
from sentinel_domain.dns import DnsCache
from sentinel_domain.ids import IdsEngine, PrefilterKey
from sentinel_domain.ips import IpsEngine
from sentinel_domain.l7 import L7Engine
from sentinel_domain.reputation import ReputationEngine
from sentinel_domain.threatintel import Ioc
from sentinel_infrastructure.config import LoadedConfig
from sentinel_infrastructure.config.detection import DetectionRules
from sentinel_ports.alert_sink import AlertSink
from sentinel_ports.event_source import EventSource

log = structlog.get_logger("ebpfsentinel.agent")
TC_IDS, UPROBE_DLP, TC_THREATINTEL, TC_DNS = "tc_ids", "uprobe_dlp", "tc_threatintel", "tc_dns"
# TC classifier priorities on a shared clsact hook: threat intel first (it drops), then IDS, DNS.
TC_PRIORITY = {"tc_threatintel": 1, TC_IDS: 2, "tc_dns": 3}


def build_ids_engine(rules: DetectionRules) -> IdsEngine:
    engine = IdsEngine(
        HyperscanMatcher(), rules.ids_rules, rules.prevention_rules, rules.signatures, rules.ids_mode
    )
    for skipped in (*rules.skipped_signatures, *engine.skipped):
        log.warning("signature skipped", rule=str(skipped))
    return engine


class DetectionPrograms:
    """Owns tc_ids/uprobe_dlp objects, their consumers' engines, and the IPS enforcer."""

    def __init__(
        self,
        loaded: LoadedConfig,
        sink: AlertSink,
        ids: AlertIds,
        load: Callable[[str], BpfObject | None],
        blocked: Callable[[str, str, str], None],
        consume: Callable[[EventSource[Any], Callable[[list[Any]], int]], None],
    ) -> None:
        self._loaded = loaded
        self._sink = sink
        self._ids = ids
        self._load = load
        self._blocked = blocked
        self._consume = consume
        self._tc_attached: list[tuple[str, bool]] = []
        self._probe: BpfDlpProbe | None = None
        self.ids_engine: IdsEngine | None = None
        self.dlp_engine: DlpEngine | None = None
        self.ips: IpsEnforcer | None = None
        self.prefilter: BpfIdsPrefilter | None = None
        self.l7_engine = L7Engine(())
        self.l7_ports: frozenset[int] = frozenset()
        self.iocs: BpfIocMap | None = None
        self.feeds: FeedComposition | None = None  # threat-intel feed fetching (with the IOC map)
        self.dns: DnsService | None = None
        self._ti_attached: list[str] = []
        self._dns_attached: list[str] = []

    def start(self, firewall_obj: BpfObject | None) -> None:
        cfg = self._loaded.config
        rules = self._loaded.detection
        assert rules is not None
        if cfg.ips.enabled and firewall_obj is not None:
            self.ips = IpsEnforcer(IpsEngine(rules.ips_policy), BpfBlocklist(firewall_obj), time.time)
        if cfg.threatintel.enabled:
            self._start_threatintel()
        if cfg.dns.enabled:
            self._start_dns(rules, firewall_obj)
        if cfg.ids.enabled or cfg.l7.enabled or (cfg.ips.enabled and rules.prevention_rules):
            self._start_ids(rules)
        if cfg.dlp.enabled:
            self._start_dlp(rules)

    def _start_ids(self, rules: DetectionRules) -> None:
        try:
            self.ids_engine = build_ids_engine(rules)
        except Exception as exc:  # a pattern hyperscan refuses beyond our syntax check
            self._blocked(TC_IDS, "*", f"IDS rules rejected: {exc}")
            return
        obj = self._load(TC_IDS)
        if obj is None:
            return
        self.prefilter = BpfIdsPrefilter(obj)
        self.prefilter.apply(
            self._prefilter_keys(self.ids_engine, rules),
            self._loaded.config.ids.capture_bytes,
            sample_every=rules.ids_sample_every,
        )
        service = IdsAlertService(lambda: self.ids_engine, self._sink, time.time_ns, self.ips, self._ids)  # type: ignore[arg-type,return-value]
        self.l7_ports = frozenset(rules.l7_ports)
        l7 = L7AlertService(lambda: self.l7_engine, lambda: self.l7_ports, self._sink, self._ids)

        def handle(events: list[Any]) -> int:
            return service.handle(events) + l7.handle(events)

        self._consume(BpfIdsEventSource(obj), handle)
        egress = self._loaded.config.ids.inspect_egress
        for interface in self._loaded.config.agent.interfaces:
            for direction in (False, True) if egress else (False,):
                try:
                    attach_tc(
                        self.prefilter.prog_fd(egress=direction),
                        interface,
                        egress=direction,
                        priority=TC_PRIORITY[TC_IDS],
                    )
                    self._tc_attached.append((interface, direction))
                except BpfError as exc:
                    self._blocked(TC_IDS, interface, str(exc))

    def use_l7_engine(self, engine: L7Engine) -> None:
        """Swap the L7 engine the consumer reads per batch (the runtime's L7RuleService calls this
        with the YAML rules plus the API's, at start, on reload and on every API change)."""
        self.l7_engine = engine

    # -- threat intel: what the REST views read -----------------------------------------------
    @property
    def loaded_iocs(self) -> tuple[Ioc, ...]:
        """The IOC set last loaded from the feeds (every kind; the kernel enforces addresses)."""
        return self.feeds.service.loaded_iocs if self.feeds is not None else ()

    @property
    def feeds_last_fetched(self) -> dict[str, int]:
        return self.feeds.service.last_fetched if self.feeds is not None else {}

    def feed_reload_counts(self) -> dict[tuple[str, str], int]:
        """(feed id, success|failure) → fetches (``rules_reloads_total{component=<feed>}``)."""
        return self.feeds.service.reload_counts() if self.feeds is not None else {}

    def _start_threatintel(self) -> None:
        """tc_threatintel with the IOC set, kept current by the feed service (agent/feeds.py)."""
        obj = self._load(TC_THREATINTEL)
        if obj is None:
            return
        self.iocs = BpfIocMap(obj)
        self.iocs.load([], time.time())
        self.feeds = FeedComposition(self._loaded.config.threatintel, self.iocs, lambda: self.dns)
        self.feeds.start()
        service = ThreatIntelAlertService(self.iocs.feed_id, self._sink, self._ids)
        self._consume(BpfThreatIntelEventSource(obj), service.handle)
        for interface in self._loaded.config.agent.interfaces:
            try:
                attach_tc(self.iocs.prog_fd, interface, priority=TC_PRIORITY[TC_THREATINTEL])
                self._ti_attached.append(interface)
            except BpfError as exc:
                self._blocked(TC_THREATINTEL, interface, str(exc))

    def _start_dns(self, rules: DetectionRules, firewall_obj: BpfObject | None) -> None:
        obj = self._load(TC_DNS)
        if obj is None:
            return
        cache_cfg = self._loaded.config.dns.cache
        self.dns = DnsService(
            rules.dns_patterns,
            rules.dns_policy,
            BpfBlocklist(firewall_obj) if firewall_obj is not None else None,
            self._sink,
            time.time,
            DnsCache(cache_cfg.max_entries, cache_cfg.min_ttl_secs),
            self._ids,
            ReputationEngine(rules.reputation) if rules.reputation is not None else None,
        )
        self._consume(BpfDnsSource(obj), self.dns.handle)
        for interface in self._loaded.config.agent.interfaces:
            try:
                attach_tc_dns(obj, interface, priority=TC_PRIORITY[TC_DNS])
                self._dns_attached.append(interface)
            except BpfError as exc:
                self._blocked(TC_DNS, interface, str(exc))

    @staticmethod
    def _prefilter_keys(engine: IdsEngine, rules: DetectionRules) -> frozenset[PrefilterKey]:
        """What the kernel must copy: the IDS rules' (protocol, port) keys plus the L7 ports."""
        return engine.prefilter_keys() | {PrefilterKey(Protocol.TCP, port) for port in rules.l7_ports}

    def _start_dlp(self, rules: DetectionRules) -> None:
        self.dlp_engine = DlpEngine(rules.dlp_patterns, HyperscanMatcher())
        obj = self._load(UPROBE_DLP)
        if obj is None:
            return
        try:
            self._probe = BpfDlpProbe(obj, self._loaded.config.dlp.library_path)
            self._probe.configure(min(self._loaded.config.dlp.capture_bytes, self._probe.max_capture_bytes))
            self._probe.attach()
        except (BpfError, OSError, ValueError) as exc:
            self._blocked(UPROBE_DLP, "libssl", str(exc))
            return
        service = DlpAlertService(lambda: self.dlp_engine, self._sink, self._ids)  # type: ignore[arg-type,return-value]
        self._consume(BpfDlpEventSource(obj), service.handle)

    def reload(self, new: LoadedConfig) -> None:
        """Rebuild the engines from ``new`` (raises, changing nothing, if they do not build)."""
        rules = new.detection
        assert rules is not None
        ids_engine = build_ids_engine(rules) if self.ids_engine is not None else None
        dlp_engine = DlpEngine(rules.dlp_patterns, HyperscanMatcher()) if self.dlp_engine else None
        if ids_engine is not None and self.prefilter is not None:
            # keys and capture settings in one generation switch: no packet sees half a reload
            self.prefilter.apply(
                self._prefilter_keys(ids_engine, rules),
                new.config.ids.capture_bytes,
                sample_every=rules.ids_sample_every,
            )
            self.l7_ports = frozenset(rules.l7_ports)
            self.ids_engine = ids_engine
        if dlp_engine is not None:
            self.dlp_engine = dlp_engine
        if self.dns is not None:
            self.dns.domains.replace_source("config", rules.dns_patterns)
        if self.feeds is not None and new.config.threatintel != self._loaded.config.threatintel:
            self.feeds.reconfigure(new.config.threatintel)
        self._loaded = new

    def sweep(self) -> None:
        if self.ips is not None:
            self.ips.sweep()
        if self.dns is not None:
            self.dns.sweep()

    def stop(self) -> None:
        if self.feeds is not None:
            self.feeds.stop()
            self.feeds = None
        for interface in self._ti_attached:
            detach_tc(interface, priority=TC_PRIORITY[TC_THREATINTEL])
        for interface in self._dns_attached:
            detach_tc_dns(interface, priority=TC_PRIORITY[TC_DNS])
        self._ti_attached.clear()
        self._dns_attached.clear()
        for interface, egress in self._tc_attached:
            detach_tc(interface, egress=egress, priority=TC_PRIORITY[TC_IDS])
            log.info("detached", program=TC_IDS, interface=interface, egress=egress)
        self._tc_attached.clear()
        if self._probe is not None:
            self._probe.detach()
            self._probe = None
