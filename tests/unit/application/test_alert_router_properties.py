"""Properties of dedup and throttle over generated alert streams (hypothesis).

For any stream: every alert is recorded (stored count = generated count); notifications never
exceed alerts; every alert is either routed or dropped for exactly one counted reason; what each
route's spool holds is exactly what was routed to it; and dedup alone notifies exactly the first
alert of each key per window (checked against a direct model of the rule).
"""

import asyncio
import ipaddress
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_application.alerting import AlertPipeline, build_alert_pipeline, dedup_key
from sentinel_application.alerting.metrics import ALERTS_TOTAL
from sentinel_domain.alert import Alert, Component
from sentinel_domain.common import Severity
from sentinel_infrastructure.config.alerting import AlertingSection, RouteSection
from sentinel_testkit.contracts.alert_spool import sample_alert
from sentinel_testkit.fakes.alert_sender import ScriptedAlertSender
from sentinel_testkit.fakes.alert_sink import InMemoryAlertSink
from sentinel_testkit.fakes.alert_spool import InMemoryAlertSpool
from sentinel_testkit.fakes.clock import FakeClock

Step = tuple[str, str, int, Severity, Component, float]
Run = tuple[AlertPipeline, InMemoryAlertSpool, InMemoryAlertSink, list[Alert]]
steps = st.lists(
    st.tuples(
        st.sampled_from(["r1", "r2", "r3"]),
        st.sampled_from(["198.18.0.1", "198.18.0.2", "2001:db8::1"]),
        st.sampled_from([22, 80]),
        st.sampled_from(list(Severity)),
        st.sampled_from([Component.IDS, Component.FIREWALL, Component.DNS]),
        st.floats(min_value=0, max_value=40, allow_nan=False),  # seconds since the previous alert
    ),
    max_size=60,
)
ROUTES = [
    RouteSection(name="ids-high", destination="webhook", min_severity="high", event_types=["ids"]),
    RouteSection(name="everything-medium", destination="log", min_severity="medium"),
]


def make(index: int, rule: str, src: str, port: int, severity: Severity, component: Component) -> Alert:
    address = ipaddress.ip_address(src)
    dst = ipaddress.ip_address("2001:db8::ff" if address.version == 6 else "203.0.113.1")
    return replace(
        sample_alert(index), rule_id=rule, src=address, dst=dst, dst_port=port, severity=severity,
        component=component, protocol=6, id=f"id-{index}",
    )  # fmt: skip


def drive(section: AlertingSection, stream: list[Step]) -> Run:
    clock, spool, store = FakeClock(), InMemoryAlertSpool(), InMemoryAlertSink()
    senders = {r.name: ScriptedAlertSender() for r in section.routes}
    pipeline = build_alert_pipeline(section, senders, spool, recorders=[store], clock=clock)
    generated: list[Alert] = []

    async def main() -> None:
        for index, (rule, src, port, severity, component, gap) in enumerate(stream):
            clock.advance(gap)
            alert = make(index, rule, src, port, severity, component)
            generated.append(alert)
            pipeline.publish(alert)
            await pipeline.flush()  # routed at this alert's (scripted) time
        await pipeline.aclose()

    asyncio.run(main())
    return pipeline, spool, store, generated


@settings(max_examples=150, deadline=None)
@given(
    stream=steps,
    dedup=st.sampled_from([0, 5, 30]),
    window=st.sampled_from([0, 10, 60]),
    most=st.integers(min_value=1, max_value=4),
    by=st.sampled_from([["rule", "source"], ["rule"], ["source"], []]),
)
def test_counts_add_up_for_any_stream(
    stream: list[Step], dedup: int, window: int, most: int, by: list[str]
) -> None:
    section = AlertingSection(
        dedup_window_secs=dedup, throttle_window_secs=window, throttle_max=most, throttle_by=by, routes=ROUTES
    )
    pipeline, spool, store, generated = drive(section, stream)
    dropped = pipeline.metrics.dropped()
    notified = {e.alert.id for name in ("ids-high", "everything-medium") for e in spool.peek(name, 10**6)}

    assert store.alerts == generated  # stored count = generated count, in order
    assert pipeline.metrics.value(ALERTS_TOTAL) == len(generated)
    assert len(notified) == pipeline.router.routed <= len(generated)
    assert pipeline.router.routed + dropped["dedup"] + dropped["throttle"] + dropped["no_route"] == len(
        generated
    )
    assert dropped["spool_full"] == dropped["expired"] == dropped["failed"] == dropped["spool_error"] == 0
    for name in ("ids-high", "everything-medium"):
        route = next(r for r in pipeline.router.routes.routes if r.name == name)
        spooled = [e.alert for e in spool.peek(name, 10**6)]
        assert all(route.matches(a) for a in spooled)
        assert [a.id for a in spooled] == [a.id for a in generated if a.id in notified and route.matches(a)]


@settings(max_examples=150, deadline=None)
@given(stream=steps, dedup=st.sampled_from([1, 5, 30]))
def test_dedup_alone_notifies_the_first_alert_of_each_key_per_window(stream: list[Step], dedup: int) -> None:
    catch_all = [RouteSection(name="all", destination="log", min_severity="low")]
    section = AlertingSection(dedup_window_secs=dedup, throttle_window_secs=0, routes=catch_all)
    _, spool, _, generated = drive(section, stream)

    expected: list[str] = []
    first_seen: dict[object, float] = {}
    now = FakeClock().monotonic()  # the same origin and additions as the pipeline's clock
    for alert, step in zip(generated, stream, strict=True):
        now += step[-1]
        key = dedup_key(alert)
        if key not in first_seen or now - first_seen[key] >= dedup:
            first_seen[key] = now
            expected.append(alert.id)
    assert [e.alert.id for e in spool.peek("all", 10**6)] == expected


@settings(max_examples=100, deadline=None)
@given(stream=steps, window=st.sampled_from([10, 60]), most=st.integers(min_value=1, max_value=4))
def test_throttle_alone_never_exceeds_the_bucket(stream: list[Step], window: int, most: int) -> None:
    catch_all = [RouteSection(name="all", destination="log", min_severity="low")]
    section = AlertingSection(
        dedup_window_secs=0,
        throttle_window_secs=window,
        throttle_max=most,
        throttle_by=["rule"],
        routes=catch_all,
    )
    _, spool, _, generated = drive(section, stream)
    sent = {e.alert.id for e in spool.peek("all", 10**6)}
    times: dict[str, float] = {}
    now = FakeClock().monotonic()
    for alert, step in zip(generated, stream, strict=True):
        now += step[-1]
        times[alert.id] = now
    for rule in {a.rule_id for a in generated}:
        sent_times = sorted(times[a.id] for a in generated if a.rule_id == rule and a.id in sent)
        # In any span of t seconds a bucket gives at most most + t * most / window notifications.
        for i, start in enumerate(sent_times):
            for j in range(i, len(sent_times)):
                assert j - i + 1 <= most + (sent_times[j] - start) * most / window + 1e-9
        first = [times[a.id] for a in generated if a.rule_id == rule][:most]
        assert sent_times[: len(first)] == first  # a fresh bucket lets the first burst through
