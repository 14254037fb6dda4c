"""resolved_addresses: what both guarded connectors (feeds, webhook) check before connecting."""

import ipaddress
import socket

from sentinel_infrastructure.net.ssrf import resolved_addresses


def test_distinct_addresses_in_order_without_zone_ids() -> None:
    infos = [
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fe80::1%eth0", 443, 0, 2)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.7", 443)),
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fe80::1%eth1", 443, 0, 3)),  # same address
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.7", 443)),
    ]
    assert resolved_addresses(infos) == [ipaddress.ip_address("fe80::1"), ipaddress.ip_address("192.0.2.7")]


def test_real_resolver_output_for_loopback() -> None:
    infos = socket.getaddrinfo("127.0.0.1", 80, type=socket.SOCK_STREAM)
    assert resolved_addresses(infos) == [ipaddress.ip_address("127.0.0.1")]
