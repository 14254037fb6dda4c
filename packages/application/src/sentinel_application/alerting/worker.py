"""DeliveryWorker: drains one destination's spool into its sender, oldest first.

Per attempt: expire entries older than ``max_age``; take up to ``max_batch`` entries (waiting up to
``batch_interval`` after the oldest was accepted, for a fuller batch); ask the circuit breaker; send
with a timeout. Success removes the entries; a permanent refusal removes them and counts them
``failed``; anything else leaves them in place and retries after a jittered backoff. Each
destination has its own worker, so a slow or dead one never delays another.
"""

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from sentinel_application.alerting.breaker import CircuitBreaker, CircuitState
from sentinel_application.alerting.metrics import (
    ALERTS_DROPPED,
    ALERTS_EXPORTED,
    EXPORT_FAILURES,
    AlertMetrics,
)
from sentinel_application.alerting.retry import RetryPolicy
from sentinel_application.alerting.routes import Route
from sentinel_application.alerting.spool_io import AsyncSpool
from sentinel_domain.alert import Alert
from sentinel_ports.alert_sender import AlertSender, DeliveryError
from sentinel_ports.clock import Clock

log = structlog.get_logger("ebpfsentinel.alerting")
NS = 1_000_000_000


@dataclass(slots=True)
class DeliveryStatus:
    route: str
    destination: str
    circuit: CircuitState = CircuitState.CLOSED
    depth: int = 0
    delivered: int = 0
    failed: int = 0
    expired: int = 0
    failed_attempts: int = 0
    last_error: str = ""


class DeliveryWorker:
    def __init__(
        self,
        route: Route,
        sender: AlertSender,
        spool: AsyncSpool,
        *,
        retry: RetryPolicy,
        breaker: CircuitBreaker,
        max_age: float,
        clock: Clock,
        metrics: AlertMetrics,
        rng: random.Random,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.route = route
        self.sender = sender
        self.breaker = breaker
        self.status = DeliveryStatus(route.name, route.destination)
        self._spool = spool
        self._retry = retry
        self._max_age_ns = int(max_age * NS)
        self._clock = clock
        self._metrics = metrics
        self._rng = rng
        self._on_change = on_change
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._retries = 0

    def wake(self) -> None:
        """New entries were spooled for this destination."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the attempt in progress, then return from ``run``."""
        self._stop.set()

    async def run(self) -> None:
        """Deliver until stopped; never raises (a spool error is logged and retried after a pause)."""
        while not self._stop.is_set():
            try:
                await self._step()
            except Exception as exc:  # the worker must outlive a failing disk; alerts stay spooled
                self.status.last_error = f"spool: {type(exc).__name__}: {exc}"
                log.exception("alert delivery step failed", route=self.route.name)
                await self._wait(self._retry.maximum, wake=False)

    async def _step(self) -> None:
        """One pass: expire, take a batch, wait for a fuller batch or the breaker, or attempt."""
        self._wake.clear()
        await self._expire()
        entries = await self._spool.peek(self.route.name, max(1, self.sender.max_batch))
        await self._refresh_depth()
        if not entries:
            await self._wait(None, wake=True)
            return
        now_ns = self._clock.wall_ns()
        due_ns = entries[0].enqueued_ns + int(self.sender.batch_interval * NS)
        if len(entries) < self.sender.max_batch and now_ns < due_ns:
            await self._wait((due_ns - now_ns) / NS, wake=False)
            return
        now = self._clock.monotonic()
        if not self.breaker.allow(now):
            self._set_circuit(self.breaker.state(now))
            await self._wait(self.breaker.retry_at(now) - now, wake=False)
            return
        self._set_circuit(self.breaker.state(now))
        await self._attempt([e.seq for e in entries], [e.alert for e in entries])

    async def _attempt(self, seqs: list[int], alerts: list[Alert]) -> None:
        kind = self.route.destination
        try:
            await asyncio.wait_for(self.sender.send(alerts), self._retry.attempt_timeout)
        except DeliveryError as exc:
            self._count_failure(str(exc) or type(exc).__name__)
            if exc.permanent:
                # The destination answered "never": keep it closed, drop these alerts, count them.
                self.breaker.record_success()
                await self._spool.remove(self.route.name, seqs)
                self._metrics.inc(ALERTS_DROPPED, len(seqs), reason="failed")
                self.status.failed += len(seqs)
                self._retries = 0
                log.warning(
                    "alerts refused by destination", route=self.route.name, count=len(seqs), error=str(exc)
                )
            else:
                await self._backoff()
        except TimeoutError:
            self._count_failure(f"timed out after {self._retry.attempt_timeout} s")
            await self._backoff()
        except Exception as exc:  # an unexpected sender bug must not lose alerts or kill the worker
            self._count_failure(f"{type(exc).__name__}: {exc}")
            log.exception("alert sender failed unexpectedly", route=self.route.name)
            await self._backoff()
        else:
            await self._spool.remove(self.route.name, seqs)
            self.breaker.record_success()
            self._retries = 0
            self._metrics.inc(ALERTS_EXPORTED, len(seqs), destination=kind)
            self.status.delivered += len(seqs)
            self.status.last_error = ""
        self._set_circuit(self.breaker.state(self._clock.monotonic()))
        await self._refresh_depth()

    def _count_failure(self, error: str) -> None:
        self.status.failed_attempts += 1
        self.status.last_error = error
        self._metrics.inc(EXPORT_FAILURES, destination=self.route.destination)

    async def _backoff(self) -> None:
        self.breaker.record_failure(self._clock.monotonic())
        self._retries += 1
        await self._wait(self._retry.delay(self._retries, self._rng), wake=False)

    async def _expire(self) -> None:
        if self._max_age_ns <= 0:
            return
        expired = await self._spool.expire(self.route.name, self._clock.wall_ns() - self._max_age_ns)
        if expired:
            self._metrics.inc(ALERTS_DROPPED, expired, reason="expired")
            self.status.expired += expired
            log.warning("alerts expired undelivered", route=self.route.name, count=expired)
            await self._refresh_depth()

    async def _refresh_depth(self) -> None:
        self.status.depth = await self._spool.depth(self.route.name)
        self._on_change()

    def _set_circuit(self, state: CircuitState) -> None:
        if state is not self.status.circuit:
            self.status.circuit = state
            log.info("circuit state changed", route=self.route.name, state=state.name.lower())
            self._on_change()

    async def _wait(self, timeout: float | None, *, wake: bool) -> None:
        """Sleep up to ``timeout`` seconds (None = forever), cut short by ``stop`` (and new work)."""
        waiters = [asyncio.ensure_future(self._stop.wait())]
        if wake:
            waiters.append(asyncio.ensure_future(self._wake.wait()))
        try:
            await asyncio.wait(
                waiters,
                timeout=max(0.0, timeout) if timeout is not None else None,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
