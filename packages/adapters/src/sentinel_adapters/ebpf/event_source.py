"""BpfFirewallEventSource: xdp_firewall's ring → domain FirewallEvents."""

import time

from sentinel_adapters.ebpf import codec
from sentinel_adapters.ebpf.loader import BpfObject
from sentinel_adapters.ebpf.ringbuf import RingBufferReader
from sentinel_domain.common import PacketHeader, address_from_words
from sentinel_domain.firewall import FirewallEvent, Verdict
from sentinel_ports.event_source import FirewallEventSource

_VERDICTS = {codec.ACTION_DROP: Verdict.DROP, codec.ACTION_LOG: Verdict.LOG, codec.ACTION_PASS: Verdict.PASS}


def boot_to_epoch_offset_ns() -> int:
    """Add to a CLOCK_BOOTTIME stamp to get Unix epoch ns (deviation 2)."""
    return time.time_ns() - time.clock_gettime_ns(time.CLOCK_BOOTTIME)


class BpfFirewallEventSource(FirewallEventSource):
    def __init__(self, obj: BpfObject, ring: str = "fw_events") -> None:
        ring_map = obj.map(ring)
        self._reader = RingBufferReader(ring_map.fd, ring_map.max_entries)
        self._stats = codec.DecodeStats()
        self._offset = boot_to_epoch_offset_ns()
        self._closed = False

    def read(self, timeout: float) -> list[FirewallEvent]:
        if self._closed or not self._reader.wait(timeout):
            return []
        records = self._reader.read_batch()
        return [self._to_domain(e) for e in codec.decode_packet_events(records, self._stats)]

    def _to_domain(self, e: codec.PacketEvent) -> FirewallEvent:
        has_ports = e.protocol in (6, 17)
        packet = PacketHeader(
            src=address_from_words(e.src_addr, e.is_ipv6),
            dst=address_from_words(e.dst_addr, e.is_ipv6),
            protocol=e.protocol,
            src_port=e.src_port if has_ports else None,
            dst_port=e.dst_port if has_ports else None,
            vlan_id=e.vlan_id,
        )
        return FirewallEvent(
            timestamp_ns=e.timestamp_ns + self._offset,
            packet=packet,
            verdict=_VERDICTS.get(e.action, Verdict.PASS),
            rule_index=None if e.rule_id == codec.NO_RULE else e.rule_id,
            blocklisted=bool(e.flags & codec.FLAG_BLOCKLIST),
        )

    def stats(self) -> dict[str, int]:
        return {
            "consumed": self._reader.records_read,
            "decoded": self._stats.decoded,
            "wrong_size": self._stats.wrong_size,
            "unknown_type": self._stats.unknown_type,
        }

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._reader.close()
