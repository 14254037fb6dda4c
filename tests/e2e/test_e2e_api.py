"""The agent's API surface end to end: auth roles, the live alert streams and threat-intel feeds.

    attacker netns (.2, .50 .. .53)               root netns                            sink netns
    pings from IOC / denied sources ==> [agent] XDP + tc_threatintel, auth on  <== feeds over HTTP
                                         REST (API keys), SSE, gRPC, webhook      python http.server
                                                                                   plain.txt, bundle.json

One agent (API keys for admin, operator and viewer). The same alerts must reach a gRPC
subscriber, an SSE subscriber and the webhook under the same ids; each role may do exactly what
docs/auth.md says; the feeds are fetched across the routed path from the sink namespace, their
IOCs alerted on in ``alert`` mode and dropped after a reload to ``block``, and a changed feed is
picked up by ``POST /api/v1/threatintel/feeds/refresh``.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import grpc
import httpx
import pytest
from _lab import Agent, Lab, agent_yaml, free_port, wait_until

from integration.fixtures.alerting.receivers import HttpReceiver
from sentinel_agent.grpc_api._generated import alerts_pb2, alerts_pb2_grpc

LAB_PREFIX = "eap"
KEYS = {
    "admin": "sk-e2e-admin-0123456789",
    "operator": "sk-e2e-oper-0123456789",
    "viewer": "sk-e2e-view-0123456789",
}
CONFIG = """auth:
  enabled: true
  api_keys:
    - {{name: ops, key: {admin}, role: admin}}
    - {{name: ci, key: {operator}, role: operator, namespaces: [team-a]}}
    - {{name: dash, key: {viewer}, role: viewer}}
firewall:
  mode: block
  rules:
    - {{id: deny-50, priority: 10, action: deny, protocol: icmp, src_ip: "{net}.50/32"}}
ids: {{enabled: false}}
l7:  # ids.capture_bytes stays at its default (512) here
  enabled: true
  ports: [7643]
  rules:
    - {{id: no-evil-sni, priority: 1, action: deny, protocol: tls, sni: "*.evil.example"}}
dns: {{enabled: false}}
dlp: {{enabled: false}}
threatintel:
  mode: {mode}
  allow_networks: ["{sink_net}.0/24"]
  feeds:
    - {{id: plain, name: plain list, url: "http://{sink}:{feed_port}/plain.txt", format: plaintext}}
    - {{id: stix, name: STIX bundle, url: "http://{sink}:{feed_port}/bundle.json", format: stix}}
alerting:
  dedup_window_secs: 0
  throttle_window_secs: 0
  webhook: {{timeout_secs: 2, allow_networks: [127.0.0.0/8]}}
  routes:
    - {{name: hook, destination: webhook, min_severity: low, webhook_url: "http://127.0.0.1:{hook}/a"}}
"""


# http.server's own HTTPServer resolves its address (getfqdn) at bind: slow without DNS in a netns.
FEED_SERVER = r"""
import functools, http.server, socketserver, sys
class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[3])
with Server((sys.argv[1], int(sys.argv[2])), handler) as server:
    server.serve_forever()
