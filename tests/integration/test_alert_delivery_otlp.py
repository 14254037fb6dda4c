"""OTLP/HTTP delivery: a minimal OTLP logs receiver on 127.0.0.1 decodes the protobuf and finds
every alert, once, with its severity, time, resource, scope and attributes.

    pipeline (LMDB spool) --POST /v1/logs (application/x-protobuf)--> HttpReceiver 127.0.0.1
"""

from dataclasses import replace
from pathlib import Path

from integration.fixtures.alerting.harness import run_pipeline, section, until
from integration.fixtures.alerting.receivers import HttpReceiver, otlp_records
from sentinel_adapters.alerting.factory import AlertingAdapters
from sentinel_application.alerting import AlertPipeline
from sentinel_application.alerting.metrics import ALERTS_EXPORTED
from sentinel_domain.common import Severity
from sentinel_infrastructure.config.alerting import AlertingSection, OtlpSection, RouteSection
from sentinel_testkit.contracts.alert_spool import sample_alert

ROUTE = RouteSection(name="collector", destination="otlp", min_severity="low")
SEVERITY_NUMBERS = {Severity.LOW: 9, Severity.MEDIUM: 13, Severity.HIGH: 17, Severity.CRITICAL: 21}


def otlp_section(tmp_path: Path, receiver: HttpReceiver) -> AlertingSection:
    otlp = OtlpSection(
        endpoint=receiver.url + "/v1/logs", batch_max=16, batch_interval_secs=0.1, timeout_ms=5000
    )
    return section(tmp_path, ROUTE, otlp=otlp)


def test_every_alert_arrives_as_one_log_record_with_its_fields(tmp_path: Path) -> None:
    alerts = [sample_alert(i) for i in range(50)]
    with HttpReceiver() as receiver:

        async def body(p: AlertPipeline, _: AlertingAdapters) -> None:
            for a in alerts:
                p.publish(a)
            await until(lambda: len(otlp_records(receiver.delivered())) == 50)

        p = run_pipeline(otlp_section(tmp_path, receiver), body, tmp_path)
    requests = receiver.delivered()
    assert all(
        r.path == "/v1/logs" and r.headers["content-type"] == "application/x-protobuf" for r in requests
    )
    assert 4 <= len(requests) <= 50  # batched (16 per request at most)
    records = {r["ebpfsentinel.alert.id"]: r for r in otlp_records(requests)}
    assert len(records) == 50 and set(records) == {a.id for a in alerts}
    for alert in alerts:
        record = records[alert.id]
        assert record["ebpfsentinel.rule_id"] == alert.rule_id
        assert record["severity_number"] == SEVERITY_NUMBERS[alert.severity]
        assert record["time_unix_nano"] == alert.timestamp_ns and record["body"] == alert.message
        assert record["source.address"] == str(alert.src) and record["destination.port"] == alert.dst_port
        assert record["event_name"] == "ebpfsentinel.alert" and record["scope"] == "ebpfsentinel.alerting"
        assert record["resource"]["service.name"] == "ebpfsentinel"
        if alert.mitre is not None:
            assert record["threat.technique.id"] == alert.mitre.technique_id
    assert p.metrics.value(ALERTS_EXPORTED, destination="otlp") == 50


def test_a_503_is_retried_and_a_400_is_dropped_as_failed(tmp_path: Path) -> None:
    first, refused = sample_alert(1), replace(sample_alert(2), severity=Severity.CRITICAL)
    with HttpReceiver() as receiver:
        receiver.answer_next(503, 503)

        async def body(p: AlertPipeline, _: AlertingAdapters) -> None:
            p.publish(first)
            await until(lambda: len(receiver.delivered()) == 1)
            receiver.answer_next(400)
            p.publish(refused)
            await until(lambda: p.metrics.dropped()["failed"] == 1)

        run_pipeline(otlp_section(tmp_path, receiver), body, tmp_path)
    assert [r.status for r in receiver.requests] == [503, 503, 200, 400]
    assert [r["ebpfsentinel.alert.id"] for r in otlp_records(receiver.delivered())] == [first.id]
