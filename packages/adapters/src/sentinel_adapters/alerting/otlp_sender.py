"""OtlpAlertSender: alerts as OpenTelemetry log records, OTLP/HTTP with protobuf (deviation 20).

One ``ExportLogsServiceRequest`` per batch, POSTed to the collector's logs endpoint (usually
``http://<collector>:4318/v1/logs``) with ``Content-Type: application/x-protobuf``. Resource:
``service.name=ebpfsentinel``, ``host.name``; scope ``ebpfsentinel.alerting``. Each record:
``time_unix_nano`` = the alert's time, severity mapped low→INFO, medium→WARN, high→ERROR,
critical→FATAL, body = the alert message, ``event_name`` = ``ebpfsentinel.alert``, attributes
named after OpenTelemetry's semantic conventions where one exists (``source.address``,
``network.transport``, ...) and ``ebpfsentinel.*`` otherwise.

Outcome, as the OTLP specification says: 2xx delivered (a partial-success rejection is logged:
retrying would be rejected again), 429/502/503/504 and connection problems are transient, any
other status is permanent. The collector is an operator-run service, usually on the same host,
so this client is not behind the webhook SSRF guard.
"""

import socket
import time
from collections.abc import Mapping, Sequence

import httpx
import structlog
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs, SeverityNumber
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from sentinel_domain.alert import Alert
from sentinel_domain.common import Severity
from sentinel_ports.alert_sender import AlertSender, PermanentDeliveryError, TransientDeliveryError

log = structlog.get_logger("ebpfsentinel.alerting")
EVENT_NAME = "ebpfsentinel.alert"
SCOPE = "ebpfsentinel.alerting"
RETRYABLE = frozenset({429, 502, 503, 504})
_SEVERITY = {
    Severity.LOW: SeverityNumber.SEVERITY_NUMBER_INFO,
    Severity.MEDIUM: SeverityNumber.SEVERITY_NUMBER_WARN,
    Severity.HIGH: SeverityNumber.SEVERITY_NUMBER_ERROR,
    Severity.CRITICAL: SeverityNumber.SEVERITY_NUMBER_FATAL,
}
_TRANSPORT = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp"}
_OPTIONAL = (
    "src_domain",
    "dst_domain",
    "matched_domain",
    "confidence",
    "threat_type",
    "data_type",
    "pid",
    "tgid",
)


def _value(value: str | int | bool) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    return AnyValue(string_value=value)


def _attributes(alert: Alert) -> list[KeyValue]:
    pairs: list[tuple[str, str | int | bool]] = [
        ("ebpfsentinel.alert.id", alert.id),
        ("ebpfsentinel.rule_id", alert.rule_id),
        ("ebpfsentinel.component", alert.component.value),
        ("ebpfsentinel.severity", alert.severity.label),
        ("ebpfsentinel.action", alert.action.value),
        ("ebpfsentinel.false_positive", alert.false_positive),
    ]
    if alert.src is not None:
        pairs += [("source.address", str(alert.src)), ("source.port", alert.src_port)]
    if alert.dst is not None:
        pairs += [("destination.address", str(alert.dst)), ("destination.port", alert.dst_port)]
    if alert.src is not None or alert.dst is not None:
        pairs.append(("network.type", "ipv6" if alert.is_ipv6 else "ipv4"))
    if alert.protocol:
        pairs.append(("network.transport", _TRANSPORT.get(alert.protocol, str(alert.protocol))))
    if alert.mitre is not None:
        pairs += [
            ("threat.technique.id", alert.mitre.technique_id),
            ("threat.technique.name", alert.mitre.technique_name),
            ("threat.tactic.name", alert.mitre.tactic),
        ]
    for key in _OPTIONAL:
        value = getattr(alert, key)
        if value is not None:
            pairs.append((f"ebpfsentinel.{key}", value))
    pairs += [(f"ebpfsentinel.extra.{k}", v) for k, v in alert.extra]
    return [KeyValue(key=k, value=_value(v)) for k, v in pairs]


def log_record(alert: Alert, observed_ns: int) -> LogRecord:
    return LogRecord(
        time_unix_nano=alert.timestamp_ns,
        observed_time_unix_nano=observed_ns,
        severity_number=_SEVERITY[alert.severity],
        severity_text=alert.severity.label.upper(),
        body=AnyValue(string_value=alert.message or alert.rule_id),
        attributes=_attributes(alert),
        event_name=EVENT_NAME,
    )


def export_request(alerts: Sequence[Alert], observed_ns: int, host_name: str) -> ExportLogsServiceRequest:
    """One request carrying ``alerts`` under our resource and scope."""
    resource = Resource(
        attributes=[
            KeyValue(key="service.name", value=_value("ebpfsentinel")),
            KeyValue(key="host.name", value=_value(host_name)),
        ]
    )
    scope_logs = ScopeLogs(
        scope=InstrumentationScope(name=SCOPE), log_records=[log_record(a, observed_ns) for a in alerts]
    )
    return ExportLogsServiceRequest(resource_logs=[ResourceLogs(resource=resource, scope_logs=[scope_logs])])


class OtlpAlertSender(AlertSender):
    kind = "otlp"

    def __init__(
        self,
        endpoint: str,
        headers: Mapping[str, str] | None = None,
        timeout: float = 5.0,
        max_batch: int = 512,
        batch_interval: float = 1.0,
    ) -> None:
        self.endpoint = endpoint
        self.headers = {k: v for k, v in (headers or {}).items() if k.lower() != "content-type"}
        self.timeout = timeout
        self._max_batch = max_batch
        self._batch_interval = batch_interval
        self._host_name = socket.gethostname()
        self._client: httpx.AsyncClient | None = None

    @property
    def max_batch(self) -> int:
        return self._max_batch

    @property
    def batch_interval(self) -> float:
        return self._batch_interval

    async def send(self, alerts: Sequence[Alert]) -> None:
        body = export_request(alerts, time.time_ns(), self._host_name).SerializeToString()
        headers = {**self.headers, "Content-Type": "application/x-protobuf"}
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout), trust_env=False)
        try:
            response = await self._client.post(self.endpoint, content=body, headers=headers)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise PermanentDeliveryError(f"OTLP endpoint invalid: {exc}") from exc
        except httpx.TransportError as exc:
            raise TransientDeliveryError(f"OTLP {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if 200 <= status < 300:
            self._log_partial_success(response.content)
            return
        detail = f"OTLP collector answered HTTP {status}"
        raise TransientDeliveryError(detail) if status in RETRYABLE else PermanentDeliveryError(detail)

    def _log_partial_success(self, content: bytes) -> None:
        try:
            answer = ExportLogsServiceResponse.FromString(content)
        except Exception:  # a collector's odd success body is not a failed delivery
            return
        rejected = answer.partial_success.rejected_log_records
        if rejected:
            log.warning("OTLP collector rejected log records", rejected=rejected)

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
