"""AlertSender contract, run against each real sender and its real destination (an HTTP server,
an SMTP server, an OTLP/HTTP receiver, a file), and against the scripted fake."""

import ipaddress
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration.fixtures.alerting.receivers import (
    HttpReceiver,
    SmtpReceiver,
    mail_alerts,
    otlp_records,
    webhook_alerts,
)
from sentinel_adapters.alerting.eve_file_sender import EveFileAlertSender, EveFileWriter
from sentinel_adapters.alerting.otlp_sender import OtlpAlertSender
from sentinel_adapters.alerting.smtp_sender import SmtpAlertSender, SmtpTls
from sentinel_adapters.alerting.webhook_sender import WebhookAlertSender
from sentinel_ports.alert_sender import AlertSender
from sentinel_testkit.contracts.alert_sender import AlertSenderContract, RefusingAlertSenderContract
from sentinel_testkit.fakes.alert_sender import ScriptedAlertSender

LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]


class FakeHarness:
    def __init__(self) -> None:
        self.sender = ScriptedAlertSender(max_batch=3)

    def new_sender(self) -> AlertSender:
        return self.sender

    def received(self) -> list[tuple[str, str]]:
        return [(a.id, a.rule_id) for a in self.sender.delivered]

    def break_destination(self) -> None:
        self.sender.failing = True

    def repair_destination(self) -> None:
        self.sender.failing = False

    def refuse_next(self, count: int) -> None:
        self.sender.fail_next(count, permanent=True)


class HttpHarness:
    """Shared by the webhook and OTLP harnesses: a real HTTP receiver that can fail or refuse."""

    def __init__(self, receiver: HttpReceiver) -> None:
        self.receiver = receiver

    def break_destination(self) -> None:
        self.receiver.default = 503

    def repair_destination(self) -> None:
        self.receiver.default = 200

    def refuse_next(self, count: int) -> None:
        self.receiver.answer_next(*[400] * count)


class WebhookHarness(HttpHarness):
    def new_sender(self) -> AlertSender:
        return WebhookAlertSender(self.receiver.url + "/hook", allow_networks=LOOPBACK, timeout=5)

    def received(self) -> list[tuple[str, str]]:
        return [(a["id"], a["rule_id"]) for a in webhook_alerts(self.receiver.delivered())]


class OtlpHarness(HttpHarness):
    def new_sender(self) -> AlertSender:
        return OtlpAlertSender(self.receiver.url + "/v1/logs", max_batch=4, batch_interval=0, timeout=5)

    def received(self) -> list[tuple[str, str]]:
        records = otlp_records(self.receiver.delivered())
        return [(r["ebpfsentinel.alert.id"], r["ebpfsentinel.rule_id"]) for r in records]


class SmtpHarness:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    def new_sender(self) -> AlertSender:
        return SmtpAlertSender(
            "127.0.0.1",
            self.receiver.port,
            "sentinel@example.org",
            ["soc@example.org"],
            tls=SmtpTls.PLAIN,
            max_batch=3,
            batch_interval=0,
            timeout=5,
        )

    def received(self) -> list[tuple[str, str]]:
        return [(a["id"], a["rule_id"]) for mail in self.receiver.received() for a in mail_alerts(mail)]

    def break_destination(self) -> None:
        self.receiver.default = "451 4.3.0 try again later"

    def repair_destination(self) -> None:
        self.receiver.default = "250 OK"

    def refuse_next(self, count: int) -> None:
        self.receiver.reply_next(*["554 5.7.1 rejected"] * count)


class EveFileHarness:
    """The destination breaks when a directory stands where the file should be (EISDIR)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "eve.json"
        self._aside = directory / "eve.json.aside"

    def new_sender(self) -> AlertSender:
        return EveFileAlertSender(EveFileWriter(self.path), max_batch=4)

    def received(self) -> list[tuple[str, str]]:
        lines = self.path.read_text("utf-8").splitlines() if self.path.exists() else []
        return [(e["ebpfsentinel"]["id"], e["ebpfsentinel"]["rule_id"]) for e in map(json.loads, lines)]

    def break_destination(self) -> None:
        if self.path.exists():
            self.path.rename(self._aside)
        self.path.mkdir()

    def repair_destination(self) -> None:
        shutil.rmtree(self.path)
        if self._aside.exists():
            self._aside.rename(self.path)


class TestScriptedAlertSender(RefusingAlertSenderContract):
    @pytest.fixture
    def harness(self) -> Iterator[FakeHarness]:
        yield FakeHarness()


class TestWebhookAlertSender(RefusingAlertSenderContract):
    @pytest.fixture
    def harness(self) -> Iterator[WebhookHarness]:
        with HttpReceiver() as receiver:
            yield WebhookHarness(receiver)


class TestOtlpAlertSender(RefusingAlertSenderContract):
    @pytest.fixture
    def harness(self) -> Iterator[OtlpHarness]:
        with HttpReceiver() as receiver:
            yield OtlpHarness(receiver)


class TestSmtpAlertSender(RefusingAlertSenderContract):
    @pytest.fixture
    def harness(self) -> Iterator[SmtpHarness]:
        with SmtpReceiver() as receiver:
            yield SmtpHarness(receiver)


class TestEveFileAlertSender(AlertSenderContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> Iterator[EveFileHarness]:
        yield EveFileHarness(tmp_path)
