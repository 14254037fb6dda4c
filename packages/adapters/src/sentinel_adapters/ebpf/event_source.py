"""Kernel rings → domain events: one source per ring, batch-decoded, malformed records counted.

The packet-event rings hold one record size, so they are read with the ring's fast path
(``RingBufferReader.read_fixed`` + ``codec.decode_packet_batch``), and the domain conversion
reuses the ``PacketHeader`` of a recent identical header (a bounded memo per source): a flood of
events is mostly a few flows.
"""

import time
from abc import abstractmethod
from collections.abc import Callable
from typing import TypeVar

from sentinel_adapters.ebpf import codec
from sentinel_adapters.ebpf.loader import BpfObject
from sentinel_adapters.ebpf.ringbuf import RingBufferReader
from sentinel_domain.common import IpAddress, PacketHeader, address_from_words
from sentinel_domain.firewall import FirewallEvent, Verdict
from sentinel_domain.ratelimit import RateLimitEvent
from sentinel_domain.threatintel import ThreatIntelEvent
from sentinel_ports.event_source import EventSource

EventT = TypeVar("EventT")
_VERDICTS = {codec.ACTION_DROP: Verdict.DROP, codec.ACTION_LOG: Verdict.LOG, codec.ACTION_PASS: Verdict.PASS}
_PORTED = (6, 17)  # TCP, UDP: the only protocols whose event ports are real
_MEMO_LIMIT = 4096  # entries per memo; a full memo is emptied and refilled
_TS, _ACTION, _FLAGS, _RULE_ID = codec.ROW_TIMESTAMP, codec.ROW_ACTION, codec.ROW_FLAGS, codec.ROW_RULE_ID
_HEADER_END = codec.ROW_EVENT_TYPE  # row[1:_HEADER_END]: addresses, ports, protocol
_VLAN_ID = codec.ROW_VLAN_ID


def boot_to_epoch_offset_ns() -> int:
    """Add to a CLOCK_BOOTTIME stamp to get Unix epoch ns (deviation 2)."""
    return time.time_ns() - time.clock_gettime_ns(time.CLOCK_BOOTTIME)


class PacketHeaders:
    """``PacketHeader`` of a decoded row (``codec.PacketRow``), memoized: a header seen recently is
    returned again (they are immutable), and so are addresses. Bounded: a full memo is emptied.
    Only TCP and UDP events carry real ports; other protocols get none."""

    def __init__(self, limit: int = _MEMO_LIMIT) -> None:
        self._limit = limit
        self._headers: dict[tuple[tuple[int, ...], int, int], PacketHeader] = {}
        self._addresses: dict[tuple[tuple[int, ...], bool], IpAddress] = {}

    def __call__(self, row: codec.PacketRow) -> PacketHeader:
        key = (row[1:_HEADER_END], row[_FLAGS] & codec.FLAG_IPV6, row[_VLAN_ID])
        header = self._headers.get(key)
        if header is None:
            if len(self._headers) >= self._limit:
                self._headers.clear()
            header = self._headers[key] = self._build(row)
        return header

    def _address(self, words: tuple[int, ...], ipv6: bool) -> IpAddress:
        key = (words, ipv6)
        address = self._addresses.get(key)
        if address is None:
            if len(self._addresses) >= self._limit:
                self._addresses.clear()
            address = self._addresses[key] = address_from_words(words, ipv6)  # type: ignore[arg-type]
        return address

    def _build(self, row: codec.PacketRow) -> PacketHeader:
        ipv6 = bool(row[_FLAGS] & codec.FLAG_IPV6)
        protocol = row[codec.ROW_PROTOCOL]
        ported = protocol in _PORTED
        return PacketHeader(
            src=self._address(row[1:5], ipv6),
            dst=self._address(row[5:9], ipv6),
            protocol=protocol,
            src_port=row[codec.ROW_SRC_PORT] if ported else None,
            dst_port=row[codec.ROW_DST_PORT] if ported else None,
            vlan_id=row[_VLAN_ID],
        )


class PacketEventRingSource(EventSource[EventT]):
    """Reads ``PacketEvent`` records of one program's ring and converts them with :meth:`convert`."""

    def __init__(self, obj: BpfObject, ring: str) -> None:
        ring_map = obj.map(ring)
        self._reader = RingBufferReader(ring_map.fd, ring_map.max_entries)
        self._stats = codec.DecodeStats()
        self._offset = boot_to_epoch_offset_ns()
        self._packet = PacketHeaders()
        self._closed = False

    def read(self, timeout: float) -> list[EventT]:
        if self._closed or not self._reader.wait(timeout):
            return []
        batch = self._reader.read_fixed(codec.PACKET_EVENT.size)
        convert = self.convert
        return [convert(row) for row in codec.decode_packet_batch(batch, self._stats)]

    @abstractmethod
    def convert(self, row: codec.PacketRow) -> EventT:
        """The domain event for one decoded record (``codec.ROW_*`` index its fields)."""

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

    def convert(self, row: codec.PacketRow) -> FirewallEvent:
        flags, index = row[_FLAGS], row[_RULE_ID]
        generation = 1 if flags & codec.FLAG_GEN1 else 0
        return FirewallEvent(
            timestamp_ns=row[_TS] + self._offset,
            packet=self._packet(row),
            verdict=_VERDICTS.get(row[_ACTION], Verdict.PASS),
            rule_id=None if index == codec.NO_RULE else self._rule_id_at(generation, index),
            blocklisted=bool(flags & codec.FLAG_BLOCKLIST),
        )


class BpfRateLimitEventSource(PacketEventRingSource[RateLimitEvent]):
    def __init__(self, obj: BpfObject, ring: str = "rl_events") -> None:
        super().__init__(obj, ring)

    def convert(self, row: codec.PacketRow) -> RateLimitEvent:
        return RateLimitEvent(
            timestamp_ns=row[_TS] + self._offset,
            packet=self._packet(row),
            policy_index=row[_RULE_ID],
            dropped=row[_ACTION] == codec.ACTION_DROP,
        )


class BpfThreatIntelEventSource(PacketEventRingSource[ThreatIntelEvent]):
    """tc_threatintel's ring: which IOC address a packet hit (flag 0x08: the destination's)."""

    def __init__(self, obj: BpfObject, ring: str = "ti_events") -> None:
        super().__init__(obj, ring)

    def convert(self, row: codec.PacketRow) -> ThreatIntelEvent:
        packet = self._packet(row)
        return ThreatIntelEvent(
            timestamp_ns=row[_TS] + self._offset,
            packet=packet,
            matched=packet.dst if row[_FLAGS] & codec.FLAG_TI_BY_DST else packet.src,
            feed_index=row[_RULE_ID],
            dropped=row[_ACTION] == codec.ACTION_DROP,
        )
