"""Kernel rings → domain events: one source per ring, batch-decoded, malformed records counted."""

import time
from abc import abstractmethod
from collections.abc import Callable
from typing import TypeVar

from sentinel_adapters.ebpf import codec
from sentinel_adapters.ebpf.loader import BpfObject
from sentinel_adapters.ebpf.ringbuf import RingBufferReader
from sentinel_domain.common import PacketHeader, address_from_words
from sentinel_domain.firewall import FirewallEvent, Verdict
from sentinel_domain.ratelimit import RateLimitEvent
from sentinel_domain.threatintel import ThreatIntelEvent
from sentinel_ports.event_source import EventSource

EventT = TypeVar("EventT")
_VERDICTS = {codec.ACTION_DROP: Verdict.DROP, codec.ACTION_LOG: Verdict.LOG, codec.ACTION_PASS: Verdict.PASS}


def boot_to_epoch_offset_ns() -> int:
    """Add to a CLOCK_BOOTTIME stamp to get Unix epoch ns (deviation 2)."""
    return time.time_ns() - time.clock_gettime_ns(time.CLOCK_BOOTTIME)


def packet_of(e: codec.PacketEvent) -> PacketHeader:
    has_ports = e.protocol in (6, 17)
    return PacketHeader(
        src=address_from_words(e.src_addr, e.is_ipv6),
        dst=address_from_words(e.dst_addr, e.is_ipv6),
        protocol=e.protocol,
        src_port=e.src_port if has_ports else None,
        dst_port=e.dst_port if has_ports else None,
        vlan_id=e.vlan_id,
    )


class PacketEventRingSource(EventSource[EventT]):
    """Reads ``PacketEvent`` records of one program's ring and converts them with :meth:`convert`."""

    def __init__(self, obj: BpfObject, ring: str) -> None:
        ring_map = obj.map(ring)
        self._reader = RingBufferReader(ring_map.fd, ring_map.max_entries)
        self._stats = codec.DecodeStats()
        self._offset = boot_to_epoch_offset_ns()
        self._closed = False

    def read(self, timeout: float) -> list[EventT]:
        if self._closed or not self._reader.wait(timeout):
            return []
        records = self._reader.read_batch()
        return [self.convert(e) for e in codec.decode_packet_events(records, self._stats)]

    @abstractmethod
    def convert(self, event: codec.PacketEvent) -> EventT:
        """The domain event for one decoded record."""

    def epoch_ns(self, boot_ns: int) -> int:
        return boot_ns + self._offset

    def stats(self) -> dict[str, int]:
        """consumed = decoded + wrong_size + unknown_type (userspace drops by reason)."""
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


class BpfFirewallEventSource(PacketEventRingSource[FirewallEvent]):
    """``rule_id_at(generation, index)`` names the rule the kernel reported (BpfFirewallMap.rule_id_at)."""

    def __init__(
        self, obj: BpfObject, rule_id_at: Callable[[int, int], str | None], ring: str = "fw_events"
    ) -> None:
        super().__init__(obj, ring)
        self._rule_id_at = rule_id_at

    def convert(self, event: codec.PacketEvent) -> FirewallEvent:
        generation = 1 if event.flags & codec.FLAG_GEN1 else 0
        rule_id = None if event.rule_id == codec.NO_RULE else self._rule_id_at(generation, event.rule_id)
        return FirewallEvent(
            timestamp_ns=self.epoch_ns(event.timestamp_ns),
            packet=packet_of(event),
            verdict=_VERDICTS.get(event.action, Verdict.PASS),
            rule_id=rule_id,
            blocklisted=bool(event.flags & codec.FLAG_BLOCKLIST),
        )


class BpfRateLimitEventSource(PacketEventRingSource[RateLimitEvent]):
    def __init__(self, obj: BpfObject, ring: str = "rl_events") -> None:
        super().__init__(obj, ring)

    def convert(self, event: codec.PacketEvent) -> RateLimitEvent:
        return RateLimitEvent(
            timestamp_ns=self.epoch_ns(event.timestamp_ns),
            packet=packet_of(event),
            policy_index=event.rule_id,
            dropped=event.action == codec.ACTION_DROP,
        )


class BpfThreatIntelEventSource(PacketEventRingSource[ThreatIntelEvent]):
    """tc_threatintel's ring: which IOC address a packet hit (flag 0x08: the destination's)."""

    def __init__(self, obj: BpfObject, ring: str = "ti_events") -> None:
        super().__init__(obj, ring)

    def convert(self, event: codec.PacketEvent) -> ThreatIntelEvent:
        packet = packet_of(event)
        by_dst = bool(event.flags & codec.FLAG_TI_BY_DST)
        return ThreatIntelEvent(
            timestamp_ns=self.epoch_ns(event.timestamp_ns),
            packet=packet,
            matched=packet.dst if by_dst else packet.src,
            feed_index=event.rule_id,
            dropped=event.action == codec.ACTION_DROP,
        )
