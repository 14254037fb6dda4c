"""RecordingAlertSink: everything published is stored and passed on; a full queue drops oldest."""

from sentinel_application.alert_recorder import RecordingAlertSink
from sentinel_domain.alert import Alert, AlertAction, Component
from sentinel_domain.common import Severity
from sentinel_ports.alert_store import AlertQuery
from sentinel_testkit.fakes.alert_sink import InMemoryAlertSink
from sentinel_testkit.fakes.alert_store import InMemoryAlertStore


def alert(n: int) -> Alert:
    return Alert(f"{n}-r-{n}", n, Component.FIREWALL, Severity.MEDIUM, "r", AlertAction.BLOCK)


def test_every_alert_is_stored_and_forwarded() -> None:
    store, downstream = InMemoryAlertStore(), InMemoryAlertSink()
    recorder = RecordingAlertSink(store, downstream, batch=7)
    for n in range(1, 101):
        recorder.publish(alert(n))
    assert recorder.flush()
    recorder.close()
    assert downstream.published() == 100
    page = store.query(AlertQuery(limit=1000))
    assert len(page.alerts) == 100 and page.alerts[0].timestamp_ns == 100  # newest first
    assert recorder.stored == 100 and recorder.dropped == {"queue_full": 0}


def test_a_full_queue_drops_the_oldest_and_counts_it() -> None:
    store, downstream = InMemoryAlertStore(), InMemoryAlertSink()
    recorder = RecordingAlertSink(store, downstream, capacity=10, batch=10_000, interval=60)
    for n in range(1, 26):
        recorder.publish(alert(n))
    assert recorder.dropped["queue_full"] == 15
    recorder.close()
    stored = {a.timestamp_ns for a in store.query(AlertQuery(limit=100)).alerts}
    assert stored == set(range(16, 26))
    assert downstream.published() == 25  # streams and senders still saw every alert


class PickyStore(InMemoryAlertStore):
    """Refuses any batch larger than 3 alerts whole, like a nearly full LMDB map."""

    def append(self, alerts):  # type: ignore[no-untyped-def]
        return 0 if len(alerts) > 3 else super().append(alerts)


def test_a_refused_batch_is_retried_in_halves() -> None:
    store = PickyStore()
    recorder = RecordingAlertSink(store, InMemoryAlertSink(), batch=20)
    for n in range(1, 21):
        recorder.publish(alert(n))
    recorder.close()
    assert store.count() == 20 and recorder.stored == 20
