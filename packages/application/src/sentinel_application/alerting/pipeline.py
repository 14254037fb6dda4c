"""AlertPipeline: every alert is recorded first, then routed, spooled and delivered.

Order per alert (contract §8.2, our resilience added):
1. ``alerts_total`` and ``alerts_by_rule_total`` (before dedup);
2. every recorder (the alert store, the SSE/gRPC stream) gets it, best effort;
3. the router: dedup → throttle → route match; a stop is counted by reason and ends here;
4. the alert is written to the durable spool once per matched route (bounded; the oldest of a full
   destination are dropped and counted ``spool_full``);
5. one DeliveryWorker per route sends it (retry with backoff, circuit breaker, ``max_age``).

``publish`` is what detection calls, from any thread: it only appends to a bounded channel (a full
channel drops and counts ``events_dropped_total{reason="alert_channel_full"}``), so neither a slow
disk nor a dead destination ever blocks detection.
"""

import asyncio
import contextlib
import random
import threading
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence

import structlog

from sentinel_application.alerting.breaker import CircuitState
from sentinel_application.alerting.metrics import (
    ALERTS_BY_RULE,
    ALERTS_DROPPED,
    ALERTS_TOTAL,
    CIRCUIT_STATE,
    EVENTS_DROPPED,
    RECORDER_ERRORS,
    SPOOL_DEPTH,
    AlertMetrics,
)
from sentinel_application.alerting.router import AlertRouter
from sentinel_application.alerting.settings import DeliverySettings
from sentinel_application.alerting.spool_io import AsyncSpool
from sentinel_application.alerting.worker import DeliveryStatus, DeliveryWorker
from sentinel_domain.alert import Alert
from sentinel_ports.alert_sender import AlertSender
from sentinel_ports.alert_sink import AlertSink
from sentinel_ports.alert_spool import AlertSpool
from sentinel_ports.clock import Clock

log = structlog.get_logger("ebpfsentinel.alerting")
INTAKE_BATCH = 1024  # alerts per spool transaction at most


