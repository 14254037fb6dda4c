"""tc_threatintel and tc_dns on a veth lab with real packets (adapters only, no agent).

root netns                                            lab netns
[xdp_firewall XDP] -> TC ingress: tc_threatintel (prio 1), tc_dns_ingress (prio 3)
                      TC egress:  tc_dns_egress                 host_if <== veth ==> peer_if
DNS client sockets bound to host_ip                              DNS responder on :53 (UDP+TCP)

With xdp_firewall in front, the TC programs find the packet through its metadata (their
``with_meta`` counters prove the path); without it they parse the frame themselves.
"""

import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from sentinel_adapters.ebpf import codec
from sentinel_adapters.ebpf.attach import attach_tc, attach_xdp, detach_tc, detach_xdp
from sentinel_adapters.ebpf.dns_source import PROGRAM, BpfDnsSource, attach_tc_dns, detach_tc_dns
from sentinel_adapters.ebpf.firewall_map import BpfFirewallMap
from sentinel_adapters.ebpf.loader import BpfObject
from sentinel_adapters.ebpf.ringbuf import RingBufferReader
from sentinel_adapters.ebpf.threatintel_map import BpfIocMap
from sentinel_agent.lab import VethLab
from sentinel_domain.common import address_to_words, parse_address
from sentinel_domain.dns import parse_message
from sentinel_domain.threatintel import Ioc, IocAction, IocKind, ThreatType
from sentinel_ports.dns_source import DnsCapture, DnsDirection, DnsTransport

RESPONDER = r"""
import select, socket, struct, sys, time
deadline, wanted = time.monotonic() + float(sys.argv[1]), int(sys.argv[2])
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("0.0.0.0", 53))
tcp = socket.socket()
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("0.0.0.0", 53))
tcp.listen(4)

def answer(query):
    end = 12
    while query[end]:
        end += query[end] + 1
    question = query[12 : end + 5]
    count = 40 if query[13:16] == b"big" else 2
    rr = b"".join(struct.pack("!HHHIH4B", 0xC00C, 1, 1, 60, 4, 198, 18, 200, i) for i in range(count))
    return struct.pack("!HHHHHH", struct.unpack_from("!H", query)[0], 0x8180, 1, count, 0, 0) + question + rr

def read_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data

print("ready", flush=True)
served = 0
while served < wanted and time.monotonic() < deadline:
    ready, _, _ = select.select([udp, tcp], [], [], 0.2)
    for sock in ready:
        if sock is udp:
            query, peer = udp.recvfrom(4096)
            udp.sendto(answer(query), peer)
        else:
            conn, _ = tcp.accept()
            conn.settimeout(3)
            query = read_exactly(conn, struct.unpack("!H", read_exactly(conn, 2))[0])
            reply = answer(query)
            conn.sendall(struct.pack("!H", len(reply)) + reply)
            conn.close()
        served += 1
"""


def dns_query(name: str, ident: int) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + labels + struct.pack("!HH", 1, 1)


def udp_exchange(source: str, server: str, query: bytes) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        s.settimeout(3)
        s.sendto(query, (server, 53))
        return s.recv(4096)


def tcp_exchange(source: str, server: str, query: bytes) -> bytes:
    with socket.create_connection((server, 53), timeout=3, source_address=(source, 0)) as s:
        s.sendall(struct.pack("!H", len(query)) + query)
        data = b""
        while len(data) < 2 or len(data) < 2 + struct.unpack_from("!H", data)[0]:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data[2:]


@pytest.fixture
def lab() -> Iterator[VethLab]:
    with VethLab(prefix="tid") as lab:
        yield lab


@pytest.fixture(params=[False, True], ids=["tc-parses", "xdp-metadata"])
def firewall(request: pytest.FixtureRequest, lab: VethLab) -> Iterator[BpfFirewallMap | None]:
    """xdp_firewall (no rules: everything passes, with metadata) in front of TC, or nothing."""
    if not request.param:
        yield None
        return
    fw = BpfFirewallMap.standalone()
    try:
        attach_xdp(fw.prog_fd, lab.host_if)
        yield fw
    finally:
        detach_xdp(socket.if_nametoindex(lab.host_if))
        fw.close()


def read_events(ring: RingBufferReader) -> list[codec.PacketEvent]:
    return codec.decode_packet_events(ring.read_batch(), codec.DecodeStats())


