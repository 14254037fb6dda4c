"""What every Blocklist must do, checked only through the port."""

import ipaddress
from collections.abc import Iterator

import pytest

from sentinel_ports.blocklist import Blocklist

A = ipaddress.ip_address
N = ipaddress.ip_network


class BlocklistContract:
    @staticmethod
    def make_blocklist() -> Blocklist:
        raise NotImplementedError

    @pytest.fixture
    def bl(self) -> Iterator[Blocklist]:
        subject = self.make_blocklist()
        yield subject
        getattr(subject, "close", lambda: None)()

    def test_hosts_and_subnets_v4_and_v6(self, bl: Blocklist) -> None:
        bl.block(N("198.18.7.7/32"))
        bl.block(N("2001:db8:66::/48"))
        assert bl.drops_packet_from(A("198.18.7.7"))
        assert not bl.drops_packet_from(A("198.18.7.8"))
        assert bl.drops_packet_from(A("2001:db8:66::1"))
        assert not bl.drops_packet_from(A("2001:db8:67::1"))
        assert bl.networks() == {N("198.18.7.7/32"), N("2001:db8:66::/48")}

    def test_block_many_blocks_each_network_of_both_families(self, bl: Blocklist) -> None:
        v4 = [N(f"198.19.{i // 256}.{i % 256}/32") for i in range(2000)]
        v6 = [N("2001:db8:77::/64"), N("2001:db8:78::1/128")]
        bl.block_many([*v4, *v6])
        assert bl.networks() == {*v4, *v6}
        assert bl.drops_packet_from(A("198.19.7.207")) and bl.drops_packet_from(A("2001:db8:77::5"))
        assert not bl.drops_packet_from(A("198.19.8.208"))  # 2,000 addresses end at 198.19.7.207
        assert bl.unblock(N("198.19.0.1/32")) and not bl.drops_packet_from(A("198.19.0.1"))

    def test_unblock_restores_and_reports_absence(self, bl: Blocklist) -> None:
        bl.block(N("198.18.0.0/24"))
        bl.block(N("198.18.0.0/24"))  # idempotent
        assert bl.unblock(N("198.18.0.0/24"))
        assert not bl.unblock(N("198.18.0.0/24"))
        assert not bl.drops_packet_from(A("198.18.0.9"))
        assert bl.networks() == set()

    def test_drops_are_counted(self, bl: Blocklist) -> None:
        bl.block(N("198.18.9.0/24"))
        before = bl.drops()
        for _ in range(3):
            bl.drops_packet_from(A("198.18.9.1"))
        bl.drops_packet_from(A("198.18.10.1"))
        assert bl.drops() - before == 3
