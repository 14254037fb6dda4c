"""What every IdsPrefilter must do, checked only through the port.

Subclass once per implementation with a one-line ``make_ids_prefilter``.
"""

import ipaddress
from collections.abc import Iterator

import pytest

from sentinel_domain.common import PacketHeader, Protocol
from sentinel_domain.ids import ANY_PORT, PrefilterKey
from sentinel_ports.ids_prefilter import CapturedPayload, IdsPrefilter, PrefilterOverride

A = ipaddress.ip_address
CLIENT, SERVER = "198.18.7.2", "198.18.7.1"
CLIENT6, SERVER6 = "2001:db8:7::2", "2001:db8:7::1"
TCP, UDP, ICMP, ICMPV6 = Protocol.TCP, Protocol.UDP, Protocol.ICMP, Protocol.ICMPV6


def pkt(sport: int, dport: int, proto: Protocol = TCP, src: str = CLIENT, dst: str = SERVER) -> PacketHeader:
    return PacketHeader(A(src), A(dst), proto, sport, dport)


def ping(src: str = CLIENT, dst: str = SERVER, proto: Protocol = ICMP) -> PacketHeader:
    return PacketHeader(A(src), A(dst), proto, icmp_type=8 if proto == ICMP else 128)


def reply(p: PacketHeader) -> PacketHeader:
    return PacketHeader(p.dst, p.src, p.protocol, p.dst_port, p.src_port)


