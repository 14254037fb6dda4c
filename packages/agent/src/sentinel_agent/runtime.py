"""The composition root: builds adapters and services from a LoadedConfig and runs them.

Nothing happens at import time; ``AgentRuntime.start`` loads and attaches, ``stop`` undoes it.
A program that fails to load or attach leaves the agent running degraded (readyz says why).

XDP chain per interface: ``xdp_firewall`` is attached and tail-calls ``xdp_ratelimit`` when
both are enabled; with the firewall disabled, ``xdp_ratelimit`` is attached on its own.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from sentinel_adapters.alerting.factory import build_alert_adapters
from sentinel_adapters.alerting.log_sink import LogAlertSink
from sentinel_adapters.ebpf.attach import XdpAttachment, XdpMode, attach_xdp, detach_xdp, ifindex
from sentinel_adapters.ebpf.errors import BpfError
from sentinel_adapters.ebpf.event_source import BpfFirewallEventSource, BpfRateLimitEventSource
from sentinel_adapters.ebpf.firewall_map import BpfFirewallMap
from sentinel_adapters.ebpf.loader import BpfObject
from sentinel_adapters.ebpf.ratelimit_map import BpfRateLimitMap
from sentinel_adapters.storage import LmdbAlertStore, LmdbAuditLog, LmdbEnvironment, LmdbRuleStore
from sentinel_adapters.storage.lmdb_env import StorageError
from sentinel_agent import __version__
from sentinel_agent.detection import DetectionPrograms
from sentinel_application.alert_broadcast import AlertBroadcast
from sentinel_application.alert_factory import AlertIds
from sentinel_application.alert_recorder import RecordingAlertSink
from sentinel_application.alerting import build_alert_pipeline
from sentinel_application.firewall_alerts import FirewallAlertService
from sentinel_application.firewall_rules import FirewallRuleService, FirewallSettings
from sentinel_application.l7_rules import L7RuleService, L7Settings
from sentinel_application.ratelimit_alerts import RateLimitAlertService
from sentinel_application.ratelimit_rules import RateLimitRuleService, RateLimitSettings
from sentinel_domain.alert import Alert, AlertAction, Component
from sentinel_domain.common import Severity
from sentinel_infrastructure.config import LoadedConfig
from sentinel_ports.alert_sink import AlertSink
from sentinel_ports.event_source import EventSource

log = structlog.get_logger("ebpfsentinel.agent")


def firewall_settings(loaded: LoadedConfig) -> FirewallSettings:
    """The YAML side of the firewall policy (the API's persisted changes go on top of it)."""
    policy = loaded.firewall_policy  # already validated by the loader
    return FirewallSettings(
        mode=policy.mode,
        default_policy=policy.default_policy,
        system_rules=tuple(r for r in policy.rules if r.system),
        yaml_rules=tuple(loaded.config.firewall.rules),
    )


def l7_settings(loaded: LoadedConfig) -> L7Settings:
    """The YAML side of the L7 rule set (the API's persisted changes go on top of it)."""
    return L7Settings(yaml_rules=tuple(loaded.config.l7.rules))


FIREWALL, RATELIMIT = "xdp_firewall", "xdp_ratelimit"


@dataclass(slots=True)
class ProgramState:
    name: str
    loaded: bool = False
    error: str = ""
    attachments: list[XdpAttachment] = field(default_factory=list)
    attach_blocked: list[dict[str, str]] = field(default_factory=list)


class AgentRuntime:
    def __init__(self, loaded: LoadedConfig) -> None:
        self.loaded = loaded
        self.started_at = time.monotonic()
        self.version = __version__
        self.programs: dict[str, ProgramState] = {}
        self._env = self._open_storage(loaded)
        self.alert_store = LmdbAlertStore(self._env) if self._env is not None else None
        self.rule_store = LmdbRuleStore(self._env) if self._env is not None else None
        self.audit = LmdbAuditLog(self._env) if self._env is not None else None
        self.rules: FirewallRuleService | None = None
        self.ratelimit_rules: RateLimitRuleService | None = None
        self.l7_rules: L7RuleService | None = None
        # Every alert: stored (LMDB), logged and streamed (SSE, gRPC) first, then
        # dedup/throttle/routes/senders.
        self.broadcast = AlertBroadcast()
        data_dir = loaded.config.agent.data_dir
        self.alert_adapters = build_alert_adapters(loaded.config.alerting, data_dir)
        self.pipeline = build_alert_pipeline(
            loaded.config.alerting,
            self.alert_adapters.senders,
            self.alert_adapters.spool,
            recorders=[LogAlertSink(), self.broadcast],
        )
        self.alerts: AlertSink = (
            RecordingAlertSink(self.alert_store, self.pipeline)
            if self.alert_store is not None
            else self.pipeline
        )
        self._ids = AlertIds()
        self._objects: list[BpfObject] = []
        self._sources: list[EventSource[Any]] = []
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self.firewall: BpfFirewallMap | None = None
        self.ratelimit: BpfRateLimitMap | None = None
        self.detection = DetectionPrograms(
            loaded, self.alerts, self._ids, self._load, self._block, self._consume
        )

    def _storage_full(self, cause: str) -> None:
        """Called once by the store when it had to evict: log it and raise one alert."""
        log.error("storage full; oldest alerts evicted", cause=cause)
        now = time.time_ns()
        self.alerts.publish(
            Alert(
                id=self._ids.next(now, "storage-full"),
                timestamp_ns=now,
                component=Component.AGENT,
                severity=Severity.HIGH,
                rule_id="storage-full",
                action=AlertAction.ALERT,
                message=f"alert storage full ({cause}): the oldest alerts are being evicted",
            )
        )

    def _open_storage(self, loaded: LoadedConfig) -> LmdbEnvironment | None:
        """LMDB under ``agent.data_dir`` (alerts, API rules, audit); unavailable storage never stops
        detection: alerts are then only logged and API rule changes do not persist."""
        directory = Path(loaded.config.agent.data_dir) / "lmdb"
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            return LmdbEnvironment(
                directory,
                map_size=max(1, loaded.config.audit.map_size_mib) * 1024 * 1024,
                on_storage_full=self._storage_full,
            )
        except (OSError, StorageError) as exc:
            log.error("storage unavailable; alerts are logged only", directory=str(directory), error=str(exc))
            return None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        cfg = self.loaded.config
        firewall_obj = None
        if cfg.firewall.enabled:
            obj = firewall_obj = self._load(FIREWALL)
            if obj is not None:
                self.firewall = BpfFirewallMap(obj, self._interface_indexes(FIREWALL))
                self.rules = FirewallRuleService(
                    firewall_settings(self.loaded),
                    self.firewall.apply,
                    time.time_ns,
                    self.rule_store,
                    self.audit,
                )
                self.rules.install()
                service = FirewallAlertService(self.alerts, self._ids)
                self._consume(BpfFirewallEventSource(obj, self.firewall.rule_id_at), service.handle)
        if cfg.ratelimit.enabled:
            obj = self._load(RATELIMIT)
            if obj is not None:
                self.ratelimit = BpfRateLimitMap(obj)
                self.ratelimit_rules = RateLimitRuleService(
                    RateLimitSettings.from_policies(self.loaded.ratelimit_policies),
                    self.ratelimit.apply,
                    time.time_ns,
                    self.rule_store,
                    self.audit,
                )
                self.ratelimit_rules.install()
                rl_map = self.ratelimit
                rl_service = RateLimitAlertService(rl_map.policy_id, self.alerts, self._ids)
                self._consume(BpfRateLimitEventSource(obj), rl_service.handle)
        if self.firewall is not None and self.ratelimit is not None:
            self.firewall.chain_ratelimit(self.ratelimit.prog_fd)
        entry = FIREWALL if self.firewall else RATELIMIT if self.ratelimit else None
        if entry is not None:
            self._attach(entry, self.firewall.prog_fd if self.firewall else self.ratelimit.prog_fd)  # type: ignore[union-attr]
        self.l7_rules = L7RuleService(
            l7_settings(self.loaded), self.detection.use_l7_engine, time.time_ns, self.rule_store, self.audit
        )
        self.l7_rules.install()
        self.detection.start(firewall_obj)
        housekeeping = threading.Thread(target=self._housekeeping, name="housekeeping", daemon=True)
        self._threads.append(housekeeping)
        housekeeping.start()
        log.info(
            "agent started",
            version=self.version,
            ready=self.ready(),
            interfaces=cfg.agent.interfaces,
            config=self.loaded.source,
        )

    def _load(self, name: str) -> BpfObject | None:
        state = self.programs.setdefault(name, ProgramState(name))
        try:
            obj = BpfObject.load_bundled(name)
        except (BpfError, FileNotFoundError) as exc:
            state.error = str(exc)
            log.error("program failed to load", program=name, error=str(exc))
            return None
        self._objects.append(obj)
        state.loaded = True
        return obj

    def _block(self, program: str, interface: str, reason: str) -> None:
        """Record that ``program`` could not be loaded/attached on ``interface`` (readyz shows it)."""
        state = self.programs.setdefault(program, ProgramState(program))
        state.attach_blocked.append({"program": program, "interface": interface, "reason": reason})
        log.error("program degraded", program=program, interface=interface, reason=reason)

    def check_interfaces(self) -> list[str]:
        """Interfaces of the running config that no longer exist (deleted while attached): every
        loaded program is marked blocked there, so ``/readyz`` and ``/api/v1/ebpf/status`` report
        the agent degraded; the other interfaces are untouched. Returns the missing names."""
        gone = []
        for name in self.loaded.config.agent.interfaces:
            try:
                ifindex(name)
            except BpfError:
                gone.append(name)
        for name in gone:
            for state in list(self.programs.values()):
                if state.loaded and not any(b["interface"] == name for b in state.attach_blocked):
                    self._block(state.name, name, "interface removed while attached")
        return gone

    def _housekeeping(self) -> None:
        """Periodic work: expire blocklist entries (TTLs) and notice vanished interfaces every 5 s,
        apply retention every minute."""
        ticks = 0
        while not self._stop.wait(5.0):
            ticks += 1
            try:
                self.check_interfaces()
                self.detection.sweep()
                if ticks % 12 == 0:
                    self.apply_retention()
            except Exception:
                log.exception("housekeeping failed")

    def apply_retention(self) -> int:
        """Prune alerts and audit entries by age and count (``audit`` section); returns how many."""
        audit = self.loaded.config.audit
        now = time.time_ns()
        max_age = audit.retention_days * 86_400 * 1_000_000_000 if audit.retention_days > 0 else None
        removed = 0
        if self.alert_store is not None:
            removed += self.alert_store.prune(now, max_age, audit.max_alerts)
        if self.audit is not None:
            removed += self.audit.prune(now, max_age, audit.buffer_size)
        return removed

    def _interface_indexes(self, program: str) -> dict[str, int]:
        indexes = {}
        for name in self.loaded.config.agent.interfaces:
            try:
                indexes[name] = ifindex(name)
            except BpfError as exc:
                self.programs[program].attach_blocked.append(
                    {"program": program, "interface": name, "reason": str(exc)}
                )
        return indexes

    def _attach(self, program: str, prog_fd: int) -> None:
        state = self.programs[program]
        mode_name = self.loaded.config.agent.xdp_mode
        mode = XdpMode(mode_name) if mode_name in ("native", "generic") else XdpMode.AUTO
        for name in self.loaded.config.agent.interfaces:
            if any(b["interface"] == name for b in state.attach_blocked):
                continue
            try:
                attachment = attach_xdp(prog_fd, name, mode)
                state.attachments.append(attachment)
                log.info("attached", program=program, interface=name, mode=attachment.mode.value)
            except BpfError as exc:
                state.attach_blocked.append({"program": program, "interface": name, "reason": str(exc)})
                log.error("attach failed", program=program, interface=name, error=str(exc))

    def _consume(self, source: EventSource[Any], handle: Callable[[list[Any]], int]) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    events = source.read(timeout=0.2)
                    if events:
                        handle(events)
                except Exception:  # the consumer must outlive any one bad batch
                    log.exception("event batch failed")

        self._sources.append(source)
        thread = threading.Thread(target=loop, name=f"ring-{len(self._threads)}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def reload(self, new: LoadedConfig) -> None:
        """Install the rule sets of an already validated config (each map swap is atomic).

        Interfaces, ``enabled`` flags and ``xdp_mode`` take effect at the next start: they are
        reported, not applied, so a reload never detaches a running program.
        """
        old = self.loaded.config
        cfg = new.config
        fixed = {
            "agent.interfaces": (old.agent.interfaces, cfg.agent.interfaces),
            "agent.xdp_mode": (old.agent.xdp_mode, cfg.agent.xdp_mode),
            "firewall.enabled": (old.firewall.enabled, cfg.firewall.enabled),
            "ratelimit.enabled": (old.ratelimit.enabled, cfg.ratelimit.enabled),
        }
        for key, (before, after) in fixed.items():
            if before != after:
                log.warning(
                    "setting needs a restart to take effect", key=key, running=before, configured=after
                )
        self.detection.reload(new)  # builds every engine first: raises before anything changes
        if self.rules is not None:
            self.rules.reconfigure(firewall_settings(new))
        if self.ratelimit_rules is not None:
            self.ratelimit_rules.reconfigure(RateLimitSettings.from_policies(new.ratelimit_policies))
        if self.l7_rules is not None:
            self.l7_rules.reconfigure(l7_settings(new))
        self.loaded = new

    def quiesce(self) -> None:
        """Stop the event consumers and flush stored alerts (before the alert pipeline closes)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        if isinstance(self.alerts, RecordingAlertSink):
            self.alerts.flush()

    def stop(self) -> None:
        """Detach everything and release the kernel objects (idempotent)."""
        self._stop.set()
        self.detection.stop()
        for state in self.programs.values():
            for attachment in state.attachments:
                detach_xdp(attachment.ifindex)
                log.info("detached", program=state.name, interface=attachment.interface)
            state.attachments.clear()
        for thread in self._threads:
            thread.join(timeout=2)
        for source in self._sources:
            source.close()
        for obj in self._objects:
            obj.close()
        self._objects.clear()
        if isinstance(self.alerts, RecordingAlertSink):
            self.alerts.close()  # flush what is queued before the store closes
        if self._env is not None:
            self._env.close()
            self._env = None
        log.info("agent stopped")

    # -- status ------------------------------------------------------------------------------
    def ready(self) -> bool:
        return all(p.loaded and not p.attach_blocked for p in self.programs.values())

    def readiness(self) -> dict[str, object]:
        body: dict[str, object] = {
            "status": "ready" if self.ready() else "not_ready",
            "ebpf_loaded": all(p.loaded for p in self.programs.values()),
        }
        blocked = []
        for p in self.programs.values():
            if p.error:
                blocked.append(f"{p.name}: {p.error.splitlines()[0]}")
            blocked.extend(f"{b['program']}@{b['interface']}: {b['reason']}" for b in p.attach_blocked)
        if blocked:
            body["attach_blocked"] = blocked
        return body
