"""Webhook delivery against a real HTTP receiver on 127.0.0.1: headers, HMAC, retries, SSRF guard.

pipeline (LMDB spool) --HTTP POST--> HttpReceiver 127.0.0.1:<port>
"""

import asyncio
import hashlib
import hmac
import ipaddress
import json
import ssl
import urllib.parse
from pathlib import Path

import pytest

from integration.fixtures.alerting.harness import run_pipeline, section, until
from integration.fixtures.alerting.receivers import HttpReceiver, self_signed_cert, webhook_alerts
from sentinel_adapters.alerting.factory import AlertingAdapters
from sentinel_adapters.alerting.webhook_sender import WebhookAlertSender
from sentinel_application.alerting import AlertPipeline
from sentinel_application.alerting.metrics import ALERTS_EXPORTED, EXPORT_FAILURES
from sentinel_infrastructure.config.alerting import RouteSection, WebhookSection
from sentinel_ports.alert_sender import PermanentDeliveryError, TransientDeliveryError
from sentinel_testkit.contracts.alert_spool import sample_alert

SECRET = "correct horse battery staple"
LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]


def hook(url: str, **extra: object) -> RouteSection:
    return RouteSection(name="hook", destination="webhook", min_severity="low", webhook_url=url, **extra)  # type: ignore[arg-type]


def test_the_receiver_gets_the_alert_json_with_custom_headers_and_a_valid_hmac(tmp_path: Path) -> None:
    alert = sample_alert(2, rule_id="ssh-brute\r\nX-Evil: 1")
    with HttpReceiver() as receiver:
        route = hook(
            receiver.url + "/in?team=blue",
            webhook_headers={"Authorization": "Bearer t0ken", "X-Team": "blue"},
            webhook_hmac_secret=SECRET,
        )

        async def body(p: AlertPipeline, _: AlertingAdapters) -> None:
            p.publish(alert)
            await until(lambda: len(receiver.delivered()) == 1)

        run_pipeline(section(tmp_path, route), body, tmp_path)
    (request,) = receiver.requests
    assert request.path == "/in?team=blue"
    assert json.loads(request.body) == alert.to_dict()
    headers = request.headers
    assert headers["content-type"] == "application/json"
    assert (headers["authorization"], headers["x-team"]) == ("Bearer t0ken", "blue")
    assert "x-evil" not in headers
    assert urllib.parse.unquote(headers["x-ebpfsentinel-alert-id"]) == alert.id
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-ebpfsentinel-signature"], expected)


def test_three_500s_then_a_200_deliver_the_alert_once_with_the_same_id(tmp_path: Path) -> None:
    alert = sample_alert(5)
    with HttpReceiver() as receiver:
        receiver.answer_next(500, 500, 500)

        async def body(p: AlertPipeline, _: AlertingAdapters) -> None:
            p.publish(alert)
            await until(lambda: len(receiver.delivered()) == 1)
            await asyncio.sleep(0.2)  # nothing further may arrive

        p = run_pipeline(section(tmp_path, hook(receiver.url)), body, tmp_path)
    assert [r.status for r in receiver.requests] == [500, 500, 500, 200]
    assert {r.headers["x-ebpfsentinel-alert-id"] for r in receiver.requests} == {alert.id}
    assert len({r.body for r in receiver.requests}) == 1
    assert [a["id"] for a in webhook_alerts(receiver.delivered())] == [alert.id]
    assert p.metrics.value(EXPORT_FAILURES, destination="webhook") == 3
    assert p.metrics.value(ALERTS_EXPORTED, destination="webhook") == 1


