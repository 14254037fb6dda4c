"""Delivery resilience with fakes: breaker, backoff, spool bounds and age, isolation of senders,
and the pipeline's order (recorders see every alert before dedup)."""

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping

import pytest

from sentinel_application.alerting import (
    AlertPipeline,
    CircuitBreaker,
    CircuitState,
    RetryPolicy,
    build_alert_pipeline,
)
from sentinel_application.alerting.metrics import (
    ALERTS_EXPORTED,
    ALERTS_TOTAL,
    CIRCUIT_STATE,
    EVENTS_DROPPED,
    EXPORT_FAILURES,
    SPOOL_DEPTH,
)
from sentinel_domain.alert import Alert
from sentinel_infrastructure.config.alerting import (
    AlertingSection,
    CircuitBreakerSection,
    RetrySection,
    RouteSection,
    SpoolSection,
)
from sentinel_ports.alert_sender import AlertSender
from sentinel_ports.alert_spool import AlertSpool, SpooledAlert
from sentinel_testkit.contracts.alert_spool import sample_alert
from sentinel_testkit.fakes.alert_sender import ScriptedAlertSender
from sentinel_testkit.fakes.alert_sink import InMemoryAlertSink
from sentinel_testkit.fakes.alert_spool import InMemoryAlertSpool
from sentinel_testkit.fakes.clock import FakeClock


# -- circuit breaker and retry policy ---------------------------------------------------------------
def test_breaker_opens_after_the_threshold_then_half_opens_one_probe() -> None:
    breaker = CircuitBreaker(failure_threshold=3, open_secs=10)
    for t in range(2):
        breaker.record_failure(float(t))
    assert breaker.state(2.0) is CircuitState.CLOSED and breaker.allow(2.0)
    breaker.record_failure(2.0)
    assert breaker.state(2.0) is CircuitState.OPEN and not breaker.allow(11.9)
    assert breaker.retry_at(5.0) == 12.0
    assert breaker.state(12.0) is CircuitState.HALF_OPEN
    assert breaker.allow(12.0) is True and breaker.allow(12.0) is False  # one probe at a time
    breaker.record_failure(12.5)  # a failed probe re-opens at once
    assert breaker.state(13.0) is CircuitState.OPEN and breaker.retry_at(13.0) == 22.5
    assert breaker.allow(22.5)
    breaker.record_success()
    assert breaker.state(22.5) is CircuitState.CLOSED and breaker.failures == 0


