"""Replay: every frame of a capture through the real compiled programs, then the same engines.

Nothing is attached: each program is loaded privately and run with BPF_PROG_TEST_RUN, in the
order a live packet meets them on one interface — XDP ``xdp_firewall`` (tail-calling
``xdp_ratelimit``, or ``xdp_ratelimit`` alone when the firewall is off), then the TC ingress
classifiers in the agent's priority order: ``tc_threatintel``, ``tc_ids``, ``tc_dns``. A drop
ends the packet's journey, as it would on the wire. After each program its ring is drained and
its events go through the agent's own services (firewall, rate-limit, threat-intel, IDS/IPS,
L7 and DNS alert services) into an in-memory sink; state those services keep (IDS thresholds,
the IPS detection counter, the DNS cache, blocklist entries written into the replay's own
``xdp_firewall`` maps) carries over from packet to packet as it does in the agent.

Time: the capture's timestamps drive every clock we control — the rate limiter's test clock in
the kernel program, the IDS/IPS/DNS services, the sweeps (every 5 s of capture time) and the
alerts' timestamps. Packets are processed as fast as possible, one after another.
"""

import dataclasses
import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sentinel_adapters.ebpf import codec
from sentinel_adapters.ebpf.blocklist import BpfBlocklist
from sentinel_adapters.ebpf.dns_source import INGRESS_PROGRAM as DNS_INGRESS
from sentinel_adapters.ebpf.dns_source import BpfDnsSource
from sentinel_adapters.ebpf.errors import BpfError
from sentinel_adapters.ebpf.event_source import (
    BpfFirewallEventSource,
    BpfRateLimitEventSource,
    BpfThreatIntelEventSource,
)
from sentinel_adapters.ebpf.firewall_map import BpfFirewallMap
from sentinel_adapters.ebpf.ids_map import BpfIdsPrefilter
from sentinel_adapters.ebpf.ids_source import BpfIdsEventSource
from sentinel_adapters.ebpf.loader import BpfObject
from sentinel_adapters.ebpf.prog_run import XDP_ABORTED, XDP_DROP, XDP_PASS, prog_test_run
from sentinel_adapters.ebpf.ratelimit_map import BpfRateLimitMap
from sentinel_adapters.ebpf.threatintel_map import BpfIocMap
from sentinel_agent.detection import build_ids_engine
from sentinel_agent.replay.capture import CapturedFrame, describe
from sentinel_agent.runtime import firewall_settings
from sentinel_application.alert_factory import AlertIds
from sentinel_application.dns_service import DnsService
from sentinel_application.firewall_alerts import FirewallAlertService
from sentinel_application.firewall_rules import FirewallRuleService
from sentinel_application.ids_alerts import IdsAlertService
from sentinel_application.ips_enforcement import IpsEnforcer
from sentinel_application.l7_alerts import L7AlertService
from sentinel_application.ratelimit_alerts import RateLimitAlertService
from sentinel_application.ratelimit_rules import RateLimitRuleService, RateLimitSettings
from sentinel_application.threatintel_alerts import ThreatIntelAlertService
from sentinel_domain.alert import Alert, Component
from sentinel_domain.common import Protocol
from sentinel_domain.dns import DnsCache
from sentinel_domain.firewall import Verdict
from sentinel_domain.ids import PrefilterKey
from sentinel_domain.ips import IpsEngine
from sentinel_domain.l7 import L7Engine
from sentinel_domain.reputation import ReputationEngine
from sentinel_infrastructure.config import LoadedConfig
from sentinel_ports.alert_sink import AlertSink

TC_ACT_SHOT = 2
CHAIN = ("xdp_firewall", "xdp_ratelimit", "tc_threatintel", "tc_ids", "tc_dns")  # a packet's order
SWEEP_EVERY_NS = 5_000_000_000  # the agent's housekeeping period
_XDP_NAMES = {0: "aborted", 1: "drop", 2: "pass", 3: "tx", 4: "redirect"}
_ALERT_PROGRAM = {
    Component.IDS: "tc_ids",
    Component.IPS: "tc_ids",
    Component.L7: "tc_ids",
    Component.DNS: "tc_dns",
}


