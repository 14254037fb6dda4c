"""Read a BPF ring buffer straight from its mmapped pages, in batches, without ctypes.

Layout (kernel/bpf/ringbuf.c): page 0 = consumer position (we write it), page 1 = producer
position, then the data area mapped twice so a record never wraps. Each record has an 8-byte
header: u32 length with BUSY (bit 31, still being written) and DISCARD (bit 30) flags, u32 page
offset; records are 8-byte aligned. We copy every committed record, then publish the new
consumer position once per batch.
"""

import mmap
import select
import struct

_BUSY = 1 << 31
_DISCARD = 1 << 30
_HEADER = 8
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")


class RingBufferReader:
    """Drains one RINGBUF map. Not thread-safe: one reader per ring."""

    def __init__(self, map_fd: int, size: int) -> None:
        if size & (size - 1):
            raise ValueError(f"ring size {size} is not a power of two")
        self.size = size
        self._mask = size - 1
        page = mmap.PAGESIZE
        self._consumer = mmap.mmap(map_fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
        self._producer = mmap.mmap(map_fd, page + 2 * size, mmap.MAP_SHARED, mmap.PROT_READ, offset=page)
        self._data = memoryview(self._producer)[page:]
        self._epoll = select.epoll()
        self._epoll.register(map_fd, select.EPOLLIN)
        self.records_read = 0
        self.records_discarded = 0

    def pending_bytes(self) -> int:
        """Bytes committed by the kernel and not yet consumed."""
        produced: int = _U64.unpack_from(self._producer, 0)[0]
        consumed: int = _U64.unpack_from(self._consumer, 0)[0]
        return produced - consumed

    def wait(self, timeout: float) -> bool:
        """Block until the kernel signals data (or ``timeout`` seconds pass)."""
        if self.pending_bytes():
            return True
        return bool(self._epoll.poll(timeout))

    def read_batch(self, max_records: int = 65536) -> list[bytes]:
        """Copy out up to ``max_records`` committed records and release their space.

        One copy of the whole committed region (contiguous: the data area is mapped twice), then
        the records are sliced out of it; a BUSY header ends the batch there.
        """
        consumer = _U64.unpack_from(self._consumer, 0)[0]
        producer = _U64.unpack_from(self._producer, 0)[0]
        pending = min(producer - consumer, self.size)
        if pending <= 0:
            return []
        start = consumer & self._mask
        blob = bytes(self._data[start : start + pending])
        out: list[bytes] = []
        pos = 0
        unpack = _U32.unpack_from
        while pos < pending and len(out) < max_records:
            header = unpack(blob, pos)[0]
            if header & _BUSY:
                break  # the kernel is still writing this one; later records wait behind it
            length = header & ~(_BUSY | _DISCARD)
            if header & _DISCARD:
                self.records_discarded += 1
            else:
                out.append(blob[pos + _HEADER : pos + _HEADER + length])
            pos += (length + _HEADER + 7) & ~7
        _U64.pack_into(self._consumer, 0, consumer + pos)
        self.records_read += len(out)
        return out

    def close(self) -> None:
        self._epoll.close()
        self._data.release()
        self._producer.close()
        self._consumer.close()
