"""xdp_firewall -> xdp_ratelimit by tail call, the metadata they write, and ring backpressure."""

import ipaddress
import struct

from sentinel_adapters.ebpf import codec
from sentinel_adapters.ebpf.blocklist import BpfBlocklist
from sentinel_adapters.ebpf.firewall_map import BpfFirewallMap
from sentinel_adapters.ebpf.frames import build_frame
from sentinel_adapters.ebpf.prog_run import XDP_DROP, XDP_PASS, prog_test_run
from sentinel_adapters.ebpf.ratelimit_map import BpfRateLimitMap
from sentinel_adapters.ebpf.ringbuf import RingBufferReader
from sentinel_domain.common import PacketHeader, Protocol
from sentinel_domain.firewall import FirewallMode, FirewallPolicy, FirewallRule
from sentinel_domain.ratelimit import RateLimitPolicySet

A = ipaddress.ip_address
FRAME = build_frame(PacketHeader(A("198.18.4.4"), A("198.18.4.1"), Protocol.UDP, 999, 53))


def meta_of(data_out: bytes) -> tuple[int, int, int, int]:
    meta = codec.decode_xdp_meta(data_out[: codec.XDP_META.size])
    assert meta is not None
    return meta


def test_tail_call_with_and_without_the_rate_limiter() -> None:
    fw, rl = BpfFirewallMap.standalone(), BpfRateLimitMap.standalone()
    try:
        rl.apply(RateLimitPolicySet.from_dict({"default_rate": 1, "default_burst": 2}))
        rl.set_test_clock(10**12)
        # Slot empty: every packet passes, status "not checked".
        results = [prog_test_run(fw.prog_fd, FRAME) for _ in range(4)]
        assert [r.retval for r in results] == [XDP_PASS] * 4
        assert meta_of(results[0].data_out)[2] == 0
        fw.chain_ratelimit(rl.prog_fd)
        results = [prog_test_run(fw.prog_fd, FRAME) for _ in range(4)]
        assert [r.retval for r in results] == [XDP_PASS, XDP_PASS, XDP_DROP, XDP_DROP]
        assert meta_of(results[0].data_out)[2] == 1  # rate limiter: passed
        assert rl.counters()["throttled"] == 2
        fw.unchain_ratelimit()
        assert prog_test_run(fw.prog_fd, FRAME).retval == XDP_PASS
    finally:
        fw.close()
        rl.close()


def test_throttled_packets_under_a_pass_policy_are_flagged_in_the_metadata() -> None:
    fw, rl = BpfFirewallMap.standalone(), BpfRateLimitMap.standalone()
    try:
        rl.apply(
            RateLimitPolicySet.from_dict(
                {
                    "rules": [
                        {"id": "soft", "rate": 1, "burst": 1, "src_ip": "198.18.4.0/24", "action": "pass"}
                    ]
                }
            )
        )
        rl.set_test_clock(10**12)
        fw.chain_ratelimit(rl.prog_fd)
        first, second = (prog_test_run(fw.prog_fd, FRAME) for _ in range(2))
        assert (first.retval, meta_of(first.data_out)[2]) == (XDP_PASS, 1)
        assert (second.retval, meta_of(second.data_out)[2]) == (XDP_PASS, 2)
        assert rl.counters()["flagged"] == 1
    finally:
        fw.close()
        rl.close()


def test_blocklist_drops_before_any_rule_v4_and_v6() -> None:
    fw = BpfFirewallMap.standalone()
    try:
        allow_all = FirewallRule.from_dict({"id": "allow", "priority": 1, "action": "allow"})
        fw.apply(FirewallPolicy.build([allow_all], FirewallMode.BLOCK))
        fw.blocklist(ipaddress.ip_network("198.18.4.0/24"))
        fw.blocklist(ipaddress.ip_network("2001:db8:66::/48"))
        v6 = build_frame(PacketHeader(A("2001:db8:66::5"), A("2001:db8::1"), Protocol.TCP, 1, 2))
        before = fw.counters()
        assert prog_test_run(fw.prog_fd, FRAME).retval == XDP_DROP
        assert prog_test_run(fw.prog_fd, v6).retval == XDP_DROP
        assert fw.counters()["blocklist_drops"] - before["blocklist_drops"] == 2
        assert fw.unblocklist(ipaddress.ip_network("198.18.4.0/24"))
        assert prog_test_run(fw.prog_fd, FRAME).retval == XDP_PASS
    finally:
        fw.close()


def test_an_emptied_blocklist_is_skipped_and_a_refilled_one_checked_again() -> None:
    """fw_block_active: the program skips a family's blocklist lookup while its flag is 0; the
    last unblock clears it, the next block sets it before its entry lands."""
    fw = BpfFirewallMap.standalone()
    blocklist = BpfBlocklist(fw._obj)
    flags = fw._obj.map("fw_block_active")

    def active(family: int) -> bool:
        raw = flags.lookup(struct.pack("<I", family))
        return raw is not None and struct.unpack("<I", raw)[0] != 0

    a, b = ipaddress.ip_network("198.18.4.0/24"), ipaddress.ip_network("198.18.4.4/32")  # FRAME's source
    try:
        assert not active(0) and not active(1)
        blocklist.block(a)
        fw.blocklist(b)  # a second writer on the same maps
        assert active(0) and not active(1)
        assert blocklist.unblock(a)
        assert active(0)  # b is still there ...
        assert prog_test_run(fw.prog_fd, FRAME).retval == XDP_DROP  # ... and still enforced
        assert fw.unblocklist(b)
        assert not active(0)
        assert prog_test_run(fw.prog_fd, FRAME).retval == XDP_PASS
        blocklist.block_many([a, ipaddress.ip_network("2001:db8:66::/48")])
        assert active(0) and active(1)
        assert prog_test_run(fw.prog_fd, FRAME).retval == XDP_DROP
    finally:
        fw.close()


def test_backpressure_skips_events_above_75_percent_and_the_books_balance() -> None:
    fw = BpfFirewallMap.standalone()
    reader = None
    try:
        deny = FirewallRule.from_dict({"id": "deny", "priority": 1, "action": "deny"})
        fw.apply(FirewallPolicy.build([deny], FirewallMode.BLOCK))
        ring = fw._obj.map("fw_events")
        reader = RingBufferReader(ring.fd, ring.max_entries)
        before = fw.counters()
        flood = 30_000  # the consumer is paused: nobody reads while the ring fills
        result = prog_test_run(fw.prog_fd, FRAME, repeat=flood)
        assert result.retval == XDP_DROP  # the verdict never depends on the ring
        after = fw.counters()
        delta = {k: after[k] - before[k] for k in after}
        assert delta["dropped"] == flood
        assert delta["events_skipped"] > 0
        assert delta["events_emitted"] + delta["events_skipped"] + delta["reserve_failed"] == flood
        assert delta["events_dropped"] == delta["events_skipped"] + delta["reserve_failed"]
        # Emission stops at 75 % of the ring: 64-byte records in 1 MiB.
        assert delta["events_emitted"] <= (ring.max_entries * 3 // 4) // 64 + 1
        consumed = 0
        while batch := reader.read_batch():
            consumed += len(batch)
            assert all(len(record) == codec.PACKET_EVENT.size for record in batch)
        assert consumed == delta["events_emitted"]  # reserved = consumed (+ 0 userspace drops)
        assert reader.pending_bytes() == 0
    finally:
        if reader is not None:
            reader.close()
        fw.close()
