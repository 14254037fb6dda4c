"""tc_ids on a veth lab: a real TCP conversation is captured and the IDS engine alerts on it.

root netns                                              lab netns
server on host_ip:PORT                                  client: connect, send REQUEST,
host_if: XDP xdp_firewall (native, passes all)          read the reply
         TC ingress tc_ids_ingress   <==== veth ====>   peer_if
         TC egress  tc_ids_egress
"""

import socket
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from sentinel_adapters.ebpf import codec_payload as cp
from sentinel_adapters.ebpf.attach import XdpMode, attach_tc, attach_xdp, detach_tc, detach_xdp
from sentinel_adapters.ebpf.firewall_map import BpfFirewallMap
from sentinel_adapters.ebpf.ids_map import BpfIdsPrefilter
from sentinel_adapters.ebpf.ids_source import BpfIdsEventSource
from sentinel_agent.lab import VethLab
from sentinel_domain.ids import IdsEngine, IdsRule, ThresholdState
from sentinel_testkit.fakes import ReferenceMatcher

REQUEST = b"POST /upload HTTP/1.1\r\nHost: lab\r\n\r\nexfil token=SECRET-4242 end"
REPLY = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
CLIENT = r"""
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.sendall(sys.argv[3].encode())
print(s.recv(4096).decode())
s.close()
"""


@pytest.fixture
def lab() -> Iterator[VethLab]:
    with VethLab(prefix="ids") as lab:
        yield lab


class OneShotServer:
    """Accepts one connection on ``host``, reads the request, answers REPLY."""

    def __init__(self, host: str) -> None:
        self.sock = socket.create_server((host, 0))
        self.sock.settimeout(10)
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.settimeout(10)
            while not self.received.endswith(b" end"):
                chunk = conn.recv(4096)
                if not chunk:
                    break
                self.received += chunk
            conn.sendall(REPLY)

    def close(self) -> None:
        self.thread.join(10)
        self.sock.close()


def collect(source: BpfIdsEventSource, port: int, want_egress: bool) -> list[cp.IdsRecord]:
    """Records of the conversation on ``port`` until both sides' payloads arrived (5 s at most)."""
    records: list[cp.IdsRecord] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        records += [r for r in source.read_records(0.2) if port in (r.src_port, r.dst_port)]
        directions = {r.direction for r in records if r.payload}
        if cp.IDS_INGRESS in directions and (cp.IDS_EGRESS in directions or not want_egress):
            break
    return records


@pytest.mark.parametrize("with_xdp", [True, False], ids=["behind-xdp_firewall", "alone"])
def test_a_tcp_payload_reaches_the_ids_engine_and_raises_an_alert(lab: VethLab, with_xdp: bool) -> None:
    index = socket.if_nametoindex(lab.host_if)
    fw = BpfFirewallMap.standalone({lab.host_if: index})
    ids = BpfIdsPrefilter.standalone()
    server = OneShotServer(lab.host_ip)
    source = BpfIdsEventSource(ids.bpf_object)
    try:
        engine = IdsEngine(
            ReferenceMatcher(),
            rules=[
                IdsRule.from_dict(
                    {"id": "exfil-token", "severity": "high", "protocol": "tcp",
                     "dst_port": server.port, "pattern": "SECRET-[0-9]{4}"}
                )
            ],
        )  # fmt: skip
        ids.install(engine.prefilter_keys())
        if with_xdp:
            assert attach_xdp(fw.prog_fd, lab.host_if, XdpMode.NATIVE).mode is XdpMode.NATIVE
        attach_tc(ids.prog_fd(), lab.host_if)
        attach_tc(ids.prog_fd(egress=True), lab.host_if, egress=True)

        reply = lab.ns(sys.executable, "-c", CLIENT, lab.host_ip, str(server.port), REQUEST.decode())
        assert reply.stdout.strip().endswith("ok")
        server.close()
        records = collect(source, server.port, want_egress=True)

        inbound = [r for r in records if r.direction == cp.IDS_INGRESS and r.payload]
        outbound = [r for r in records if r.direction == cp.IDS_EGRESS and r.payload]
        assert b"".join(r.payload for r in inbound) == REQUEST
        assert b"".join(r.payload for r in outbound) == REPLY
        first = inbound[0]
        assert (first.dst_port, first.ifindex, first.flags & cp.IDS_F_MATCH_DST) == (
            server.port, index, cp.IDS_F_MATCH_DST
        )  # fmt: skip
        assert all(bool(r.flags & cp.IDS_F_XDP_META) == with_xdp for r in inbound)
        assert not any(r.flags & cp.IDS_F_XDP_META for r in outbound)  # XDP never sees egress
        assert (ids.counters()["meta_used"] > 0) == with_xdp

        event = source.to_event(first)
        assert (str(event.header.src), event.header.interface) == (lab.peer_ip, lab.host_if)
        assert event.established is True
        alerts = engine.evaluate(event, ThresholdState(), now_ns=time.monotonic_ns())
        assert [a.rule_id for a in alerts] == ["exfil-token"]
        assert str(server.port) in alerts[0].message
    finally:
        detach_tc(lab.host_if)
        detach_tc(lab.host_if, egress=True)
        detach_xdp(index)
        server.close()
        source.close()
        ids.close()
        fw.close()