class AlertPipeline(AlertSink):
    """Build with ``build_alert_pipeline``; ``await start()`` inside the loop that should run it."""

    def __init__(
        self,
        router: AlertRouter,
        senders: Mapping[str, AlertSender],
        spool: AlertSpool,
        *,
        clock: Clock,
        settings: DeliverySettings | None = None,
        recorders: Sequence[AlertSink] = (),
        metrics: AlertMetrics | None = None,
        rng: random.Random | None = None,
    ) -> None:
        missing = [r.name for r in router.routes.routes if r.name not in senders]
        if missing:
            raise ValueError(f"no sender for route(s): {', '.join(missing)}")
        self.router = router
        self.metrics = metrics or AlertMetrics()
        self.recorders = tuple(recorders)
        self._senders = dict(senders)
        self._spool = AsyncSpool(spool)
        self._clock = clock
        self._settings = settings or DeliverySettings()
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._channel: deque[Alert] = deque()
        self._accepted = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = asyncio.Event()
        self._closing = False
        self._workers: dict[str, DeliveryWorker] = {}
        self._tasks: list[asyncio.Task[None]] = []

    # -- detection side (any thread) --------------------------------------------------------------
    def publish(self, alert: Alert) -> None:
        """Queue ``alert`` without blocking; a full channel drops it and counts the drop."""
        with self._lock:
            if len(self._channel) >= self._settings.channel_capacity:
                self.metrics.inc(EVENTS_DROPPED, reason="alert_channel_full")
                return
            was_empty = not self._channel
            self._channel.append(alert)
            self._accepted += 1
            loop = self._loop
        if was_empty and loop is not None:
            # A closed loop raises RuntimeError: the alert stays queued (and counted as accepted).
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._ready.set)

    def published(self) -> int:
        return self._accepted

    # -- lifecycle (the event loop) ---------------------------------------------------------------
    async def start(self) -> None:
        """Start intake and one worker per route in the running loop; drops orphaned spool entries."""
        self._ready = asyncio.Event()
        with self._lock:
            self._loop = asyncio.get_running_loop()
            if self._channel:
                self._ready.set()
        await self._drop_orphans()
        for route in self.router.routes.routes:
            worker = DeliveryWorker(
                route,
                self._senders[route.name],
                self._spool,
                retry=self._settings.retry,
                breaker=self._settings.breaker(),
                max_age=self._settings.max_age,
                clock=self._clock,
                metrics=self.metrics,
                rng=self._rng,
                on_change=self._refresh_gauges,
            )
            self._workers[route.name] = worker
            self._tasks.append(asyncio.create_task(worker.run(), name=f"alert-delivery-{route.name}"))
        self._tasks.append(asyncio.create_task(self._intake(), name="alert-intake"))

    async def flush(self) -> None:
        """Record, route and spool everything published so far (workers deliver it afterwards)."""
        while True:
            with self._lock:
                batch = [self._channel.popleft() for _ in range(min(INTAKE_BATCH, len(self._channel)))]
            if not batch:
                return
            await self._spool_batches(self._route(batch))

    async def aclose(self, timeout: float = 5.0) -> None:
        """Spool what is queued, let each worker finish its attempt (up to ``timeout`` s), close all.

        Undelivered alerts stay in the spool for the next start.
        """
        self._closing = True
        self._ready.set()
        await self.flush()
        for worker in self._workers.values():
            worker.stop()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._tasks.clear()
        for sender in self._senders.values():
            try:
                await sender.aclose()
            except Exception:  # closing one sender must not leave the others or the spool open
                log.exception("closing alert sender failed", destination=sender.kind)
        await self._spool.close()
        with self._lock:
            self._loop = None

    # -- status -----------------------------------------------------------------------------------
    def status(self) -> list[DeliveryStatus]:
        """One entry per route: circuit state, spool depth, delivered/failed counts, last error."""
        return [w.status for w in self._workers.values()]

    def pending(self) -> int:
        """Alerts queued or spooled and not yet delivered, expired or dropped."""
        with self._lock:
            queued = len(self._channel)
        return queued + sum(self._spool.spool.depth(name) for name in self._workers)

    # -- internals --------------------------------------------------------------------------------
    async def _intake(self) -> None:
        while not self._closing:
            await self._ready.wait()
            self._ready.clear()
            try:
                await self.flush()
            except Exception:  # a spool failure must not stop intake; the batch is counted lost
                log.exception("alert intake failed")

    def _route(self, batch: list[Alert]) -> dict[str, list[Alert]]:
        now = self._clock.monotonic()
        per_route: dict[str, list[Alert]] = defaultdict(list)
        for alert in batch:
            technique = alert.mitre.technique_id if alert.mitre is not None else ""
            component = alert.component.value
            self.metrics.inc(
                ALERTS_TOTAL, component=component, severity=alert.severity.label, technique_id=technique
            )
            self.metrics.inc(ALERTS_BY_RULE, component=component, rule_id=alert.rule_id)
            for recorder in self.recorders:
                try:
                    recorder.publish(alert)
                except Exception:  # recording is best effort (contract §8.2 step 3)
                    self.metrics.inc(RECORDER_ERRORS, recorder=type(recorder).__name__)
                    log.exception("alert recorder failed", recorder=type(recorder).__name__)
            decision = self.router.decide(alert, now)
            if decision.dropped is not None:
                self.metrics.inc(ALERTS_DROPPED, reason=decision.dropped.value)
            for route in decision.routes:
                per_route[route.name].append(alert)
        return per_route

    async def _spool_batches(self, per_route: Mapping[str, list[Alert]]) -> None:
        now_ns = self._clock.wall_ns()
        for name, alerts in per_route.items():
            try:
                evicted = await self._spool.put(name, alerts, now_ns)
            except Exception:
                self.metrics.inc(ALERTS_DROPPED, len(alerts), reason="spool_error")
                log.exception("alert spool write failed", route=name, count=len(alerts))
                continue
            if evicted:
                self.metrics.inc(ALERTS_DROPPED, evicted, reason="spool_full")
                log.warning("alert spool full, oldest dropped", route=name, count=evicted)
            worker = self._workers.get(name)
            if worker is not None:
                worker.wake()

    async def _drop_orphans(self) -> None:
        """Entries left by routes that no longer exist are dropped (``no_route``) at start."""
        for name in await self._spool.destinations():
            if name in self._senders:
                continue
            count = await self._spool.expire(name, 2**63)
            self.metrics.inc(ALERTS_DROPPED, count, reason="no_route")
            log.warning("dropped spooled alerts of a removed route", route=name, count=count)

    def _refresh_gauges(self) -> None:
        depth: dict[str, int] = defaultdict(int)
        circuit: dict[str, CircuitState] = defaultdict(lambda: CircuitState.CLOSED)
        for worker in self._workers.values():
            kind = worker.route.destination
            depth[kind] += worker.status.depth
            circuit[kind] = max(circuit[kind], worker.status.circuit)
        for kind, value in depth.items():
            self.metrics.set(SPOOL_DEPTH, value, destination=kind)
        for kind, state in circuit.items():
            self.metrics.set(CIRCUIT_STATE, int(state), destination=kind)
