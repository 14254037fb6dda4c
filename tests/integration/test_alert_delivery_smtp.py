"""E-mail delivery against a real SMTP server (aiosmtpd) on 127.0.0.1: batching, envelope,
content, 451 retried, 554 failed, STARTTLS/implicit TLS with authentication, no header injection.

    pipeline (LMDB spool) --SMTP--> SmtpReceiver 127.0.0.1:<port>
"""

import asyncio
import ssl
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import structlog.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from integration.fixtures.alerting.harness import run_pipeline, section, until
from integration.fixtures.alerting.receivers import SmtpReceiver, free_port, mail_alerts, self_signed_cert
from sentinel_adapters.alerting.email_message import build_message, message_bytes
from sentinel_adapters.alerting.factory import AlertingAdapters, build_alert_adapters
from sentinel_adapters.alerting.smtp_sender import SmtpAlertSender, SmtpTls
from sentinel_application.alerting import AlertPipeline
from sentinel_application.alerting.metrics import ALERTS_EXPORTED, EXPORT_FAILURES
from sentinel_domain.common import Severity
from sentinel_infrastructure.config.alerting import AlertingSection, RouteSection, SmtpSection
from sentinel_ports.alert_sender import TransientDeliveryError
from sentinel_testkit.contracts.alert_spool import sample_alert

FROM = "ebpfsentinel@example.org"
TO = ["soc@example.org", "oncall@example.org"]
EXPECTED_HEADERS = {"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
                    "Content-Transfer-Encoding"}  # fmt: skip


def mail_section(tmp_path: Path, port: int, **smtp: Any) -> AlertingSection:
    settings_ = {"host": "127.0.0.1", "port": port, "from_address": FROM, "tls": False,
                 "batch_interval_secs": 0.3, "batch_max": 10, "timeout_secs": 5, **smtp}  # fmt: skip
    route = RouteSection(name="mail", destination="email", min_severity="low", email_to=", ".join(TO))
    return section(tmp_path, route, smtp=SmtpSection(**settings_))


def test_alerts_of_one_interval_arrive_as_one_mail_with_the_right_envelope(tmp_path: Path) -> None:
    alerts = [sample_alert(i) for i in range(5)]
    alerts[3] = replace(alerts[3], severity=Severity.CRITICAL, rule_id="worst-rule")
    with SmtpReceiver() as receiver:

        async def body(p: AlertPipeline, _: AlertingAdapters) -> None:
            for a in alerts:
                p.publish(a)
            await until(lambda: len(receiver.received()) == 1)
            await asyncio.sleep(0.5)  # one interval later, still one mail

        p = run_pipeline(mail_section(tmp_path, receiver.port), body, tmp_path)
    (mail,) = receiver.received()
    assert (mail.mail_from, mail.rcpt_tos) == (FROM, TO)
    message = mail.message
    assert message["From"] == FROM and message["To"] == ", ".join(TO)
    component = alerts[3].component.value
    assert (
        message["Subject"]
        == f"[eBPFsentinel] 5 alerts, highest Critical: worst-rule ({component}) and 4 more"
    )
    assert message.get_content_type() == "text/plain" and message.get_content_charset() == "utf-8"
    assert [a["id"] for a in mail_alerts(mail)] == [a.id for a in alerts]
    assert mail_alerts(mail)[0] == alerts[0].to_dict()
    assert max(len(line) for line in mail.raw.split(b"\r\n")) <= 998
    assert p.metrics.value(ALERTS_EXPORTED, destination="email") == 5


def test_a_single_alert_uses_the_contract_subject_and_a_json_object_body(tmp_path: Path) -> None:
    alert = sample_alert(2, severity=Severity.HIGH, rule_id="ssh-brute")
    with SmtpReceiver() as receiver:

        async def body(p: AlertPipeline, _: AlertingAdapters) -> None:
            p.publish(alert)
            await until(lambda: len(receiver.received()) == 1)

        run_pipeline(mail_section(tmp_path, receiver.port), body, tmp_path)
    (mail,) = receiver.received()
    assert mail.message["Subject"] == f"[eBPFsentinel] High alert: ssh-brute ({alert.component.value})"
    assert mail_alerts(mail) == [alert.to_dict()]


def test_a_451_is_retried_and_the_mail_arrives_once(tmp_path: Path) -> None:
    with SmtpReceiver() as receiver:
        receiver.reply_next("451 4.3.0 Temporary failure, try later")

        async def body(p: AlertPipeline, _: AlertingAdapters) -> None:
            p.publish(sample_alert(1))
            await until(lambda: len(receiver.received()) == 1)

        p = run_pipeline(mail_section(tmp_path, receiver.port, batch_interval_secs=0), body, tmp_path)
    assert receiver.attempts == 2 and len(receiver.received()) == 1
    assert p.metrics.value(EXPORT_FAILURES, destination="email") == 1
    assert p.metrics.dropped()["failed"] == 0


