"""The gRPC server on loopback with a real client: live streaming with filters, health, reflection,
auth through metadata, lagging clients, shutdown with open streams, TLS (contract §3).

The server runs on its own event loop thread, like in the agent; alerts are published from the test
thread, as detection threads do.
"""

import asyncio
import datetime
import ipaddress
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from sentinel_agent.grpc_api import GrpcAlertServer
from sentinel_agent.grpc_api._generated import alerts_pb2, alerts_pb2_grpc
from sentinel_application.alert_broadcast import AlertBroadcast
from sentinel_domain.access import Principal, Role
from sentinel_domain.alert import Alert, AlertAction, Component
from sentinel_domain.common import MitreRef, Severity
from sentinel_infrastructure.config.model import TlsSection
from sentinel_ports.authenticator import AuthenticationError, Authenticator, Credentials

JWT = "aaa.bbb.ccc"
KEY = "sk-viewer"


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


class OneKeyOneToken(Authenticator):
    """Test double: one API key and one bearer token are valid."""

    def __init__(self) -> None:
        self.seen: list[Credentials] = []

    def authenticate(self, credentials: Credentials) -> Principal:
        self.seen.append(credentials)
        if credentials.bearer == JWT:
            return Principal("alice", Role.ADMIN)
        if credentials.api_key == KEY:
            return Principal("viewer-key", Role.VIEWER)
        raise AuthenticationError("invalid API key")


class Harness:
    def __init__(self, **server_args: Any) -> None:
        self.broadcast = AlertBroadcast()
        self.loop = LoopThread()
        self.server = GrpcAlertServer(self.broadcast, bind_address="127.0.0.1", port=0, **server_args)
        self.port = self.loop.run(self.server.start())
        self._seq = 0

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(f"127.0.0.1:{self.port}")

    def publish(
        self, component: Component = Component.FIREWALL, severity: Severity = Severity.MEDIUM
    ) -> Alert:
        self._seq += 1
        alert = Alert(
            id=f"{self._seq}-r{self._seq}-{self._seq}",
            timestamp_ns=self._seq,
            component=component,
            severity=severity,
            rule_id=f"r{self._seq}",
            action=AlertAction.BLOCK,
            src=ipaddress.ip_address("10.1.2.3"),
            mitre=MitreRef("T1046", "Network Service Discovery", "discovery"),
        )
        self.broadcast.publish(alert)
        return alert

    def close(self) -> None:
        self.loop.run(self.server.stop(grace=1))
        self.loop.close()


@pytest.fixture
def harness() -> Iterator[Harness]:
    h = Harness(authenticator=None)
    yield h
    h.close()


@pytest.fixture
def authed() -> Iterator[Harness]:
    h = Harness(authenticator=OneKeyOneToken())
    yield h
    h.close()


def stub(channel: grpc.Channel) -> Any:
    return alerts_pb2_grpc.AlertStreamServiceStub(channel)  # type: ignore[no-untyped-call]


def stream(channel: grpc.Channel, metadata: tuple[tuple[str, str], ...] = (), **request: str) -> grpc.Call:
    call = stub(channel).StreamAlerts(
        alerts_pb2.StreamAlertsRequest(**request), metadata=metadata, timeout=15
    )
    call.initial_metadata()  # returns once the server has subscribed
    return call


def test_stream_delivers_live_alerts_that_pass_the_filter(harness: Harness) -> None:
    harness.publish()  # before the call: live only, never replayed
    with harness.channel() as channel:
        call = stream(channel, component="FIREWALL", min_severity="medium")
        assert harness.broadcast.subscriber_count == 1
        skipped = [harness.publish(Component.IDS), harness.publish(severity=Severity.LOW)]
        wanted = harness.publish(severity=Severity.HIGH)
        event = next(call)
        assert (event.id, event.component, event.severity, event.rule_id) == (
            wanted.id,
            "firewall",
            "high",
            "r4",
        )
        assert list(event.src_addr) == [0x0A010203, 0, 0, 0] and event.mitre_tactic == "discovery"
        assert all(a.id != event.id for a in skipped)
        call.cancel()
    assert _eventually(lambda: harness.broadcast.subscriber_count == 0)


def test_health_serving_and_reflection_off_by_default(harness: Harness) -> None:
    with harness.channel() as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "ebpfsentinel.v1.AlertStreamService"):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as err:
            _list_services(channel)
        assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_reflection_lists_the_services_when_enabled() -> None:
    h = Harness(authenticator=OneKeyOneToken(), reflection=True)
    try:
        with h.channel() as channel:
            assert _list_services(channel) >= {
                "ebpfsentinel.v1.AlertStreamService",
                "grpc.health.v1.Health",
                "grpc.reflection.v1alpha.ServerReflection",
            }
            # What grpcurl asks next: the file defining the service, to build requests from JSON.
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            request = reflection_pb2.ServerReflectionRequest(
                file_containing_symbol="ebpfsentinel.v1.AlertStreamService"
            )
            reply = next(stub.ServerReflectionInfo(iter([request]), timeout=5))
            (raw,) = reply.file_descriptor_response.file_descriptor_proto
            proto = descriptor_pb2.FileDescriptorProto.FromString(raw)
            assert (proto.name, proto.package) == ("ebpfsentinel/v1/alerts.proto", "ebpfsentinel.v1")
            assert {m.name for m in proto.message_type} == {
                "StreamAlertsRequest",
                "AlertEvent",
                "ContainerIdentity",
            }
    finally:
        h.close()


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ((), "authentication required: provide Bearer token or x-api-key"),
        ((("authorization", "Bearer not-a-jwt"), ("x-api-key", KEY)), "malformed Bearer token"),
        ((("authorization", "Bearer a.b.c.d"),), "malformed Bearer token"),
        ((("x-api-key", "sk-wrong"),), "invalid API key"),
        ((("authorization", "Bearer x.y.z"),), "invalid API key"),
    ],
)
def test_unauthenticated_calls_are_refused(
    authed: Harness, metadata: tuple[tuple[str, str], ...], message: str
) -> None:
    with authed.channel() as channel:
        call = stub(channel).StreamAlerts(alerts_pb2.StreamAlertsRequest(), metadata=metadata, timeout=10)
        with pytest.raises(grpc.RpcError) as err:
            next(call)
        assert (err.value.code(), err.value.details()) == (grpc.StatusCode.UNAUTHENTICATED, message)
    assert authed.broadcast.subscriber_count == 0


