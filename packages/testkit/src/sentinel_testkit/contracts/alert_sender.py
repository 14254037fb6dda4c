"""What every AlertSender must do, checked through the port against a real destination.

Each implementation provides a ``harness`` fixture: an object with ``new_sender()`` (called inside
the running event loop), ``received()`` (the ``(alert id, rule id)`` pairs the destination holds,
in arrival order), ``break_destination()`` (from now on the destination fails transiently: a 5xx,
a 4xx SMTP reply, an unwritable file) and ``repair_destination()``.
``RefusingAlertSenderContract`` adds ``refuse_next(count)`` for destinations that can refuse for
good (an SMTP 5xx, an HTTP 4xx).
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Protocol

import pytest

from sentinel_domain.alert import Alert
from sentinel_ports.alert_sender import AlertSender, DeliveryError, PermanentDeliveryError
from sentinel_testkit.contracts.alert_spool import sample_alert

KINDS = ("log", "email", "webhook", "otlp")
TIMEOUT = 30.0


class SenderHarness(Protocol):
    def new_sender(self) -> AlertSender: ...
    def received(self) -> list[tuple[str, str]]: ...
    def break_destination(self) -> None: ...
    def repair_destination(self) -> None: ...


class RefusingHarness(SenderHarness, Protocol):
    def refuse_next(self, count: int) -> None: ...


def run(body: Callable[[AlertSender], Awaitable[None]], harness: SenderHarness) -> None:
    """Run ``body`` with a fresh sender inside one event loop, closing the sender afterwards."""

    async def main() -> None:
        sender = harness.new_sender()
        try:
            await asyncio.wait_for(body(sender), TIMEOUT)
        finally:
            await sender.aclose()

    asyncio.run(main())


async def send_all(sender: AlertSender, alerts: Sequence[Alert]) -> None:
    for start in range(0, len(alerts), sender.max_batch):
        await sender.send(alerts[start : start + sender.max_batch])


def ids(alerts: Sequence[Alert]) -> list[tuple[str, str]]:
    return [(a.id, a.rule_id) for a in alerts]


class AlertSenderContract:
    @pytest.fixture
    def harness(self) -> Iterator[SenderHarness]:
        raise NotImplementedError

    def test_declares_a_contract_kind_and_sane_batching(self, harness: SenderHarness) -> None:
        async def body(sender: AlertSender) -> None:
            assert sender.kind in KINDS
            assert sender.max_batch >= 1 and sender.batch_interval >= 0

        run(body, harness)

    def test_every_alert_arrives_once_in_order(self, harness: SenderHarness) -> None:
        alerts = [sample_alert(i) for i in range(7)]

        async def body(sender: AlertSender) -> None:
            await send_all(sender, alerts)

        run(body, harness)
        assert harness.received() == ids(alerts)

    def test_hostile_text_arrives_intact(self, harness: SenderHarness) -> None:
        alerts = [
            sample_alert(1, rule_id="r\r\nBcc: victim@example.org", message="a\r\n.\r\nQUIT\x00"),
            sample_alert(2, rule_id="ünï-çødé-✓", message="x" * 5000),
        ]

        async def body(sender: AlertSender) -> None:
            await send_all(sender, alerts)

        run(body, harness)
        assert harness.received() == ids(alerts)

    def test_a_transient_failure_raises_and_the_retry_delivers_once(self, harness: SenderHarness) -> None:
        alert = sample_alert(3)

        async def body(sender: AlertSender) -> None:
            harness.break_destination()
            for _ in range(2):
                with pytest.raises(DeliveryError) as info:
                    await sender.send([alert])
                assert not info.value.permanent
            harness.repair_destination()
            await sender.send([alert])

        run(body, harness)
        assert harness.received() == ids([alert])

    def test_close_is_idempotent_and_a_closed_sender_can_send_again(self, harness: SenderHarness) -> None:
        alerts = [sample_alert(4), sample_alert(5)]

        async def body(sender: AlertSender) -> None:
            await sender.send(alerts[:1])
            await sender.aclose()
            await sender.aclose()
            await sender.send(alerts[1:])

        run(body, harness)
        assert harness.received() == ids(alerts)


class RefusingAlertSenderContract(AlertSenderContract):
    @pytest.fixture
    def harness(self) -> Iterator[RefusingHarness]:
        raise NotImplementedError

    def test_a_refusal_is_permanent_and_delivers_nothing(self, harness: RefusingHarness) -> None:
        refused, accepted = sample_alert(6), sample_alert(7)

        async def body(sender: AlertSender) -> None:
            harness.refuse_next(1)
            with pytest.raises(PermanentDeliveryError):
                await sender.send([refused])
            await sender.send([accepted])

        run(body, harness)
        assert harness.received() == ids([accepted])