class IdsPrefilterContract:
    @staticmethod
    def make_ids_prefilter() -> IdsPrefilter:
        raise NotImplementedError

    @pytest.fixture
    def ids(self) -> Iterator[IdsPrefilter]:
        subject = self.make_ids_prefilter()
        yield subject
        getattr(subject, "close", lambda: None)()

    def test_nothing_is_inspected_without_keys(self, ids: IdsPrefilter) -> None:
        assert ids.keys() == frozenset()
        assert ids.inspect(pkt(40000, 80), b"GET /") is None
        assert ids.inspect(ping(), b"x") is None

    def test_a_port_key_inspects_both_directions_of_its_flows_only(self, ids: IdsPrefilter) -> None:
        ids.install([PrefilterKey(TCP, 80)])
        request = pkt(40000, 80)
        assert ids.inspect(request, b"GET / HTTP/1.1") == CapturedPayload(b"GET / HTTP/1.1", 14)
        assert ids.inspect(reply(request), b"HTTP/1.1 200") == CapturedPayload(b"HTTP/1.1 200", 12)
        assert ids.inspect(pkt(40000, 81), b"GET /") is None
        assert ids.inspect(pkt(40000, 80, UDP), b"GET /") is None  # same port, other protocol

    def test_a_protocol_wide_key_inspects_every_port_of_that_protocol(self, ids: IdsPrefilter) -> None:
        ids.install([PrefilterKey(UDP, ANY_PORT)])
        for sport, dport in ((5353, 5353), (1, 65535), (40000, 53)):
            assert ids.inspect(pkt(sport, dport, UDP), b"q") == CapturedPayload(b"q", 1)
        assert ids.inspect(pkt(40000, 53, TCP), b"q") is None

    def test_icmp_keys_inspect_pings_after_their_header(self, ids: IdsPrefilter) -> None:
        ids.install([PrefilterKey(ICMP, 0), PrefilterKey(ICMPV6, 0)])
        assert ids.inspect(ping(), b"ping-data") == CapturedPayload(b"ping-data", 9)
        assert ids.inspect(ping(CLIENT6, SERVER6, ICMPV6), b"v6") == CapturedPayload(b"v6", 2)
        assert ids.inspect(pkt(1, 2, UDP), b"x") is None

    def test_any_protocol_key_covers_tcp_and_udp(self, ids: IdsPrefilter) -> None:
        ids.install([PrefilterKey(Protocol.ANY, 53)])
        assert ids.inspect(pkt(40000, 53, UDP), b"a") is not None
        assert ids.inspect(pkt(40000, 53, TCP), b"a") is not None
        assert ids.inspect(pkt(40000, 54, UDP), b"a") is None

    def test_ipv6_flows_are_inspected_like_ipv4(self, ids: IdsPrefilter) -> None:
        ids.install([PrefilterKey(TCP, 443)])
        request = pkt(50000, 443, TCP, CLIENT6, SERVER6)
        assert ids.inspect(request, b"\x16\x03\x01") == CapturedPayload(b"\x16\x03\x01", 3)
        assert ids.inspect(reply(request), b"\x16\x03\x03") is not None

    def test_capture_is_cut_at_the_configured_size_keeping_the_original_length(
        self, ids: IdsPrefilter
    ) -> None:
        ids.install([PrefilterKey(TCP, 80)])
        ids.configure(capture_bytes=16)
        body = bytes(range(100))
        captured = ids.inspect(pkt(40000, 80), body)
        assert captured == CapturedPayload(body[:16], 100)
        assert captured.truncated
        short = ids.inspect(pkt(40000, 80), body[:10])
        assert short is not None and not short.truncated

    def test_capture_size_is_capped_and_validated(self, ids: IdsPrefilter) -> None:
        ids.install([PrefilterKey(UDP, 9)])
        limit = ids.max_capture_bytes
        for bad in (0, -1, limit + 1):
            with pytest.raises(ValueError):
                ids.configure(capture_bytes=bad)
        with pytest.raises(ValueError):
            ids.configure(capture_bytes=64, sample_every=0)
        ids.configure(capture_bytes=limit)
        body = b"z" * (limit + 500)
        assert ids.inspect(pkt(1000, 9, UDP), body) == CapturedPayload(body[:limit], limit + 500)

    def test_per_key_overrides_beat_the_global_settings(self, ids: IdsPrefilter) -> None:
        tls = PrefilterKey(TCP, 443)
        ids.install([PrefilterKey(TCP, 80), tls], {tls: PrefilterOverride(capture_bytes=4, sample_every=1)})
        ids.configure(capture_bytes=8, sample_every=1 << 30)
        flows = [pkt(20000 + i, 443) for i in range(20)]
        assert all(ids.inspect(f, b"0123456789") == CapturedPayload(b"0123", 10) for f in flows)
        # 1 flow in 2**30 is kept on port 80: none of these 20 (the chance of one is 2e-8)
        assert all(ids.inspect(pkt(20000 + i, 80), b"0123456789") is None for i in range(20))

    def test_install_replaces_the_key_set(self, ids: IdsPrefilter) -> None:
        ids.install([PrefilterKey(TCP, 80)])
        ids.install([PrefilterKey(TCP, 443)])
        assert ids.keys() == {PrefilterKey(TCP, 443)}
        assert ids.inspect(pkt(40000, 80), b"x") is None
        assert ids.inspect(pkt(40000, 443), b"x") is not None
        ids.install([])
        assert ids.inspect(pkt(40000, 443), b"x") is None

    def test_an_invalid_key_set_is_refused_and_the_old_one_kept(self, ids: IdsPrefilter) -> None:
        good = PrefilterKey(TCP, 80)
        ids.install([good])
        with pytest.raises(ValueError):
            ids.install([PrefilterKey(TCP, 443), PrefilterKey(TCP, 70000)])
        with pytest.raises(ValueError):
            ids.install(
                [PrefilterKey(TCP, 443)], {PrefilterKey(TCP, 443): PrefilterOverride(capture_bytes=0)}
            )
        assert ids.keys() == {good}
        assert ids.inspect(pkt(40000, 80), b"x") is not None
        assert ids.inspect(pkt(40000, 443), b"x") is None

    def test_payload_less_packets_only_when_asked(self, ids: IdsPrefilter) -> None:
        ids.install([PrefilterKey(TCP, 22)])
        assert ids.inspect(pkt(40000, 22)) is None
        ids.configure(capture_bytes=64, include_empty=True)
        assert ids.inspect(pkt(40000, 22)) == CapturedPayload(b"", 0)

    def test_sampling_keeps_whole_flows_in_both_directions(self, ids: IdsPrefilter) -> None:
        ids.install([PrefilterKey(UDP, 53)])
        ids.configure(capture_bytes=64, sample_every=4)
        flows = [pkt(20000 + i, 53, UDP) for i in range(200)]
        first = [ids.inspect(f, b"q") is not None for f in flows]
        again = [ids.inspect(f, b"q") is not None for f in flows]
        backwards = [ids.inspect(reply(f), b"r") is not None for f in flows]
        assert first == again == backwards
        assert 20 <= sum(first) <= 100  # about 1 in 4 of 200 flows (50 expected)
        ids.configure(capture_bytes=64, sample_every=1)
        assert all(ids.inspect(f, b"q") is not None for f in flows)

    def test_counters_add_up(self, ids: IdsPrefilter) -> None:
        ids.install([PrefilterKey(UDP, 53), PrefilterKey(TCP, 22)])
        ids.configure(capture_bytes=64, sample_every=3)
        before = ids.counters()
        packets = [(pkt(30000 + i, 53, UDP), b"q") for i in range(30)]
        packets += [(pkt(40000, 22), b""), (pkt(40000, 25), b"mail")]
        for packet, payload in packets:
            ids.inspect(packet, payload)
        after = ids.counters()
        delta = {k: after[k] - before[k] for k in after}
        assert delta["seen"] == len(packets)
        assert delta["not_matched"] == 1 and delta["empty"] == 1
        assert delta["matched"] == delta["sampled_out"] + delta["empty"] + delta["inspected"] == 31
        assert delta["sampled_out"] > 0 and delta["inspected"] > 0
