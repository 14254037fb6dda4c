"""Typed access to one BPF map by fd: bytes in, bytes out (the codec owns the layouts)."""

import ctypes
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sentinel_adapters.ebpf import _libbpf as bpf
from sentinel_adapters.ebpf.errors import BpfError

BPF_MAP_TYPE_PERCPU_HASH = 5
BPF_MAP_TYPE_PERCPU_ARRAY = 6
BPF_MAP_TYPE_LRU_PERCPU_HASH = 10
_PERCPU = {BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_LRU_PERCPU_HASH}
_ENOENT = 2


def _index_blob(start: int, count: int) -> bytes:
    """Little-endian u32 keys start..start+count-1, for batch writes to array maps. Built per
    write: a cache keyed by the end index kept a blob alive per distinct write (a leak, and up
    to 35 MB each once the address tables put writes millions of entries in)."""
    return array("I", range(start, start + count)).tobytes()


@dataclass(frozen=True, slots=True)
class BpfMap:
    name: str
    fd: int
    map_type: int
    key_size: int
    value_size: int
    max_entries: int

    @property
    def per_cpu(self) -> bool:
        return self.map_type in _PERCPU

    @property
    def stored_value_size(self) -> int:
        """Bytes userspace reads/writes per value (per-CPU values: one 8-aligned slot per CPU)."""
        if self.per_cpu:
            return bpf.num_possible_cpus() * ((self.value_size + 7) & ~7)
        return self.value_size

    def update(self, key: bytes | None, value: bytes, flags: int = bpf.BPF_ANY) -> None:
        self._check_value(value)
        kbuf = self._key(key)
        rc = bpf.lib.bpf_map_update_elem(self.fd, kbuf, value, flags)
        bpf.check(rc, f"bpf_map_update_elem({self.name})")

    def lookup(self, key: bytes | None) -> bytes | None:
        """The value, or None when the key is absent."""
        out = ctypes.create_string_buffer(self.stored_value_size)
        rc = bpf.lib.bpf_map_lookup_elem(self.fd, self._key(key), out)
        if rc == -_ENOENT:
            return None
        bpf.check(rc, f"bpf_map_lookup_elem({self.name})")
        return out.raw

    def delete(self, key: bytes) -> bool:
        """Delete ``key``; False when it was absent."""
        rc = bpf.lib.bpf_map_delete_elem(self.fd, self._key(key))
        if rc == -_ENOENT:
            return False
        bpf.check(rc, f"bpf_map_delete_elem({self.name})")
        return True

    def keys(self) -> Iterator[bytes]:
        """Iterate keys (a concurrent delete may end the walk early: the kernel's contract)."""
        prev = None
        nxt = ctypes.create_string_buffer(self.key_size)
        while bpf.lib.bpf_map_get_next_key(self.fd, prev, nxt) == 0:
            yield nxt.raw
            prev = ctypes.create_string_buffer(nxt.raw, self.key_size)

    def update_batch(self, keys: Sequence[bytes], values: Sequence[bytes]) -> None:
        """Write many elements in one syscall per chunk (``bpf_map_update_batch``)."""
        if len(keys) != len(values):
            raise ValueError("keys and values differ in length")
        chunk = 8192
        opts = bpf.bpf_map_batch_opts(sz=ctypes.sizeof(bpf.bpf_map_batch_opts))
        for start in range(0, len(keys), chunk):
            kblob = b"".join(keys[start : start + chunk])
            vblob = b"".join(values[start : start + chunk])
            count = ctypes.c_uint32(len(kblob) // self.key_size)
            if (
                len(kblob) != count.value * self.key_size
                or len(vblob) != count.value * self.stored_value_size
            ):
                raise ValueError(f"{self.name}: batch element sizes do not match the map")
            rc = bpf.lib.bpf_map_update_batch(self.fd, kblob, vblob, ctypes.byref(count), ctypes.byref(opts))
            bpf.check(rc, f"bpf_map_update_batch({self.name})")

    def update_array(self, values: bytes, start: int = 0) -> None:
        """Write elements start..start+n-1 of an array map from one blob of ``n`` packed values."""
        size = self.stored_value_size
        count = len(values) // size
        if count * size != len(values) or start + count > self.max_entries:
            raise ValueError(f"{self.name}: {len(values)} bytes is not a whole number of values that fits")
        chunk = 8192
        opts = bpf.bpf_map_batch_opts(sz=ctypes.sizeof(bpf.bpf_map_batch_opts))
        keys = _index_blob(start, count)
        for first in range(0, count, chunk):
            n = ctypes.c_uint32(min(chunk, count - first))
            kblob = keys[first * 4 : (first + n.value) * 4]
            vblob = values[first * size : (first + n.value) * size]
            rc = bpf.lib.bpf_map_update_batch(self.fd, kblob, vblob, ctypes.byref(n), ctypes.byref(opts))
            bpf.check(rc, f"bpf_map_update_batch({self.name})")

    def per_cpu_values(self, key: bytes) -> list[bytes]:
        """The value of each possible CPU for a per-CPU map."""
        raw = self.lookup(key)
        if raw is None:
            return []
        slot = (self.value_size + 7) & ~7
        return [raw[i : i + self.value_size] for i in range(0, len(raw), slot)]

    def _key(self, key: bytes | None) -> bytes | None:
        if key is not None and len(key) != self.key_size:
            raise BpfError(22, f"{self.name}: key is {len(key)} bytes, map wants {self.key_size}")
        return key

    def _check_value(self, value: bytes) -> None:
        if len(value) != self.stored_value_size:
            raise BpfError(
                22, f"{self.name}: value is {len(value)} bytes, map wants {self.stored_value_size}"
            )
