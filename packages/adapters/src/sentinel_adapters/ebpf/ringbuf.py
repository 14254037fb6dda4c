"""Read a BPF ring buffer straight from its mmapped pages, in batches, without ctypes.

Layout (kernel/bpf/ringbuf.c): page 0 = consumer position (we write it), page 1 = producer
position, then the data area, which the kernel maps twice in a row so that a record never wraps.
We map the data area once (both copies would be resident: twice the ring's size in the agent's
RSS, 22 MB over its six rings) and join the two pieces of a batch that wraps. Each record has an 8-byte
header: u32 length with BUSY (bit 31, still being written) and DISCARD (bit 30) flags, u32 page
offset; records are 8-byte aligned. A batch copies the region produced since the consumer
position, walks the copy's headers, takes the records from a second copy of the walked prefix,
then publishes the new consumer position once.

Two walks, both pure functions over a copy of the region (or any bytes, in a test):
:func:`walk_records` (any record sizes; one ``bytes`` per record) and :func:`walk_fixed` (a ring
whose records all have one size: the well-formed records come back as runs of back-to-back
records in one copy, which a decoder unpacks with one ``struct.iter_unpack`` per run, the header
inside the stride). Both stop at a BUSY record, skip and count DISCARD records, and never consume
a record that claims to extend past the produced region.

Why the records come from a second copy: a ``memcpy`` of a large region loads its tail before its
middle (glibc), so in one copy a record's payload could have been read before the header that
showed it committed. The second copy starts after the first one's header loads (ordered on x86);
committed headers do not change until the consumer position passes them, so the walk of the
first copy holds for the second.
"""

import mmap
import select
import struct
from dataclasses import dataclass, replace
from typing import NamedTuple

_BUSY = 1 << 31
_DISCARD = 1 << 30
RECORD_HEADER = 8  # u32 length + flags, u32 page offset
_HEADER = RECORD_HEADER
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")
# walk_fixed compares the headers of up to this many records at once (C-level column compares),
# doubling while every header matches and starting over small after an irregular record, so a
# region full of irregular records costs O(records) column work, not O(records²).
_FIRST_WINDOW = 256
_SMALL_WINDOW = 16


def record_stride(record_size: int) -> int:
    """Bytes one record of ``record_size`` payload bytes occupies in the ring (header, 8-aligned)."""
    return (record_size + _HEADER + 7) & ~7


class Walk(NamedTuple):
    """What :func:`walk_records` found: where the non-discarded records' payloads are, in order."""

    spans: list[tuple[int, int]]  # (start, stop) of each record's payload in the region
    consumed: int  # bytes walked: the consumer position advances by this much
    discarded: int

    def records(self, data: bytes) -> list[bytes]:
        """The records, cut out of ``data`` (the walked region or a later copy of it)."""
        return [data[start:stop] for start, stop in self.spans]


def walk_records(region: bytes, max_records: int) -> Walk:
    """Records of any size in a ring region (a copy) that starts at a record header."""
    spans: list[tuple[int, int]] = []
    discarded = pos = 0
    end = len(region)
    unpack = _U32.unpack_from
    while pos + _HEADER <= end and len(spans) < max_records:
        header = unpack(region, pos)[0]
        if header & _BUSY:
            break  # the kernel is still writing this one; later records wait behind it
        length = header & ~(_BUSY | _DISCARD)
        following = pos + ((length + _HEADER + 7) & ~7)
        if following > end:
            break  # claims more than was produced: never consume past the producer
        if header & _DISCARD:
            discarded += 1
        else:
            spans.append((pos + _HEADER, pos + _HEADER + length))
        pos = following
    return Walk(spans, pos, discarded)


@dataclass(frozen=True, slots=True)
class FixedBatch:
    """What :func:`walk_fixed` found in ``data`` (the walked region or a later copy of it).

    ``runs`` are ``(offset, count)``: ``count`` back-to-back well-formed records starting at
    ``data[offset]``, each ``stride`` bytes: a ``header``-byte ring header (length ==
    ``record_size``, no flags), the ``record_size`` payload bytes, padding. Records of another size
    were consumed and are counted in ``wrong_size``, discarded records in ``discarded``.
    """

    data: bytes
    record_size: int
    stride: int
    header: int
    runs: list[tuple[int, int]]
    count: int  # records in the runs
    wrong_size: int
    discarded: int
    consumed: int  # bytes walked: the consumer position advances by this much


def _matching_run(region: bytes, pos: int, limit: int, stride: int, header: bytes) -> int:
    """How many of the ``limit`` records at ``pos``, in a row, have exactly the header ``header``."""
    stop = pos + limit * stride
    run = limit
    for i in range(len(header)):
        column = region[pos + i : stop : stride]  # byte i of every header
        run = min(run, limit - len(column.lstrip(header[i : i + 1])))
        if not run:
            break
    return run


