"""The composition root: builds adapters and services from a LoadedConfig and runs them.

Nothing happens at import time; ``AgentRuntime.start`` loads and attaches, ``stop`` undoes it.
A program that fails to load or attach leaves the agent running degraded (readyz says why).
"""

import threading
import time
from dataclasses import dataclass, field

import structlog

from sentinel_adapters.alerting.log_sink import LogAlertSink
from sentinel_adapters.ebpf.attach import XdpAttachment, XdpMode, attach_xdp, detach_xdp, ifindex
from sentinel_adapters.ebpf.errors import BpfError
from sentinel_adapters.ebpf.event_source import BpfFirewallEventSource
from sentinel_adapters.ebpf.firewall_map import PROGRAM, BpfFirewallMap
from sentinel_adapters.ebpf.loader import BpfObject
from sentinel_agent import __version__
from sentinel_application.firewall_alerts import FirewallAlertService
from sentinel_infrastructure.config import LoadedConfig

log = structlog.get_logger("ebpfsentinel.agent")


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
        self.firewall = ProgramState(PROGRAM)
        self._obj: BpfObject | None = None
        self._map: BpfFirewallMap | None = None
        self._events: BpfFirewallEventSource | None = None
        self._stop = threading.Event()
        self._consumer: threading.Thread | None = None
        self.alerts = LogAlertSink()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        cfg = self.loaded.config
        if cfg.firewall.enabled:
            self._start_firewall()
        log.info(
            "agent started",
            version=self.version,
            ready=self.ready(),
            interfaces=cfg.agent.interfaces,
            config=self.loaded.source,
        )

    def _start_firewall(self) -> None:
        cfg = self.loaded.config
        try:
            self._obj = BpfObject.load_bundled(PROGRAM)
        except (BpfError, FileNotFoundError) as exc:
            self.firewall.error = str(exc)
            log.error("program failed to load", program=PROGRAM, error=str(exc))
            return
        self.firewall.loaded = True
        indexes = {}
        for name in cfg.agent.interfaces:
            try:
                indexes[name] = ifindex(name)
            except BpfError as exc:
                self.firewall.attach_blocked.append(
                    {"program": PROGRAM, "interface": name, "reason": str(exc)}
                )
        self._map = BpfFirewallMap(self._obj, indexes)
        self._map.apply(self.loaded.firewall_policy)
        self._events = BpfFirewallEventSource(self._obj)
        service = FirewallAlertService(
            lambda: self._map.policy if self._map else self.loaded.firewall_policy, self.alerts
        )
        self._consumer = threading.Thread(target=self._consume, args=(service,), name="ring-fw", daemon=True)
        self._consumer.start()
        mode = XdpMode(cfg.agent.xdp_mode if cfg.agent.xdp_mode in ("native", "generic") else "auto")
        for name in indexes:
            try:
                attachment = attach_xdp(self._obj.program_fd(PROGRAM), name, mode)
                self.firewall.attachments.append(attachment)
                log.info("attached", program=PROGRAM, interface=name, mode=attachment.mode.value)
            except BpfError as exc:
                self.firewall.attach_blocked.append(
                    {"program": PROGRAM, "interface": name, "reason": str(exc)}
                )
                log.error("attach failed", program=PROGRAM, interface=name, error=str(exc))

    def _consume(self, service: FirewallAlertService) -> None:
        assert self._events is not None
        while not self._stop.is_set():
            try:
                events = self._events.read(timeout=0.2)
                if events:
                    service.handle(events)
            except Exception:  # the consumer must outlive any one bad batch
                log.exception("event batch failed")

    def stop(self) -> None:
        """Detach everything and release the kernel objects (idempotent)."""
        self._stop.set()
        for attachment in self.firewall.attachments:
            detach_xdp(attachment.ifindex)
            log.info("detached", program=PROGRAM, interface=attachment.interface)
        self.firewall.attachments.clear()
        if self._consumer is not None:
            self._consumer.join(timeout=2)
        if self._events is not None:
            self._events.close()
        if self._obj is not None:
            self._obj.close()
            self._obj = None
        log.info("agent stopped")

    # -- status ------------------------------------------------------------------------------
    def ready(self) -> bool:
        fw = self.loaded.config.firewall
        return (not fw.enabled) or (self.firewall.loaded and not self.firewall.attach_blocked)

    def readiness(self) -> dict[str, object]:
        body: dict[str, object] = {
            "status": "ready" if self.ready() else "not_ready",
            "ebpf_loaded": self.firewall.loaded or not self.loaded.config.firewall.enabled,
        }
        blocked = [f"{b['program']}@{b['interface']}: {b['reason']}" for b in self.firewall.attach_blocked]
        if self.firewall.error:
            blocked.insert(0, f"{PROGRAM}: {self.firewall.error.splitlines()[0]}")
        if blocked:
            body["attach_blocked"] = blocked
        return body

    def counters(self) -> dict[str, int]:
        return self._map.counters() if self._map else {}