@pytest.mark.parametrize(
    "metadata",
    [
        (("authorization", f"Bearer {JWT}"),),
        (("x-api-key", KEY),),
        (("authorization", "Basic dXNlcg=="), ("x-api-key", KEY)),  # not Bearer: the API key is used
    ],
)
def test_any_valid_credential_may_stream(authed: Harness, metadata: tuple[tuple[str, str], ...]) -> None:
    with authed.channel() as channel:
        health = health_pb2_grpc.HealthStub(channel)  # never authenticated
        assert health.Check(health_pb2.HealthCheckRequest(), timeout=5).status == 1
        call = stream(channel, metadata)
        published = authed.publish()
        assert next(call).id == published.id
        call.cancel()


def test_a_lagging_client_skips_the_oldest_alerts() -> None:
    h = Harness(authenticator=None, capacity=4)
    try:
        with h.channel() as channel:
            call = stream(channel)
            # Hold the server's loop so nothing is drained while 10 alerts arrive (capacity 4).
            hold, held = threading.Event(), threading.Event()

            def block() -> None:
                held.set()
                hold.wait(10)

            h.loop.loop.call_soon_threadsafe(block)
            assert held.wait(10)
            alerts = [h.publish() for _ in range(10)]
            hold.set()
            received = [next(call).id for _ in range(4)]
            assert received == [a.id for a in alerts[6:]]
            marker = h.publish()
            assert next(call).id == marker.id  # nothing else was queued
            call.cancel()
    finally:
        h.close()


def test_stop_ends_open_streams_promptly(harness: Harness) -> None:
    with harness.channel() as channel:
        calls = [stream(channel), stream(channel, component="ids")]
        assert harness.broadcast.subscriber_count == 2
        harness.loop.run(harness.server.stop(grace=5))
        for call in calls:
            assert list(call) == []  # the stream ends cleanly (status OK) instead of hanging
            assert call.code() == grpc.StatusCode.OK
    assert harness.broadcast.subscriber_count == 0


def test_tls(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sentinel.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("sentinel.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (tmp_path / "cert.pem").write_bytes(pem)
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    tls = TlsSection(enabled=True, cert_path="cert.pem", key_path=str(tmp_path / "key.pem"))
    h = Harness(authenticator=None, tls=tls, base_dir=tmp_path)  # relative: from the config's folder
    try:
        credentials = grpc.ssl_channel_credentials(root_certificates=pem)
        options = (("grpc.ssl_target_name_override", "sentinel.test"),)
        with grpc.secure_channel(f"127.0.0.1:{h.port}", credentials, options) as channel:
            call = stream(channel)
            published = h.publish()
            assert next(call).id == published.id
            call.cancel()
        with h.channel() as plain, pytest.raises(grpc.RpcError) as err:  # plaintext is refused
            health_pb2_grpc.HealthStub(plain).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        h.close()


def _list_services(channel: grpc.Channel) -> set[str]:
    reflection_stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    replies = reflection_stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
    )
    reply = next(replies)
    return {service.name for service in reply.list_services_response.service}


def _eventually(predicate: Any, attempts: int = 100) -> bool:
    done = threading.Event()
    for _ in range(attempts):
        if predicate():
            return True
        done.wait(0.05)
    return bool(predicate())


def test_a_taken_port_is_an_error_not_a_shared_listener(harness: Harness) -> None:
    second = GrpcAlertServer(AlertBroadcast(), None, bind_address="127.0.0.1", port=harness.port)
    with pytest.raises(RuntimeError):
        harness.loop.run(second.start())


def test_streams_beyond_the_limit_are_refused() -> None:
    h = Harness(authenticator=None, max_streams=2)
    try:
        with h.channel() as channel:
            calls = [stream(channel), stream(channel)]
            extra = stub(channel).StreamAlerts(alerts_pb2.StreamAlertsRequest(), timeout=10)
            with pytest.raises(grpc.RpcError) as err:
                next(extra)
            assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            calls.pop().cancel()  # a slot frees up when a stream closes
            assert _eventually(lambda: h.broadcast.subscriber_count == 1)
            again = stream(channel)
            published = h.publish()
            assert next(again).id == published.id and next(calls[0]).id == published.id
    finally:
        h.close()