"""


def stix(*addresses: str) -> str:
    objects = [
        {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--00000000-0000-4000-8000-00000000000{i}",
            "pattern": f"[ipv4-addr:value = '{a}']",
            "pattern_type": "stix",
            "valid_from": "2024-01-01T00:00:00Z",
            "indicator_types": ["command-and-control"],
            "confidence": 90,
        }
        for i, a in enumerate(addresses)
    ]
    return json.dumps({"type": "bundle", "id": "bundle--1", "objects": objects})


@dataclass
class Streams:
    """A gRPC and an SSE subscriber collecting alert ids in threads."""

    grpc_ids: list[str] = field(default_factory=list)
    sse_ids: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


@dataclass
class Rig:
    lab: Lab
    agent: Agent
    hook: HttpReceiver
    config: Path
    values: dict[str, Any]
    feeds: Path
    net: str

    def call(self, method: str, path: str, role: str | None = None, body: Any = None, key: str | None = None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.agent.port}{path}", data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if role is not None or key is not None:
            req.add_header("X-API-Key", key or KEYS[role])  # type: ignore[index]
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            raw = err.read()
            return err.code, json.loads(raw) if raw else None

    def ping(self, host: int) -> int:
        cmd = [
            "ping",
            "-n",
            "-q",
            "-c",
            "1",
            "-W",
            "1",
            "-I",
            f"{self.net}.{host}",
            self.lab.attacker.host_ip,
        ]
        out = self.lab.attacker.ns(*cmd, check=False, timeout=10).stdout
        return next(
            (int(line.split(",")[1].split()[0]) for line in out.splitlines() if "received" in line), 0
        )

    def alerts(self, **query: str) -> list[dict[str, Any]]:
        params = "&".join(f"{k}={v}" for k, v in {"limit": "1000", **query}.items())
        status, body = self.call("GET", f"/api/v1/alerts?{params}", "viewer")
        assert status == 200
        return list(body["alerts"])

    def write_feed(self, name: str, text: str) -> None:
        path = self.feeds / name
        path.write_text(text)
        later = time.time() + 5  # http.server answers 304 to an If-Modified-Since in the same second
        os.utime(path, (later, later))


@pytest.fixture(scope="module")
def rig(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    tmp = tmp_path_factory.mktemp("e2e-api")
    net = lab.attacker.peer_ip.rsplit(".", 1)[0]
    for host in (50, 51, 52, 53):
        lab.attacker.ns("ip", "addr", "add", f"{net}.{host}/24", "dev", lab.attacker.peer_if)
    feeds = tmp / "feeds"
    feeds.mkdir()
    feed_port = 8000 + free_port() % 1000
    server = subprocess.Popen(
        [
            *("ip", "netns", "exec", lab.sink.netns, sys.executable, "-m", "http.server", str(feed_port)),
            "--bind",
            lab.sink.peer_ip,
            "--directory",
            str(feeds),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with HttpReceiver() as hook:
            port = free_port()
            config = tmp / "agent.yaml"
            values = dict(
                KEYS,
                net=net,
                mode="alert",
                sink=lab.sink.peer_ip,
                sink_net=lab.sink.peer_ip.rsplit(".", 1)[0],
                feed_port=feed_port,
                hook=hook.port,
            )
            head = agent_yaml(lab.attacker.host_if, port, data_dir=tmp / "data")
            values["head"] = head
            (feeds / "plain.txt").write_text(f"# e2e\n{net}.51\n")
            (feeds / "bundle.json").write_text(stix(f"{net}.52"))
            assert wait_until(lambda: feed_served(lab, feed_port), timeout=30)
            config.write_text(head + CONFIG.format(**values))
            config.chmod(0o600)
            with Agent(config, port, tmp / "agent.log") as agent:
                yield Rig(lab, agent, hook, config, values, feeds, net)
    finally:
        server.terminate()
        server.wait(timeout=10)


def feed_served(lab: Lab, port: int) -> bool:
    url = f"http://{lab.sink.peer_ip}:{port}/plain.txt"
    return (
        subprocess.run(
            ["curl", "-sf", "-m", "1", url], check=False, capture_output=True, timeout=10
        ).returncode
        == 0
    )


def test_roles_on_the_live_agent(rig: Rig) -> None:
    assert rig.call("GET", "/api/v1/firewall/rules")[0] == 401
    status, body = rig.call("GET", "/api/v1/firewall/rules", key="sk-not-a-key")
    assert (status, body["error"]["code"]) == (401, "AUTHENTICATION_REQUIRED")
    assert rig.call("GET", "/readyz")[0] == 200  # health stays public
    assert rig.call("GET", "/api/v1/firewall/rules", "viewer")[0] == 200
    rule = {"id": "deny-53", "priority": 20, "action": "deny", "protocol": "icmp", "src_ip": f"{rig.net}.53"}
    assert (
        rig.call("POST", "/api/v1/firewall/rules", "viewer", rule)[1]["error"]["code"] == "INSUFFICIENT_ROLE"
    )
    assert (
        rig.call("POST", "/api/v1/firewall/rules", "operator", rule)[1]["error"]["code"]
        == "INSUFFICIENT_ROLE"
    )
    scoped = {**rule, "id": "deny-53-b", "scope": "namespace:team-b"}
    assert rig.call("POST", "/api/v1/firewall/rules", "operator", scoped)[1]["error"]["code"] == (
        "NAMESPACE_FORBIDDEN"
    )
    assert rig.ping(53) == 1
    assert rig.call("POST", "/api/v1/firewall/rules", "admin", rule)[0] == 201
    assert rig.ping(53) == 0  # the admin's rule is enforced
    assert rig.call("DELETE", "/api/v1/firewall/rules/deny-53", "operator")[0] == 403
    assert rig.call("DELETE", "/api/v1/firewall/rules/deny-53", "admin")[0] == 204
    assert rig.ping(53) == 1


def test_grpc_sse_and_webhook_receive_the_same_alert_ids(rig: Rig) -> None:
    streams = Streams()
    channel = grpc.insecure_channel(f"127.0.0.1:{rig.values['head'].split('grpc_port: ')[1].split()[0]}")
    stub = alerts_pb2_grpc.AlertStreamServiceStub(channel)
    call = stub.StreamAlerts(
        alerts_pb2.StreamAlertsRequest(component="firewall"), metadata=[("x-api-key", KEYS["viewer"])]
    )
    call.initial_metadata()  # subscribed from here on

    def read_grpc() -> None:
        try:
            for event in call:
                streams.grpc_ids.append(event.id)
        except grpc.RpcError:
            pass

    sse_ready = threading.Event()

    def read_sse() -> None:
        headers = {"X-API-Key": KEYS["viewer"], "Accept": "text/event-stream"}
        url = f"http://127.0.0.1:{rig.agent.port}/api/v1/alerts/stream?component=firewall"
        # No read timeout: an httpx timeout would end the line iterator. The stream ends when the
        # agent stops (or at the next keepalive once ``stop`` is set); the thread is a daemon.
        with (
            httpx.Client(timeout=httpx.Timeout(5, read=None)) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            assert response.status_code == 200
            sse_ready.set()
            for line in response.iter_lines():
                if streams.stop.is_set():
                    break
                if line.startswith("id: "):
                    streams.sse_ids.append(line[4:])

    threads = [
        threading.Thread(target=read_grpc, daemon=True),
        threading.Thread(target=read_sse, daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        assert sse_ready.wait(10)
        before = {a["id"] for a in rig.alerts(component="firewall")}
        assert rig.ping(50) == 0 and rig.ping(50) == 0 and rig.ping(50) == 0  # three denied pings

        def new_ids() -> set[str]:
            return {a["id"] for a in rig.alerts(component="firewall")} - before

        assert wait_until(lambda: len(new_ids()) >= 3, timeout=10)
        ids = new_ids()
        hooked = lambda: {unquote(r.headers["x-ebpfsentinel-alert-id"]) for r in rig.hook.delivered()}  # noqa: E731
        assert wait_until(
            lambda: ids <= set(streams.grpc_ids) and ids <= set(streams.sse_ids) and ids <= hooked(),
            timeout=15,
        ), (ids - set(streams.grpc_ids), ids - set(streams.sse_ids), ids - hooked())
        assert set(streams.grpc_ids) - before == set(streams.sse_ids) - before
    finally:
        streams.stop.set()
        call.cancel()
        channel.close()
        threads[0].join(timeout=5)  # gRPC ends with the cancel; SSE with the agent (daemon thread)


TLS_HELLO = r"""
import socket, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
try:
    ctx.wrap_socket(s, server_hostname=sys.argv[3])
