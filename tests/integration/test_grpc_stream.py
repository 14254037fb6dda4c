"""gRPC AlertStreamService against the real agent, with real packets (contract §3).

root netns                                   lab netns
[agent] XDP fw -> tail call -> ratelimit  <== veth ==>  pings (denied: firewall alerts)
        gRPC on 127.0.0.1:<grpc_port>                    SYN bursts (throttled: ratelimit alerts)

Auth is on (one viewer API key): health and reflection need no credentials, StreamAlerts does.
Two filtered streams, and traffic in four phases R1, F1, R2, F2 (each one fully received before the
next starts): a stream that let a non-matching alert through would show it before the next matching
one, so exact per-stream sequences prove the filters.
"""

import ipaddress
import queue
import re
import signal
import threading
from pathlib import Path
from typing import Any

import grpc
import pytest
from _agent import AgentProcess, agent_yaml, free_port, wait_until
from _traffic import count_arrivals, send_syns
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from sentinel_agent.grpc_api._generated import alerts_pb2, alerts_pb2_grpc
from sentinel_agent.lab import VethLab

pytestmark = pytest.mark.privileged

KEY = "sk-grpc-viewer-key"
BODY = """  grpc_reflection: true
auth:
  enabled: true
  api_keys:
    - {{name: dashboard, key: sk-grpc-viewer-key, role: viewer}}
firewall:
  mode: block
  rules:
    - {{id: deny-ping, priority: 10, action: deny, protocol: icmp, src_ip: "{peer}/32"}}
ratelimit:
  enabled: true
  default_rate: 100000
  default_burst: 100000
  rules:
    - {{id: syn-cap, rate: 1, burst: 5, src_ip: "{peer}/32", algorithm: token_bucket}}
dlp:
  enabled: false
"""
DPORT = 9199
VIEWER = (("x-api-key", KEY),)


