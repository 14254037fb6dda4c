"""DnsService: blocklisted domains alert and block their addresses; reputation auto-blocks a
DGA-like domain seen with NXDOMAIN bursts, never a popular one; TTLs expire the blocks."""

import ipaddress
import struct

from sentinel_application.dns_service import DnsService
from sentinel_domain.dns import BlocklistPolicy, parse_blocklist_action, parse_config_patterns
from sentinel_domain.reputation import ReputationConfig, ReputationEngine
from sentinel_ports.dns_source import DnsCapture, DnsDirection, DnsTransport
from sentinel_testkit.fakes.alert_sink import InMemoryAlertSink
from sentinel_testkit.fakes.blocklist import InMemoryBlocklist

A = ipaddress.ip_address
N = ipaddress.ip_network


def name(text: str) -> bytes:
    return b"".join(bytes([len(p)]) + p.encode() for p in text.split(".")) + b"\0"


def message(domain: str, response: bool, rcode: int = 0, answer: str | None = None, ttl: int = 300) -> bytes:
    flags = (0x8180 | rcode) if response else 0x0100
    body = name(domain) + struct.pack("!HH", 1, 1)
    answers = 0
    if answer is not None:
        body += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, ttl, 4) + A(answer).packed
        answers = 1
    return struct.pack("!HHHHHH", 7, flags, 1, answers, 0, 0) + body


def capture(data: bytes, response: bool) -> DnsCapture:
    return DnsCapture(
        timestamp_ns=1,
        direction=DnsDirection.RESPONSE if response else DnsDirection.QUERY,
        transport=DnsTransport.UDP,
        src=A("198.18.0.53"),
        dst=A("198.18.0.2"),
        src_port=53,
        dst_port=4000,
        message=data,
        message_length=len(data),
    )


class Clock:
    now = 10_000.0

    def __call__(self) -> float:
        return self.now


def test_blocklisted_domain_alerts_blocks_and_expires() -> None:
    blocklist, sink, clock = InMemoryBlocklist(), InMemoryAlertSink(), Clock()
    svc = DnsService(
        parse_config_patterns(["*.evil.example"]),
        BlocklistPolicy(parse_blocklist_action("block"), 60),
        blocklist,
        sink,
        clock,
    )
    svc.handle(
        [
            capture(message("ads.evil.example", True, answer="192.0.2.66", ttl=30), True),
            capture(message("www.fine.example", True, answer="192.0.2.7"), True),
        ]
    )
    assert [a.rule_id for a in sink.alerts] == ["dns-blocklist:*.evil.example"]
    assert blocklist.networks() == {N("192.0.2.66/32")}
    assert svc.cache.lookup("www.fine.example", clock.now) == (A("192.0.2.7"),)
    clock.now += 91  # TTL 30 + grace 60
    svc.sweep()
    assert blocklist.networks() == set()


def test_reputation_blocks_a_dga_burst_but_not_a_popular_domain() -> None:
    blocklist, sink, clock = InMemoryBlocklist(), InMemoryAlertSink(), Clock()
    engine = ReputationEngine(ReputationConfig(auto_block_enabled=True))
    svc = DnsService([], BlocklistPolicy(), blocklist, sink, clock, reputation=engine)
    dga = "xk7qz9vbnw3rtp.com"
    for _ in range(30):  # a burst of queries, mostly NXDOMAIN, one resolution
        clock.now += 1
        svc.handle([capture(message(dga, False), False)])
        svc.handle([capture(message(dga, True, rcode=3), True)])
    svc.handle([capture(message(dga, True, answer="203.0.113.9", ttl=300), True)])
    for _ in range(200):  # popular, well-behaved
        clock.now += 1
        svc.handle([capture(message("www.example.com", False), False)])
        svc.handle([capture(message("www.example.com", True, answer="192.0.2.80", ttl=300), True)])
    alerts = [a for a in sink.alerts if a.rule_id.startswith("dns-reputation:")]
    assert [a.matched_domain for a in alerts] == [dga]
    assert N("203.0.113.9/32") in blocklist.networks()  # the DGA domain's resolved address
    assert N("192.0.2.80/32") not in blocklist.networks()
    assert engine.effective_score(dga, clock.now) >= 0.8