def test_ioc_source_dropped_in_block_mode_reported_in_alert_mode(
    lab: VethLab, firewall: BpfFirewallMap | None
) -> None:
    ti = BpfIocMap.standalone()
    ring = RingBufferReader(ti.ring.fd, ti.ring.max_entries)
    peer = parse_address(lab.peer_ip)

    def ioc(value: str, action: IocAction) -> Ioc:
        return Ioc(IocKind.IP, value, "lab-feed", 90, ThreatType.C2, None, action)

    try:
        attach_tc(ti.prog_fd, lab.host_if)
        assert lab.ping_from_peer(lab.host_ip, count=2) == 2  # no IOCs yet
        ti.load([ioc(lab.peer_ip, IocAction.BLOCK)], time.time())
        read_events(ring)
        assert lab.ping_from_peer(lab.host_ip, count=3) == 0
        dropped = [e for e in read_events(ring) if e.src_addr == address_to_words(peer)]
        assert len(dropped) >= 3 and all(e.action == codec.ACTION_DROP for e in dropped)
        assert {ti.feeds[e.rule_id] for e in dropped} == {"lab-feed"}

        ti.load([ioc(lab.peer_ip, IocAction.ALERT), ioc(lab.peer_ip6, IocAction.ALERT)], time.time())
        assert lab.ping_from_peer(lab.host_ip, count=2) == 2
        assert lab.ping_from_peer(lab.host_ip6, count=2) == 2
        alerts = read_events(ring)
        assert {(e.is_ipv6, e.action) for e in alerts} == {
            (False, codec.ACTION_LOG),
            (True, codec.ACTION_LOG),
        }
        assert sum(1 for e in alerts if e.src_addr == address_to_words(peer)) >= 2

        counters = ti.counters()
        assert counters["dropped"] >= 3 and counters["matched"] >= counters["dropped"] + 4
        # the metadata path is taken exactly when xdp_firewall is in front
        assert (counters["with_meta"] > 0) == (firewall is not None)
    finally:
        detach_tc(lab.host_if)
        ring.close()
        ti.close()


def collect(source: BpfDnsSource, count: int, timeout: float = 5.0) -> list[DnsCapture]:
    captures: list[DnsCapture] = []
    deadline = time.monotonic() + timeout
    while len(captures) < count and time.monotonic() < deadline:
        captures += source.read(0.2)
    return captures


def test_dns_queries_and_responses_are_captured_whole(lab: VethLab, firewall: BpfFirewallMap | None) -> None:
    dns = BpfObject.load_bundled(PROGRAM)
    source = BpfDnsSource(dns)
    ti = BpfIocMap.standalone()  # in front of tc_dns in alert mode: it must pass packets on
    responder = subprocess.Popen(
        ["ip", "netns", "exec", lab.netns, sys.executable, "-c", RESPONDER, "20", "3"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert responder.stdout is not None and responder.stdout.readline().strip() == "ready"
        ti.load([Ioc(IocKind.IP, lab.peer_ip, "lab-feed", 90, ThreatType.C2)], time.time())
        attach_tc(ti.prog_fd, lab.host_if, priority=1)
        attach_tc_dns(dns, lab.host_if)  # after tc_threatintel on ingress

        queries = [dns_query("www.lab.test", 1), dns_query("tcp.lab.test", 2), dns_query("big.lab.test", 3)]
        answers = [
            udp_exchange(lab.host_ip, lab.peer_ip, queries[0]),
            tcp_exchange(lab.host_ip, lab.peer_ip, queries[1]),
            tcp_exchange(lab.host_ip, lab.peer_ip, queries[2]),
        ]
        assert len(parse_message(answers[2]).answers) == 20  # 40 sent; the parser keeps 20
        captures = collect(source, 6)
    finally:
        detach_tc_dns(lab.host_if)
        detach_tc(lab.host_if)
        responder.kill()
        responder.wait(timeout=10)
        counters = source.counters()
        source.close()
        dns.close()
        ti_counters = ti.counters()
        ti.close()

    by_message = {(c.direction, c.transport, c.message): c for c in captures}
    expected = [
        (DnsDirection.QUERY, DnsTransport.UDP, queries[0], True),
        (DnsDirection.RESPONSE, DnsTransport.UDP, answers[0], False),
        (DnsDirection.QUERY, DnsTransport.TCP, queries[1], True),
        (DnsDirection.RESPONSE, DnsTransport.TCP, answers[1], False),
        (DnsDirection.QUERY, DnsTransport.TCP, queries[2], True),
        (DnsDirection.RESPONSE, DnsTransport.TCP, answers[2], False),
    ]
    for direction, transport, message, egress in expected:
        capture = by_message.get((direction, transport, message))
        assert capture is not None, f"no {direction.value} over {transport.value} of {len(message)} bytes"
        assert (capture.egress, capture.message_length, capture.truncated) == (egress, len(message), False)
        client, server = parse_address(lab.host_ip), parse_address(lab.peer_ip)
        assert (capture.src, capture.dst) == ((client, server) if egress else (server, client))
    big = by_message[(DnsDirection.RESPONSE, DnsTransport.TCP, answers[2])]
    assert len(big.message) > 512  # the large tier carried the whole 40-answer response
    assert [q.name for q in parse_message(big.message).questions] == ["big.lab.test"]
    assert counters["events_dropped"] == 0 and counters["events_emitted"] >= 6
    # tc_threatintel saw (and passed on) every response, the paged 670-byte segment included
    assert ti_counters["matched"] >= 3 and ti_counters["errors"] == 0
    assert (counters["with_meta"] > 0) == (firewall is not None)
