"""tc_ids ring → ``PayloadEvent``s for ``IdsEngine.evaluate``: batch-decoded, malformed records counted."""

import socket

from sentinel_adapters.ebpf import codec_payload
from sentinel_adapters.ebpf.event_source import boot_to_epoch_offset_ns
from sentinel_adapters.ebpf.loader import BpfObject
from sentinel_adapters.ebpf.ringbuf import RingBufferReader
from sentinel_domain.common import PacketHeader, address_from_words
from sentinel_domain.ids import FlowDirection, PayloadEvent, direction_from_ports
from sentinel_ports.event_source import EventSource

_PORTED = (6, 17)  # TCP, UDP: the only protocols whose event ports are real
_TCP_SYN, _TCP_RST, _TCP_ACK = 0x02, 0x04, 0x10


def header_of(record: codec_payload.IdsRecord, interface: str = "") -> PacketHeader:
    """The domain's view of the packet an event describes."""
    ported = record.protocol in _PORTED
    return PacketHeader(
        src=address_from_words(record.src_addr, record.is_ipv6),
        dst=address_from_words(record.dst_addr, record.is_ipv6),
        protocol=record.protocol,
        src_port=record.src_port if ported else None,
        dst_port=record.dst_port if ported else None,
        vlan_id=record.vlan_id,
        interface=interface,
    )


def established_of(record: codec_payload.IdsRecord) -> bool | None:
    """A TCP segment acknowledging data without SYN or RST belongs to an established connection;
    for anything else the kernel cannot tell (None)."""
    if record.protocol != 6:
        return None
    flags = record.tcp_flags
    return bool(flags & _TCP_ACK) and not flags & (_TCP_SYN | _TCP_RST)


class BpfIdsEventSource(EventSource[PayloadEvent]):
    """Reads one tc_ids object's ring. ``read`` gives PayloadEvents (direction from the ports,
    see ``direction_from_ports``); ``read_records`` gives the decoded records with truncation."""

    def __init__(self, obj: BpfObject, ring: str = "ids_events") -> None:
        ring_map = obj.map(ring)
        self._reader = RingBufferReader(ring_map.fd, ring_map.max_entries)
        self._stats = codec_payload.PayloadDecodeStats()
        self._offset = boot_to_epoch_offset_ns()
        self._names: dict[int, str] = {}
        self._truncated = 0
        self._closed = False

    def read_records(self, timeout: float) -> list[codec_payload.IdsRecord]:
        """The next batch of decoded records (empty after ``timeout`` seconds without data)."""
        if self._closed or not self._reader.wait(timeout):
            return []
        records = codec_payload.decode_ids_records(self._reader.read_batch(), self._stats)
        self._truncated += sum(1 for r in records if r.truncated)
        return records

    def read(self, timeout: float) -> list[PayloadEvent]:
        return [self.to_event(r) for r in self.read_records(timeout)]

    def to_event(self, record: codec_payload.IdsRecord) -> PayloadEvent:
        header = header_of(record, self._interface(record.ifindex))
        direction = direction_from_ports(header.src_port, header.dst_port)
        return PayloadEvent(
            header=header,
            payload=record.payload,
            timestamp_ns=record.timestamp_ns + self._offset,
            direction=direction if record.protocol in _PORTED else FlowDirection.UNKNOWN,
            established=established_of(record),
        )

    def _interface(self, ifindex: int) -> str:
        if ifindex not in self._names:
            try:
                self._names[ifindex] = socket.if_indextoname(ifindex)
            except OSError:  # gone, or in another namespace
                self._names[ifindex] = ""
        return self._names[ifindex]

    def stats(self) -> dict[str, int]:
        """consumed = decoded + too_short + bad_length + bad_field; truncated counts decoded ones."""
        return {
            "consumed": self._reader.records_read,
            **self._stats.as_dict(),
            "truncated": self._truncated,
            "pending_bytes": self._reader.pending_bytes() if not self._closed else 0,
        }

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._reader.close()
