"""BpfDnsSource: the DnsSource port on tc_dns's ring (and its per-CPU counters).

:func:`attach_tc_dns` puts ``tc_dns_ingress`` on clsact ingress and ``tc_dns_egress`` on egress
of one interface; the source only reads what they captured. The programs never drop, so their
place among other classifiers (``priority``) only decides what they see after those ran.
"""

import struct

from sentinel_adapters.ebpf import codec, codec_dns
from sentinel_adapters.ebpf.attach import attach_tc, detach_tc
from sentinel_adapters.ebpf.event_source import boot_to_epoch_offset_ns
from sentinel_adapters.ebpf.loader import BpfObject
from sentinel_adapters.ebpf.ringbuf import RingBufferReader
from sentinel_domain.common import address_from_words
from sentinel_ports.dns_source import DnsCapture, DnsDirection, DnsSource, DnsTransport

PROGRAM = "tc_dns"
INGRESS_PROGRAM = "tc_dns_ingress"
EGRESS_PROGRAM = "tc_dns_egress"
_U32 = struct.Struct("<I")
_DIRECTIONS = {
    codec_dns.DIRECTION_QUERY: DnsDirection.QUERY,
    codec_dns.DIRECTION_RESPONSE: DnsDirection.RESPONSE,
}


def attach_tc_dns(obj: BpfObject, interface: str, handle: int = 3, priority: int = 3) -> None:
    """Attach a loaded ``tc_dns`` object to both directions of ``interface``."""
    attach_tc(obj.program_fd(INGRESS_PROGRAM), interface, handle=handle, priority=priority)
    try:
        attach_tc(obj.program_fd(EGRESS_PROGRAM), interface, egress=True, handle=handle, priority=priority)
    except Exception:
        detach_tc(interface, handle=handle, priority=priority)
        raise


def detach_tc_dns(interface: str, handle: int = 3, priority: int = 3) -> None:
    """Undo :func:`attach_tc_dns` (silent for what is not there)."""
    detach_tc(interface, egress=True, handle=handle, priority=priority)
    detach_tc(interface, handle=handle, priority=priority)


def capture_of(record: codec_dns.DnsEventRecord, epoch_offset_ns: int) -> DnsCapture:
    """The port's value for one decoded record (boot clock moved to the epoch, deviation 2)."""
    ipv6 = record.is_ipv6
    return DnsCapture(
        timestamp_ns=record.timestamp_ns + epoch_offset_ns,
        direction=_DIRECTIONS[record.direction],
        transport=DnsTransport.TCP if record.flags & codec_dns.FLAG_TCP else DnsTransport.UDP,
        src=address_from_words(record.src_addr, ipv6),
        dst=address_from_words(record.dst_addr, ipv6),
        src_port=record.src_port,
        dst_port=record.dst_port,
        message=record.message,
        message_length=record.message_len,
        vlan_id=record.vlan_id,
        ifindex=record.ifindex,
        egress=record.hook == codec_dns.HOOK_EGRESS,
    )


class BpfDnsSource(DnsSource):
    """Reads a loaded ``tc_dns`` object's ring in batches. One reader per ring; not thread-safe."""

    def __init__(self, obj: BpfObject, ring: str = "dns_events") -> None:
        self._obj = obj
        ring_map = obj.map(ring)
        self._reader = RingBufferReader(ring_map.fd, ring_map.max_entries)
        self._stats = codec.DecodeStats()
        self._offset = boot_to_epoch_offset_ns()
        self._closed = False

    def read(self, timeout: float) -> list[DnsCapture]:
        if self._closed or not self._reader.wait(timeout):
            return []
        records = codec_dns.decode_dns_events(self._reader.read_batch(), self._stats)
        return [capture_of(r, self._offset) for r in records]

    def stats(self) -> dict[str, int]:
        """consumed = decoded + wrong_size + unknown_type + the ``by_reason`` rejections."""
        return {
            "consumed": self._reader.records_read,
            "decoded": self._stats.decoded,
            "wrong_size": self._stats.wrong_size,
            "unknown_type": self._stats.unknown_type,
            **self._stats.by_reason,
        }

    def counters(self) -> dict[str, int]:
        """The kernel's per-CPU counters summed (``codec_dns.DNS_COUNTERS`` names)."""
        metrics = self._obj.map("dns_metrics")
        return {
            name: codec.sum_per_cpu_u64(metrics.per_cpu_values(_U32.pack(slot)))
            for slot, name in enumerate(codec_dns.DNS_COUNTERS)
        }

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._reader.close()