def walk_fixed(region: bytes, record_size: int, max_records: int) -> FixedBatch:
    """Runs of ``record_size``-byte records in a ring region (a copy) that starts at a record header.

    The headers are compared a column at a time (the same header byte of every record, sliced
    out with the stride), so a region of well-formed records costs a few C-level passes. Anything
    else (BUSY, DISCARD, another length) is looked at on its own, by the same rules as
    :func:`walk_records`, and the walk goes on at the next record's real position.
    ``max_records`` bounds the non-discarded records (well-formed + wrong size).
    """
    if not 0 < record_size < _DISCARD:
        raise ValueError(f"record size {record_size} out of range")
    stride = record_stride(record_size)
    expected = record_size.to_bytes(4, "little")
    runs: list[tuple[int, int]] = []
    count = wrong_size = discarded = pos = 0
    end = len(region)
    window = _FIRST_WINDOW
    while pos + _HEADER <= end and count + wrong_size < max_records:
        limit = min((end - pos) // stride, max_records - count - wrong_size, window)
        run = _matching_run(region, pos, limit, stride, expected) if limit else 0
        if not run:  # an irregular record at pos, or a tail shorter than one stride
            window = _SMALL_WINDOW
            header = _U32.unpack_from(region, pos)[0]
            if header & _BUSY:
                break
            following = pos + (((header & ~(_BUSY | _DISCARD)) + _HEADER + 7) & ~7)
            if following > end:
                break
            if header & _DISCARD:
                discarded += 1
            else:  # the column compare matched every header equal to the expected one
                wrong_size += 1
            pos = following
            continue
        if runs and runs[-1][0] + runs[-1][1] * stride == pos:
            runs[-1] = (runs[-1][0], runs[-1][1] + run)
        else:
            runs.append((pos, run))
        count += run
        pos += run * stride
        window = window * 2 if run == limit else _SMALL_WINDOW
    return FixedBatch(region, record_size, stride, _HEADER, runs, count, wrong_size, discarded, pos)


class RingBufferReader:
    """Drains one RINGBUF map. Not thread-safe: one reader per ring."""

    def __init__(self, map_fd: int, size: int) -> None:
        if size & (size - 1):
            raise ValueError(f"ring size {size} is not a power of two")
        self.size = size
        self._mask = size - 1
        page = mmap.PAGESIZE
        self._consumer = mmap.mmap(map_fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
        self._producer = mmap.mmap(map_fd, page + size, mmap.MAP_SHARED, mmap.PROT_READ, offset=page)
        self._data = memoryview(self._producer)[page:]
        self._epoll = select.epoll()
        self._epoll.register(map_fd, select.EPOLLIN)
        self.records_read = 0  # non-discarded records consumed (of any size)
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

    def _pending(self) -> tuple[int, int]:
        """The consumer position and how many bytes were produced since."""
        consumer: int = _U64.unpack_from(self._consumer, 0)[0]
        producer: int = _U64.unpack_from(self._producer, 0)[0]
        return consumer, max(0, min(producer - consumer, self.size))

    def _copy(self, position: int, length: int) -> bytes:
        """``length`` bytes of the ring from logical ``position`` on, joined across the end."""
        start = position & self._mask
        end = start + length
        if end <= self.size:
            return bytes(self._data[start:end])
        return bytes(self._data[start:]) + bytes(self._data[: end - self.size])

    def read_batch(self, max_records: int = 65536) -> list[bytes]:
        """Copy out up to ``max_records`` committed records and release their space."""
        consumer, pending = self._pending()
        walk = walk_records(self._copy(consumer, pending), max_records)
        records = walk.records(self._copy(consumer, walk.consumed))  # copied after the headers
        if walk.consumed:
            _U64.pack_into(self._consumer, 0, consumer + walk.consumed)
        self.records_read += len(records)
        self.records_discarded += walk.discarded
        return records

    def read_fixed(self, record_size: int, max_records: int = 65536) -> FixedBatch:
        """The fast path for a ring of one record size: like :meth:`read_batch`, but the records
        stay in one ``bytes`` copy of the region, as runs (see :class:`FixedBatch`); records of
        another size are consumed and counted, not returned. The batch holds no view of the
        mapping, so it may outlive :meth:`close`."""
        consumer, pending = self._pending()
        batch = walk_fixed(self._copy(consumer, pending), record_size, max_records)
        batch = replace(batch, data=self._copy(consumer, batch.consumed))  # copied after the headers
        if batch.consumed:
            _U64.pack_into(self._consumer, 0, consumer + batch.consumed)
        self.records_read += batch.count + batch.wrong_size
        self.records_discarded += batch.discarded
        return batch

    def close(self) -> None:
        self._epoll.close()
        self._data.release()
        self._producer.close()
        self._consumer.close()
