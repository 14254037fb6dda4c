"""AlertBroadcast: fan-out to every subscriber, bounded queues, Last-Event-ID replay."""

from sentinel_application.alert_broadcast import AlertBroadcast
from sentinel_domain.alert import Alert, AlertAction, Component
from sentinel_domain.common.severity import Severity


def alert(n: int) -> Alert:
    return Alert(f"a{n}", n, Component.IDS, Severity.HIGH, "r", AlertAction.ALERT)


def test_every_subscriber_gets_every_alert_and_wake_is_called() -> None:
    hub = AlertBroadcast()
    woken: list[int] = []
    first, second = hub.subscribe(lambda: woken.append(1)), hub.subscribe()
    for n in range(3):
        hub.publish(alert(n))
    assert [a.id for a in first.drain()] == ["a0", "a1", "a2"]
    assert [a.id for a in second.drain(limit=2)] == ["a0", "a1"]
    assert len(woken) == 3 and hub.subscriber_count == 2 and hub.published() == 3


def test_a_slow_subscriber_loses_its_oldest_alerts_and_counts_them() -> None:
    hub = AlertBroadcast()
    slow = hub.subscribe(capacity=2)
    for n in range(5):
        hub.publish(alert(n))
    assert [a.id for a in slow.drain()] == ["a3", "a4"] and slow.skipped == 3


def test_replay_after_a_known_id_then_live_without_repeats() -> None:
    hub = AlertBroadcast(history=3)
    for n in range(5):
        hub.publish(alert(n))
    replay, live = hub.subscribe_after("a2")
    assert [a.id for a in replay] == ["a3", "a4"]
    hub.publish(alert(5))
    assert [a.id for a in live.drain()] == ["a5"]
    evicted, _ = hub.subscribe_after("a0")  # no longer retained: live only
    assert evicted == []


def test_closing_a_subscription_stops_delivery() -> None:
    hub = AlertBroadcast()
    with hub.subscribe() as sub:
        pass
    hub.publish(alert(1))
    assert sub.drain() == [] and hub.subscriber_count == 0