class MemoryAlertSink(AlertSink):
    """Keeps every alert; the replay reads the new ones after each packet."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def publish(self, alert: Alert) -> None:
        self.alerts.append(alert)

    def published(self) -> int:
        return len(self.alerts)


@dataclass(slots=True)
class RuleHit:
    program: str
    rule_id: str
    action: str


@dataclass(slots=True)
class PacketResult:
    """What happened to one frame. ``verdict``: pass, drop, tx, redirect or error."""

    index: int
    timestamp_ns: int
    length: int
    packet: str = ""  # a one-line description (capture.describe)
    verdict: str = "pass"
    decided_by: str = ""  # the program that dropped it (empty: nothing did)
    rule_hits: list[RuleHit] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    error: str = ""


def _retimed(events: Iterable[Any], timestamp_ns: int) -> list[Any]:
    """Events stamped with the capture time instead of the replay's kernel clock."""
    return [dataclasses.replace(e, timestamp_ns=timestamp_ns) for e in events]


class Replayer:
    """Loads the programs the configuration enables (nothing attached); ``close`` releases them."""

    def __init__(self, loaded: LoadedConfig) -> None:
        self._loaded = loaded
        self.sink = MemoryAlertSink()
        self._ids = AlertIds()
        self._now_ns = 1
        self._last_sweep_ns = 0
        self._objects: list[BpfObject] = []
        self._closers: list[Callable[[], None]] = []
        self._loaded_names: set[str] = set()
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    # -- composition (mirrors AgentRuntime.start / DetectionPrograms.start) ------------------------
    def _load(self, name: str) -> BpfObject:
        obj = BpfObject.load_bundled(name)
        self._objects.append(obj)
        self._loaded_names.add(name)
        return obj

    @property
    def programs(self) -> list[str]:
        """The programs loaded, in the order a packet meets them."""
        return [name for name in CHAIN if name in self._loaded_names]

    def _clock_s(self) -> float:
        return self._now_ns / 1e9

    def _build(self) -> None:
        cfg, rules = self._loaded.config, self._loaded.detection
        assert rules is not None
        self._interfaces = {}
        for name in cfg.agent.interfaces:
            try:
                self._interfaces[name] = socket.if_nametoindex(name)
            except OSError:
                continue  # not on this host: interface-scoped rules then never match
        # Packets arrive on the first configured interface that exists here (else on none).
        self.ingress_ifindex = next(iter(self._interfaces.values()), 0)
        self.firewall: BpfFirewallMap | None = None
        self.ratelimit: BpfRateLimitMap | None = None
        fw_obj = None
        if cfg.firewall.enabled:
            fw_obj = self._load("xdp_firewall")
            self.firewall = BpfFirewallMap(fw_obj, self._interfaces)
            FirewallRuleService(firewall_settings(self._loaded), self.firewall.apply, self._now).install()
            self._fw_source = BpfFirewallEventSource(fw_obj, self.firewall.rule_id_at)
            self._closers.append(self._fw_source.close)
            self._fw_alerts = FirewallAlertService(self.sink, self._ids)
        if cfg.ratelimit.enabled:
            rl_obj = self._load("xdp_ratelimit")
            self.ratelimit = BpfRateLimitMap(rl_obj)
            settings = RateLimitSettings.from_policies(self._loaded.ratelimit_policies)
            RateLimitRuleService(settings, self.ratelimit.apply, self._now).install()
            self._rl_source = BpfRateLimitEventSource(rl_obj)
            self._closers.append(self._rl_source.close)
            self._rl_alerts = RateLimitAlertService(self.ratelimit.policy_id, self.sink, self._ids)
            if self.firewall is not None:
                self.firewall.chain_ratelimit(self.ratelimit.prog_fd)
        self.ips = None
        if cfg.ips.enabled and fw_obj is not None:
            self.ips = IpsEnforcer(IpsEngine(rules.ips_policy), BpfBlocklist(fw_obj), self._clock_s)
        self.prefilter: BpfIdsPrefilter | None = None
        if cfg.ids.enabled or cfg.l7.enabled or (cfg.ips.enabled and rules.prevention_rules):
            engine = build_ids_engine(rules)
            self.prefilter = BpfIdsPrefilter(self._load("tc_ids"))
            keys = engine.prefilter_keys() | {PrefilterKey(Protocol.TCP, p) for p in rules.l7_ports}
            self.prefilter.install(keys)
            self.prefilter.configure(cfg.ids.capture_bytes, sample_every=rules.ids_sample_every)
            self._ids_source = BpfIdsEventSource(self._objects[-1])
            self._closers.append(self._ids_source.close)
            self._ids_alerts = IdsAlertService(lambda: engine, self.sink, self._now, self.ips, self._ids)
            l7_engine, l7_ports = L7Engine(rules.l7_rules), frozenset(rules.l7_ports)
            self._l7_alerts = L7AlertService(lambda: l7_engine, lambda: l7_ports, self.sink, self._ids)
        self.dns: DnsService | None = None
        if cfg.dns.enabled:
            dns_obj = self._load("tc_dns")
            cache = cfg.dns.cache
            self.dns = DnsService(
                rules.dns_patterns,
                rules.dns_policy,
                BpfBlocklist(fw_obj) if fw_obj is not None else None,
                self.sink,
                self._clock_s,
                DnsCache(cache.max_entries, cache.min_ttl_secs),
                self._ids,
                ReputationEngine(rules.reputation) if rules.reputation is not None else None,
            )
            self._dns_fd = dns_obj.program_fd(DNS_INGRESS)
            self._dns_source = BpfDnsSource(dns_obj)
            self._closers.append(self._dns_source.close)
        self.iocs: BpfIocMap | None = None
        self.feed_report: str = ""
        if cfg.threatintel.enabled:
            self.iocs = BpfIocMap(self._load("tc_threatintel"))
            self._closers.append(self.iocs.close)
            self.iocs.load([], self._clock_s())
            self._ti_source = BpfThreatIntelEventSource(self._objects[-1])
            self._closers.append(self._ti_source.close)
            self._ti_alerts = ThreatIntelAlertService(self.iocs.feed_id, self.sink, self._ids)
            if cfg.threatintel.feeds:
                self._fetch_feeds()

    def _fetch_feeds(self) -> None:
        """One synchronous fetch of every configured feed, as the daemon does at start (the IOC
        set then stays as fetched: replay does not refresh feeds on capture time)."""
        from sentinel_agent.feeds import FeedComposition

        assert self.iocs is not None
        feeds = FeedComposition(self._loaded.config.threatintel, self.iocs, lambda: self.dns)
        try:
            self.feed_report = feeds.service.refresh().message
        finally:
            feeds.fetcher.close()

    def _now(self) -> int:
        return self._now_ns

    # -- replay ---------------------------------------------------------------------------------
    def run(self, frames: Iterable[CapturedFrame]) -> Iterator[PacketResult]:
        for captured in frames:
            yield self.replay_one(captured)

    def replay_one(self, captured: CapturedFrame) -> PacketResult:
        # Clocks never run backwards (captures merged from several sources can).
        self._now_ns = max(self._now_ns, captured.timestamp_ns, 1)
        result = PacketResult(
            captured.index, captured.timestamp_ns, len(captured.frame), describe(captured.frame)
        )
        before = len(self.sink.alerts)
        if len(captured.frame) < 14:
            result.verdict, result.error = "error", "shorter than an Ethernet header"
            return result
        try:
            if self._xdp(captured.frame, result):
                self._tc(captured.frame, result)
        except BpfError as exc:
            result.verdict, result.error = "error", f"BPF_PROG_TEST_RUN refused the frame: {exc}"
        result.alerts = self.sink.alerts[before:]
        for alert in result.alerts:
            program = _ALERT_PROGRAM.get(alert.component)
            if program is not None:
                result.rule_hits.append(RuleHit(program, alert.rule_id, alert.action.value))
        self._sweep()
        return result

    def _xdp(self, frame: bytes, result: PacketResult) -> bool:
        """Run the XDP stage; False when it did not pass the frame on."""
        entry = self.firewall or self.ratelimit
        if entry is None:
            return True
        if self.ratelimit is not None:
            self.ratelimit.set_test_clock(self._now_ns)
        run = prog_test_run(entry.prog_fd, frame, ingress_ifindex=self.ingress_ifindex)
        fw_events = _retimed(self._fw_source.read(0), self._now_ns) if self.firewall else []
        rl_events = _retimed(self._rl_source.read(0), self._now_ns) if self.ratelimit else []
        for event in fw_events:
            rule = "ips-blocklist" if event.blocklisted else event.rule_id or "default-policy"
            result.rule_hits.append(RuleHit("xdp_firewall", rule, event.verdict.value))
        if self.firewall is not None and not fw_events:
            meta = None
            if len(run.data_out) >= len(frame) + codec.XDP_META.size:
                meta = codec.decode_xdp_meta(run.data_out[: codec.XDP_META.size])
            if meta is not None and meta[0] != codec.NO_RULE:
                rule_id = self.firewall.rule_id_at(1 if meta[3] & codec.META_GEN1 else 0, meta[0])
                result.rule_hits.append(RuleHit("xdp_firewall", rule_id or str(meta[0]), Verdict.PASS.value))
        for rl_event in rl_events:
            assert self.ratelimit is not None
            action = "drop" if rl_event.dropped else "log"
            result.rule_hits.append(
                RuleHit("xdp_ratelimit", self.ratelimit.policy_id(rl_event.policy_index), action)
            )
        if fw_events:
            self._fw_alerts.handle(fw_events)
        if rl_events:
            self._rl_alerts.handle(rl_events)
        if run.retval == XDP_PASS:
            return True
        result.verdict = "drop" if run.retval in (XDP_DROP, XDP_ABORTED) else _XDP_NAMES.get(run.retval, "?")
        dropped_by_rl = any(e.dropped for e in rl_events)
        result.decided_by = "xdp_ratelimit" if dropped_by_rl or self.firewall is None else "xdp_firewall"
        return False

    def _tc(self, frame: bytes, result: PacketResult) -> None:
        """The TC ingress classifiers in the agent's priority order; a drop stops the chain."""
        if self.iocs is not None:
            run = prog_test_run(self.iocs.prog_fd, frame)
            events = _retimed(self._ti_source.read(0), self._now_ns)
            for event in events:
                feed = self.iocs.feed_id(event.feed_index)
                result.rule_hits.append(
                    RuleHit("tc_threatintel", f"ti-{feed}", "drop" if event.dropped else "log")
                )
            self._ti_alerts.handle(events)
            if run.retval == TC_ACT_SHOT:
                result.verdict, result.decided_by = "drop", "tc_threatintel"
                return
        if self.prefilter is not None:
            run = prog_test_run(self.prefilter.prog_fd(), frame)
            payloads = _retimed(self._ids_source.read(0), self._now_ns)
            if payloads:
                self._ids_alerts.handle(payloads)
                self._l7_alerts.handle(payloads)
            if run.retval == TC_ACT_SHOT:
                result.verdict, result.decided_by = "drop", "tc_ids"
                return
        if self.dns is not None:
            prog_test_run(self._dns_fd, frame)  # passive: never drops
            captures = _retimed(self._dns_source.read(0), self._now_ns)
            if captures:
                self.dns.handle(captures)

    def _sweep(self) -> None:
        """The agent's periodic expiry (IPS blacklist TTLs, DNS blocks), on capture time."""
        if self._now_ns - self._last_sweep_ns < SWEEP_EVERY_NS:
            return
        if self._last_sweep_ns:
            if self.ips is not None:
                self.ips.sweep()
            if self.dns is not None:
                self.dns.sweep()
        self._last_sweep_ns = self._now_ns

    def close(self) -> None:
        for close in reversed(self._closers):
            close()
        self._closers.clear()
        for obj in reversed(self._objects):
            obj.close()
        self._objects.clear()