def test_a_554_is_counted_failed_and_not_retried(tmp_path: Path) -> None:
    with SmtpReceiver() as receiver:
        receiver.reply_next("554 5.7.1 Message rejected")

        async def body(p: AlertPipeline, _: AlertingAdapters) -> None:
            p.publish(sample_alert(1))
            await until(lambda: p.metrics.dropped()["failed"] == 1)
            p.publish(sample_alert(2))
            await until(lambda: len(receiver.received()) == 1)

        p = run_pipeline(mail_section(tmp_path, receiver.port, batch_interval_secs=0), body, tmp_path)
    assert receiver.attempts == 2
    assert [a["rule_id"] for a in mail_alerts(receiver.received()[0])] == ["rule-2"]
    assert (p.status()[0].failed, p.status()[0].delivered) == (1, 1)


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # aiosmtpd: implicit TLS is TLS
def test_tls_modes_with_authentication(tmp_path: Path, mode: str) -> None:
    cert = self_signed_cert(tmp_path)
    with SmtpReceiver(tls=mode, cert=cert, credentials=("sentinel", "pa55word")) as receiver:
        config = mail_section(
            tmp_path, receiver.port, tls=mode, username="sentinel", password="pa55word", ca_file=str(cert[0]),
            batch_interval_secs=0,
        )  # fmt: skip

        async def body(p: AlertPipeline, _: AlertingAdapters) -> None:
            p.publish(sample_alert(1))
            await until(lambda: len(receiver.received()) == 1)

        run_pipeline(config, body, tmp_path)
    (mail,) = receiver.received()
    assert mail.tls is True and mail.login == "sentinel"


def test_starttls_is_required_never_silently_skipped(tmp_path: Path) -> None:
    cert = self_signed_cert(tmp_path)
    with SmtpReceiver() as receiver:  # offers no STARTTLS
        sender = SmtpAlertSender(
            "127.0.0.1", receiver.port, FROM, TO, tls=SmtpTls.STARTTLS, timeout=5,
            ssl_context=ssl.create_default_context(cafile=str(cert[0])),
        )  # fmt: skip

        async def main() -> None:
            with pytest.raises(TransientDeliveryError, match=r"(?i)starttls"):
                await sender.send([sample_alert(1)])

        asyncio.run(main())
    assert receiver.received() == []


def test_a_refused_connection_is_transient() -> None:
    sender = SmtpAlertSender("127.0.0.1", free_port(), FROM, TO, tls=SmtpTls.PLAIN, timeout=2)

    async def main() -> None:
        with pytest.raises(TransientDeliveryError):
            await sender.send([sample_alert(1)])

    asyncio.run(main())


hostile = st.text(alphabet=st.sampled_from(list("ab \r\n\t\x00\x0b\x85\u2028\u2029:é✓<>@")), max_size=40)


@settings(max_examples=300, deadline=None)
@given(rule_id=hostile, message=hostile, count=st.integers(min_value=1, max_value=3))
def test_no_alert_text_can_reach_a_header(rule_id: str, message: str, count: int) -> None:
    alerts = [sample_alert(i, rule_id=rule_id, message=message) for i in range(count)]
    raw = message_bytes(build_message(alerts, FROM, TO))
    head, _, _ = raw.partition(b"\r\n\r\n")
    names = [line.split(b":", 1)[0].decode() for line in head.split(b"\r\n") if line[:1] not in (b" ", b"\t")]
    assert set(names) == EXPECTED_HEADERS and len(names) == len(EXPECTED_HEADERS)
    assert b"\r\n\r\n" not in head and b"\n\n" not in head
    assert all(ord(ch) >= 0x20 or ch == "\t" for ch in str(build_message(alerts, FROM, TO)["Subject"]))


def test_plaintext_smtp_is_warned_about_when_the_senders_are_built(tmp_path: Path) -> None:
    with structlog.testing.capture_logs() as logs:
        build_alert_adapters(mail_section(tmp_path, 2525), tmp_path).spool.close()
    warnings = [e for e in logs if e["log_level"] == "warning" and "without TLS" in e["event"]]
    assert [(w["host"], w["route"]) for w in warnings] == [("127.0.0.1", "mail")]
    with structlog.testing.capture_logs() as logs:
        build_alert_adapters(mail_section(tmp_path, 2525, tls="starttls"), tmp_path).spool.close()
    assert not [e for e in logs if "without TLS" in e["event"]]