except OSError:
    pass
"""


def test_tls_sni_rule_fires_with_the_default_capture_size(rig: Rig) -> None:
    listener = socket.create_server((rig.lab.attacker.host_ip, 7643))
    try:
        rig.lab.attacker_py(TLS_HELLO, rig.lab.attacker.host_ip, "7643", "c2.evil.example")
        assert wait_until(lambda: any(a["rule_id"] == "no-evil-sni" for a in rig.alerts(component="l7")), 5)
    finally:
        listener.close()


def test_threat_intel_feeds_from_the_sink_alert_then_block_and_refresh(rig: Rig) -> None:
    def iocs() -> set[str]:
        status, body = rig.call("GET", "/api/v1/threatintel/iocs", "viewer")
        assert status == 200
        return {str(i["ip"]).split("/")[0] for i in body}

    assert wait_until(lambda: {f"{rig.net}.51", f"{rig.net}.52"} <= iocs(), timeout=20), iocs()

    def ti_alerts(host: int) -> int:
        return sum(
            a["component"] == "threatintel"
            for a in rig.alerts(component="threatintel")
            if a["src_addr"][0]
            == int.from_bytes(bytes(int(x) for x in f"{rig.net}.{host}".split(".")), "big")
        )

    # alert mode: IOC traffic passes and is reported, for the plain feed and for the STIX one
    assert rig.ping(51) == 1 and rig.ping(52) == 1
    assert wait_until(lambda: ti_alerts(51) >= 1 and ti_alerts(52) >= 1, timeout=10)

    # a changed feed is picked up by a refresh (operator may refresh, viewer may not)
    rig.write_feed("plain.txt", f"# e2e\n{rig.net}.51\n{rig.net}.53\n")
    assert rig.call("POST", "/api/v1/threatintel/feeds/refresh", "viewer")[0] == 403
    status, body = rig.call("POST", "/api/v1/threatintel/feeds/refresh", "operator")
    assert status == 200, body
    assert wait_until(lambda: f"{rig.net}.53" in iocs(), timeout=15), iocs()
    assert rig.ping(53) == 1
    assert wait_until(lambda: ti_alerts(53) >= 1, timeout=10)

    # block mode (a reload): the same IOC traffic is dropped in the kernel
    reloads = len(rig.agent.events("configuration reloaded"))
    rig.values["mode"] = "block"
    rig.config.write_text(rig.values["head"] + CONFIG.format(**rig.values))
    rig.agent.signal(signal.SIGHUP)
    assert wait_until(lambda: len(rig.agent.events("configuration reloaded")) > reloads, timeout=15)
    assert wait_until(lambda: rig.ping(51) == 0, timeout=10)
    assert rig.ping(52) == 0 and rig.ping(53) == 0
    assert rig.ping(2) == 1  # a clean source still passes