def test_backoff_grows_exponentially_is_capped_and_jittered_into_the_upper_half() -> None:
    policy = RetryPolicy(initial=1.0, maximum=30.0, multiplier=2.0)
    rng = random.Random(7)
    for retry, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0), (6, 30.0), (500, 30.0)]:
        delays = [policy.delay(retry, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 100  # jittered, not constant
    with pytest.raises(ValueError):
        RetryPolicy(initial=5, maximum=1)


# -- pipeline helpers -------------------------------------------------------------------------------
def config(*routes: RouteSection, **changes: object) -> AlertingSection:
    values: dict[str, object] = {
        "dedup_window_secs": 0,
        "throttle_window_secs": 0,
        "retry": RetrySection(initial_backoff_ms=5, max_backoff_ms=20, attempt_timeout_secs=2),
        "circuit_breaker": CircuitBreakerSection(failure_threshold=3, open_secs=0.05),
        "routes": list(routes) or [RouteSection(name="hook", destination="webhook", min_severity="low")],
    }
    values.update(changes)
    return AlertingSection(**values)  # type: ignore[arg-type]


def route(name: str, destination: str = "webhook", severity: str = "low") -> RouteSection:
    return RouteSection(name=name, destination=destination, min_severity=severity)


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


def run(
    section: AlertingSection,
    senders: Mapping[str, AlertSender],
    body: Callable[[AlertPipeline], Awaitable[None]],
    spool: AlertSpool | None = None,
    **kwargs: object,
) -> AlertPipeline:
    pipeline = build_alert_pipeline(section, senders, spool or InMemoryAlertSpool(), **kwargs)  # type: ignore[arg-type]

    async def main() -> None:
        await pipeline.start()
        try:
            await asyncio.wait_for(body(pipeline), 30)
        finally:
            await pipeline.aclose(timeout=2)

    asyncio.run(main())
    return pipeline


def alerts(count: int, start: int = 0) -> list[Alert]:
    return [sample_alert(i) for i in range(start, start + count)]


# -- pipeline behaviour -----------------------------------------------------------------------------
def test_transient_failures_are_retried_until_each_alert_is_delivered_once() -> None:
    sender = ScriptedAlertSender()
    sender.fail_next(2)
    batch = alerts(3)

    async def body(p: AlertPipeline) -> None:
        for a in batch:
            p.publish(a)
        await until(lambda: len(sender.delivered) == 3)

    p = run(config(), {"hook": sender}, body)
    assert sender.delivered == batch and sender.attempts == 5
    assert p.metrics.value(EXPORT_FAILURES, destination="webhook") == 2
    assert p.metrics.value(ALERTS_EXPORTED, destination="webhook") == 3
    assert p.status()[0].delivered == 3 and p.pending() == 0


def test_a_permanent_refusal_drops_the_alert_counted_failed_and_the_next_one_goes_through() -> None:
    sender = ScriptedAlertSender()
    sender.fail_next(1, permanent=True)
    first, second = alerts(2)

    async def body(p: AlertPipeline) -> None:
        p.publish(first)
        p.publish(second)
        await until(lambda: len(sender.delivered) == 1)

    p = run(config(), {"hook": sender}, body)
    assert sender.delivered == [second]
    assert p.metrics.dropped()["failed"] == 1 and p.status()[0].failed == 1


def test_the_circuit_opens_after_repeated_failures_and_closes_after_a_good_probe() -> None:
    sender = ScriptedAlertSender()
    sender.failing = True
    states: list[float] = []

    async def body(p: AlertPipeline) -> None:
        p.publish(sample_alert(1))
        await until(lambda: p.metrics.value(CIRCUIT_STATE, destination="webhook") == CircuitState.OPEN)
        states.append(p.metrics.value(CIRCUIT_STATE, destination="webhook"))
        sender.failing = False
        await until(lambda: len(sender.delivered) == 1)
        await until(lambda: p.metrics.value(CIRCUIT_STATE, destination="webhook") == CircuitState.CLOSED)

    p = run(config(), {"hook": sender}, body)
    assert states == [2.0]
    assert p.metrics.value(EXPORT_FAILURES, destination="webhook") >= 3


def test_a_dead_or_hanging_sender_never_delays_another_destination() -> None:
    # The hanging sender never answers within the test (its attempt timeout is longer than the test).
    dead, hanging, healthy = ScriptedAlertSender(), ScriptedAlertSender(delay=3600), ScriptedAlertSender()
    dead.failing = True
    retry = RetrySection(initial_backoff_ms=5, max_backoff_ms=20, attempt_timeout_secs=60)
    section = config(route("dead"), route("hanging"), route("ok", "log"), retry=retry)

    async def body(p: AlertPipeline) -> None:
        for a in alerts(20):
            p.publish(a)
        await until(lambda: len(healthy.delivered) == 20)
        assert hanging.delivered == [] and dead.delivered == []
        assert hanging.attempts == 1  # all 20 went out while the hanging attempt was still open

    p = run(section, {"dead": dead, "hanging": hanging, "ok": healthy}, body)
    assert p.metrics.value(ALERTS_EXPORTED, destination="log") == 20


def test_an_alert_older_than_max_age_is_expired_not_sent() -> None:
    clock = FakeClock()
    sender = ScriptedAlertSender()
    sender.failing = True
    section = config(spool=SpoolSection(max_age_secs=60))

    async def body(p: AlertPipeline) -> None:
        p.publish(sample_alert(1))
        await until(lambda: sender.attempts >= 1)
        clock.jump_wall(61)
        await until(lambda: p.metrics.dropped()["expired"] == 1)
        sender.failing = False
        p.publish(sample_alert(2))
        await until(lambda: len(sender.delivered) == 1)

    run(section, {"hook": sender}, body, clock=clock)
    assert [a.rule_id for a in sender.delivered] == ["rule-2"]


def test_a_full_spool_drops_the_oldest_and_counts_them() -> None:
    sender = ScriptedAlertSender()
    sender.failing = True
    spool = InMemoryAlertSpool(max_per_destination=10)

    async def body(p: AlertPipeline) -> None:
        for a in alerts(25):
            p.publish(a)
        await p.flush()
        assert p.metrics.dropped()["spool_full"] == 15
        assert [e.alert.rule_id for e in spool.peek("hook", 100)] == [f"rule-{i}" for i in range(15, 25)]
        await until(lambda: p.metrics.value(SPOOL_DEPTH, destination="webhook") == 10)
        sender.failing = False
        await until(lambda: len(sender.delivered) == 10)

    run(config(), {"hook": sender}, body, spool=spool)
    assert [a.rule_id for a in sender.delivered] == [f"rule-{i}" for i in range(15, 25)]


def test_a_full_channel_drops_and_counts_without_blocking_the_producer() -> None:
    sender = ScriptedAlertSender()
    pipeline = build_alert_pipeline(config(channel_capacity=5), {"hook": sender}, InMemoryAlertSpool())
    for a in alerts(8):  # not started: nothing drains the channel
        pipeline.publish(a)
    assert pipeline.published() == 5
    assert pipeline.metrics.value(EVENTS_DROPPED, reason="alert_channel_full") == 3

    async def main() -> None:
        await pipeline.start()
        await until(lambda: len(sender.delivered) == 5)
        await pipeline.aclose()

    asyncio.run(main())


def test_recorders_see_every_alert_even_those_dedup_and_throttle_stop() -> None:
    store, stream = InMemoryAlertSink(), InMemoryAlertSink()
    sender = ScriptedAlertSender()
    same = [sample_alert(1)] * 5 + [sample_alert(2)] * 5
    section = config(dedup_window_secs=60, throttle_window_secs=60, throttle_max=1, throttle_by=[])

    async def body(p: AlertPipeline) -> None:
        for a in same:
            p.publish(a)
        await p.flush()
        await until(lambda: len(sender.delivered) == 1)

    p = run(section, {"hook": sender}, body, recorders=[store, stream])
    assert store.alerts == same and stream.alerts == same
    assert p.metrics.value(ALERTS_TOTAL) == 10
    dropped = {reason: n for reason, n in p.metrics.dropped().items() if n}
    assert dropped == {"dedup": 8, "throttle": 1}


def test_a_failing_recorder_is_counted_and_does_not_stop_routing() -> None:
    class Broken(InMemoryAlertSink):
        def publish(self, alert: Alert) -> None:
            raise OSError("disk full")

    sender = ScriptedAlertSender()

    async def body(p: AlertPipeline) -> None:
        p.publish(sample_alert(1))
        await until(lambda: len(sender.delivered) == 1)

    p = run(config(), {"hook": sender}, body, recorders=[Broken()])
    assert p.metrics.value("ebpfsentinel_alert_recorder_errors_total", recorder="Broken") == 1


def test_entries_of_a_removed_route_are_dropped_at_start_as_no_route() -> None:
    spool = InMemoryAlertSpool()
    spool.put("gone", alerts(4), 0)
    sender = ScriptedAlertSender()

    async def body(p: AlertPipeline) -> None:
        await until(lambda: spool.destinations() == [])

    p = run(config(), {"hook": sender}, body, spool=spool)
    assert p.metrics.dropped()["no_route"] == 4


def test_senders_batch_up_to_max_batch_after_the_batch_interval() -> None:
    sender = ScriptedAlertSender(kind="email", max_batch=4, batch_interval=0.2)
    section = config(route("mail", "log"))

    async def body(p: AlertPipeline) -> None:
        for a in alerts(10):
            p.publish(a)
        await until(lambda: len(sender.delivered) == 10)

    run(section, {"mail": sender}, body)
    assert [len(b) for b in sender.batches] == [4, 4, 2]


def test_a_pipeline_needs_a_sender_for_every_route() -> None:
    with pytest.raises(ValueError, match="no sender for route"):
        build_alert_pipeline(
            config(route("a"), route("b")), {"a": ScriptedAlertSender()}, InMemoryAlertSpool()
        )


def test_a_failing_spool_read_is_survived_and_delivery_resumes() -> None:
    class FlakySpool(InMemoryAlertSpool):
        failures = 2

        def peek(self, destination: str, limit: int) -> list[SpooledAlert]:
            if self.failures:
                self.failures -= 1
                raise OSError("EIO")
            return super().peek(destination, limit)

    spool, sender = FlakySpool(), ScriptedAlertSender()

    async def body(p: AlertPipeline) -> None:
        p.publish(sample_alert(1))
        await until(lambda: len(sender.delivered) == 1)

    run(config(), {"hook": sender}, body, spool=spool)
    assert spool.failures == 0 and sender.delivered == [sample_alert(1)]