@pytest.mark.parametrize(
    ("host", "reason"),
    [("127.0.0.1", "loopback"), ("localhost", "loopback"), ("[::ffff:127.0.0.1]", "loopback"),
     ("2130706433", "loopback"), ("10.1.2.3", "private"), ("169.254.169.254", "cloud metadata"),
     ("100.64.0.1", "CGNAT"), ("0.0.0.0", "unspecified"), ("[::1]", "loopback")],
)  # fmt: skip
def test_internal_addresses_are_refused_and_receive_nothing(tmp_path: Path, host: str, reason: str) -> None:
    with HttpReceiver() as receiver:
        config = section(tmp_path, hook(f"http://{host}:{receiver.port}/"), webhook=WebhookSection())

        async def body(p: AlertPipeline, _: AlertingAdapters) -> None:
            p.publish(sample_alert(1))
            await until(lambda: p.metrics.dropped()["failed"] == 1)

        p = run_pipeline(config, body, tmp_path)
    assert receiver.requests == []
    assert reason in p.status()[0].last_error
    assert p.metrics.value(ALERTS_EXPORTED) == 0


def test_an_allow_listed_internal_receiver_gets_the_alert(tmp_path: Path) -> None:
    with HttpReceiver() as receiver:
        config = section(
            tmp_path,
            hook(f"http://localhost:{receiver.port}/"),
            webhook=WebhookSection(allow_networks=["127.0.0.1"]),
        )

        async def body(p: AlertPipeline, _: AlertingAdapters) -> None:
            p.publish(sample_alert(1))
            await until(lambda: len(receiver.delivered()) == 1)

        run_pipeline(config, body, tmp_path)


def test_private_networks_stay_refused_when_only_another_network_is_allowed() -> None:
    sender = WebhookAlertSender("http://10.1.2.3:9/", allow_networks=[ipaddress.ip_network("192.168.0.0/16")])

    async def main() -> None:
        with pytest.raises(PermanentDeliveryError, match=r"10\.1\.2\.3: private"):
            await sender.send([sample_alert(1)])
        await sender.aclose()

    asyncio.run(main())


def test_a_redirect_is_never_followed(tmp_path: Path) -> None:
    with HttpReceiver() as target, HttpReceiver() as receiver:
        receiver.redirect_to = target.url + "/stolen"
        receiver.answer_next(302)

        async def body(p: AlertPipeline, _: AlertingAdapters) -> None:
            p.publish(sample_alert(1))
            await until(lambda: p.metrics.dropped()["failed"] == 1)

        p = run_pipeline(section(tmp_path, hook(receiver.url)), body, tmp_path)
    assert [r.status for r in receiver.requests] == [302] and target.requests == []
    assert "HTTP 302" in p.status()[0].last_error


def test_a_slow_receiver_times_out_as_a_transient_failure() -> None:
    with HttpReceiver() as receiver:
        receiver.delay = 1.0
        sender = WebhookAlertSender(receiver.url, timeout=0.2, allow_networks=LOOPBACK)

        async def main() -> None:
            with pytest.raises(TransientDeliveryError, match="Timeout"):
                await sender.send([sample_alert(1)])
            await sender.aclose()

        asyncio.run(main())


def test_a_client_error_is_permanent_and_a_429_is_transient() -> None:
    with HttpReceiver() as receiver:
        sender = WebhookAlertSender(receiver.url, allow_networks=LOOPBACK)
        receiver.answer_next(404, 429)

        async def main() -> None:
            with pytest.raises(PermanentDeliveryError, match="404"):
                await sender.send([sample_alert(1)])
            with pytest.raises(TransientDeliveryError, match="429"):
                await sender.send([sample_alert(1)])
            await sender.aclose()

        asyncio.run(main())


@pytest.mark.parametrize(("name", "delivered"), [("localhost", 1), ("elsewhere.example", 0)])
def test_https_is_verified_against_the_url_host_although_the_guard_connects_by_address(
    tmp_path: Path, name: str, delivered: int
) -> None:
    cert = self_signed_cert(tmp_path, name)
    with HttpReceiver(cert=cert) as receiver:
        sender = WebhookAlertSender(
            f"https://localhost:{receiver.port}/",
            allow_networks=LOOPBACK,
            ssl_context=ssl.create_default_context(cafile=str(cert[0])),
        )

        async def main() -> str:
            try:
                await sender.send([sample_alert(1)])
            except TransientDeliveryError as exc:
                return str(exc)
            finally:
                await sender.aclose()
            return ""

        error = asyncio.run(main())
    assert len(receiver.delivered()) == delivered
    assert ("certificate verify failed" in error.lower()) == (delivered == 0), error
