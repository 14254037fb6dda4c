"""uprobe_dlp ring → ``DlpCapture``s for ``DlpEngine.scan``: batch-decoded, malformed records counted."""

from sentinel_adapters.ebpf import codec_payload
from sentinel_adapters.ebpf.event_source import boot_to_epoch_offset_ns
from sentinel_adapters.ebpf.loader import BpfObject
from sentinel_adapters.ebpf.ringbuf import RingBufferReader
from sentinel_ports.dlp_probe import DlpCapture, DlpDirection
from sentinel_ports.event_source import EventSource


class BpfDlpEventSource(EventSource[DlpCapture]):
    """Reads one uprobe_dlp object's ring (``BpfDlpProbe.bpf_object``)."""

    def __init__(self, obj: BpfObject, ring: str = "dlp_events") -> None:
        ring_map = obj.map(ring)
        self._reader = RingBufferReader(ring_map.fd, ring_map.max_entries)
        self._stats = codec_payload.PayloadDecodeStats()
        self._offset = boot_to_epoch_offset_ns()
        self._truncated = 0
        self._closed = False

    def read(self, timeout: float) -> list[DlpCapture]:
        if self._closed or not self._reader.wait(timeout):
            return []
        records = codec_payload.decode_dlp_records(self._reader.read_batch(), self._stats)
        captures = [self.to_capture(r) for r in records]
        self._truncated += sum(1 for c in captures if c.truncated)
        return captures

    def to_capture(self, record: codec_payload.DlpRecord) -> DlpCapture:
        return DlpCapture(
            pid=record.pid,
            tgid=record.tgid,
            comm=record.comm,
            direction=DlpDirection(record.direction),
            data=record.data,
            original_length=record.data_len,
            timestamp_ns=record.timestamp_ns + self._offset,
            uid=record.uid,
            cgroup_id=record.cgroup_id,
        )

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