class Stream:
    """A StreamAlerts call read by a thread into a queue, so every wait is bounded."""

    def __init__(
        self, channel: grpc.Channel, metadata: tuple[tuple[str, str], ...] = (), **request: str
    ) -> None:
        stub = alerts_pb2_grpc.AlertStreamServiceStub(channel)  # type: ignore[no-untyped-call]
        request_message = alerts_pb2.StreamAlertsRequest(**request)
        self.call: Any = stub.StreamAlerts(request_message, metadata=metadata, timeout=120)
        self.call.initial_metadata()  # the agent has subscribed: every later alert is live for us
        self.events: queue.Queue[alerts_pb2.AlertEvent | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for event in self.call:
                self.events.put(event)
        except grpc.RpcError:
            pass
        self.events.put(None)  # end of stream

    def take(self, count: int, timeout: float = 15) -> list[alerts_pb2.AlertEvent]:
        out: list[alerts_pb2.AlertEvent] = []
        for _ in range(count):
            event = self.events.get(timeout=timeout)
            assert event is not None, f"stream ended after {len(out)} of {count} events"
            out.append(event)
        return out

    def ended(self, timeout: float = 15) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()


def syn_burst(lab: VethLab, count: int = 40) -> int:
    """Send ``count`` SYNs; returns how many the rate limiter dropped (one alert each)."""
    arrived, _ = count_arrivals(lab.host_if, DPORT, lambda: send_syns(lab, count, DPORT))
    assert arrived < count
    return count - int(arrived)


def assert_refused(channel: grpc.Channel) -> None:
    """No credentials, a malformed Bearer token (no fallback to the valid key), a wrong key."""
    stub: Any = alerts_pb2_grpc.AlertStreamServiceStub(channel)  # type: ignore[no-untyped-call]
    cases = [
        ((), "authentication required: provide Bearer token or x-api-key"),
        ((("authorization", f"Bearer {KEY}"), *VIEWER), "malformed Bearer token"),
        ((("x-api-key", "sk-wrong"),), None),
    ]
    for metadata, message in cases:
        call = stub.StreamAlerts(alerts_pb2.StreamAlertsRequest(), metadata=metadata, timeout=10)
        with pytest.raises(grpc.RpcError) as err:
            next(call)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        details = err.value.details()
        assert details == message if message else details and "sk-wrong" not in details


def test_grpc_stream_auth_health_reflection_and_shutdown(tmp_path: Path) -> None:
    with VethLab(prefix="grpc") as lab:
        port = free_port()
        text = agent_yaml(lab.host_if, port, BODY.format(peer=lab.peer_ip), data_dir=tmp_path / "data")
        match = re.search(r"grpc_port: (\d+)", text)
        assert match is not None
        grpc_port = int(match.group(1))
        config = tmp_path / "agent.yaml"
        config.write_text(text)
        config.chmod(0o600)
        peer_word = int(ipaddress.IPv4Address(lab.peer_ip))
        agent = AgentProcess(config, port, tmp_path / "agent.log", ready_timeout=60)  # loaded CI hosts
        try:
            with agent, grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
                health = health_pb2_grpc.HealthStub(channel)
                for service in ("", "ebpfsentinel.v1.AlertStreamService"):
                    reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
                    assert reply.status == health_pb2.HealthCheckResponse.SERVING
                assert "ebpfsentinel.v1.AlertStreamService" in _list_services(channel)
                assert_refused(channel)

                firewall = Stream(channel, VIEWER, component="firewall")
                ratelimit = Stream(channel, VIEWER, component="RateLimit", mitre_technique_id="t1498")

                r1 = ratelimit.take(syn_burst(lab))  # R1
                assert lab.ping_from_peer(lab.host_ip, count=2) == 0  # F1
                f1 = firewall.take(2)
                r2 = ratelimit.take(syn_burst(lab))  # R2
                assert lab.ping_from_peer(lab.host_ip, count=1) == 0  # F2
                f2 = firewall.take(1)

                assert [e.component for e in f1 + f2] == ["firewall"] * 3
                assert {e.component for e in r1 + r2} == {"ratelimit"}
                event = f1[0]
                assert (event.rule_id, event.severity, event.action, event.protocol) == (
                    "deny-ping",
                    "medium",
                    "block",
                    1,
                )
                assert list(event.src_addr) == [peer_word, 0, 0, 0] and event.is_ipv6 is False
                assert (event.mitre_technique_id, event.mitre_tactic) == ("T1046", "discovery")
                assert (event.confidence, event.direction, event.src_domain_score) == (-1, -1, -1)
                syn = r1[0]
                assert (syn.rule_id, syn.dst_port, syn.protocol, syn.mitre_technique_id) == (
                    "syn-cap",
                    DPORT,
                    6,
                    "T1498",
                )

                # The streams carried exactly what the agent recorded (the store writes in batches).
                def stored(component: str) -> list[str]:
                    path = f"/api/v1/alerts?component={component}&limit=1000"
                    alerts = agent.get(path, headers={"X-API-Key": KEY})[1]["alerts"]
                    return sorted(a["id"] for a in alerts)

                for events, component in ((f1 + f2, "firewall"), (r1 + r2, "ratelimit")):
                    count = len(events)
                    assert wait_until(lambda c=component, n=count: len(stored(c)) >= n)
                    assert sorted(e.id for e in events) == stored(component)

                # SIGTERM with both streams open: they end cleanly and the agent exits promptly.
                agent.signal(signal.SIGTERM)
                assert agent.proc.wait(timeout=10) == 0
                assert firewall.ended() and ratelimit.ended()
                assert firewall.call.code() == grpc.StatusCode.OK
                assert agent.events("grpc server stopped")
        finally:
            agent.stop()  # also when it never became ready


def _list_services(channel: grpc.Channel) -> set[str]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    replies = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10
    )
    return {service.name for service in next(replies).list_services_response.service}
