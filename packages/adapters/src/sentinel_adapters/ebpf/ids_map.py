"""BpfIdsPrefilter: the IdsPrefilter port on the tc_ids program's maps.

Atomic updates, as the firewall's: ``ids_prefilter`` (keys tagged with a generation byte) and
``ids_config`` (one entry per generation) hold two generations. ``install`` and ``configure``
write the complete key set and config into the idle generation, then flip ``ids_switch``, which
the program reads once per packet: a packet is filtered by one whole key set with its config,
never a half-written one. Before a generation is overwritten again we wait a grace period, so
packets still using it (microseconds) finish first. Flow sampling is a hash of the flow, so it
needs no state to survive a reload.
"""

import struct
import time
from collections.abc import Iterable, Mapping

from sentinel_adapters.ebpf import codec, codec_payload
from sentinel_adapters.ebpf.frames import build_frame
from sentinel_adapters.ebpf.loader import BpfObject
from sentinel_adapters.ebpf.prog_run import prog_test_run
from sentinel_adapters.ebpf.ringbuf import RingBufferReader
from sentinel_domain.common import PacketHeader, Protocol
from sentinel_domain.ids import PrefilterKey
from sentinel_ports.ids_prefilter import CapturedPayload, IdsPrefilter, PrefilterOverride

INGRESS_PROGRAM = "tc_ids_ingress"
EGRESS_PROGRAM = "tc_ids_egress"
RING = "ids_events"
MAX_KEYS = 16384  # per generation
GRACE_SECONDS = 0.01  # >> the time one packet spends in the program (microseconds)
_U32 = struct.Struct("<I")
_EVERY_PROTOCOL = (Protocol.TCP, Protocol.UDP, Protocol.ICMP, Protocol.ICMPV6)
_NO_OVERRIDE = PrefilterOverride()


def kernel_keys(key: PrefilterKey, gen: int = 0) -> list[bytes]:
    """The map keys of one PrefilterKey in generation ``gen``: port None (every port) is the
    kernel's port 0, and ``Protocol.ANY`` expands to every protocol the program inspects."""
    protocols = _EVERY_PROTOCOL if key.protocol == Protocol.ANY else (int(key.protocol),)
    port = codec_payload.IDS_ANY_PORT if key.port is None else key.port
    if not 0 <= port <= 0xFFFF or not all(0 < p < 256 for p in protocols):
        raise ValueError(f"invalid prefilter key {key}: port must be 0-65535 and protocol 1-255")
    return [codec_payload.IDS_KEY.pack(port, p, gen) for p in protocols]


def _positive(value: int | None, name: str, high: int) -> int:
    """0 means "the global value" in the kernel, so an override must be 1..high when given."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise ValueError(f"invalid {name} {value}: expected an integer 1-{high}")
    return value


class BpfIdsPrefilter(IdsPrefilter):
    """Writes prefilter keys and capture settings into a loaded ``tc_ids`` object."""

    def __init__(self, obj: BpfObject) -> None:
        self._obj = obj
        self._owns_object = False
        self._keys: frozenset[PrefilterKey] = frozenset()
        self._wanted_raw: dict[bytes, bytes] = {}  # port+protocol (3 bytes) -> filter, as installed
        self._config = b""
        self._active = 0
        self._flipped_at = 0.0
        self._kernel_keys: dict[int, set[bytes]] = {0: set(), 1: set()}
        self._reader: RingBufferReader | None = None
        self.configure(codec_payload.IDS_CAPTURE_DEFAULT)

    @classmethod
    def standalone(cls) -> "BpfIdsPrefilter":
        """Load a private copy of the program (nothing attached); ``close`` releases it."""
        instance = cls(BpfObject.load_bundled("tc_ids"))
        instance._owns_object = True
        return instance

    @property
    def bpf_object(self) -> BpfObject:
        """The loaded object, for attaching its programs and reading its ring."""
        return self._obj

    def prog_fd(self, egress: bool = False) -> int:
        return self._obj.program_fd(EGRESS_PROGRAM if egress else INGRESS_PROGRAM)

    @property
    def max_capture_bytes(self) -> int:
        return codec_payload.IDS_CAPTURE_MAX

    def install(
        self, keys: Iterable[PrefilterKey], overrides: Mapping[PrefilterKey, PrefilterOverride] | None = None
    ) -> None:
        wanted, wanted_keys = self._entries(keys, overrides)
        self._publish(wanted, self._config)
        self._keys = wanted_keys

    def apply(
        self,
        keys: Iterable[PrefilterKey],
        capture_bytes: int,
        sample_every: int = 1,
        include_empty: bool = False,
        overrides: Mapping[PrefilterKey, PrefilterOverride] | None = None,
    ) -> None:
        """``install`` and ``configure`` in one switch: a reload's keys and capture settings take
        effect together, for every packet."""
        wanted, wanted_keys = self._entries(keys, overrides)
        self._publish(wanted, self._config_value(capture_bytes, sample_every, include_empty))
        self._keys = wanted_keys

    def _entries(
        self, keys: Iterable[PrefilterKey], overrides: Mapping[PrefilterKey, PrefilterOverride] | None
    ) -> tuple[dict[bytes, bytes], frozenset[PrefilterKey]]:
        wanted_keys = frozenset(keys)
        overrides = overrides or {}
        wanted: dict[bytes, bytes] = {}
        for key in sorted(wanted_keys, key=lambda k: (int(k.protocol), k.port or 0)):
            o = overrides.get(key, _NO_OVERRIDE)
            value = codec_payload.IDS_FILTER.pack(
                _positive(o.sample_every, "sample_every", 0xFFFFFFFF),
                _positive(o.capture_bytes, "capture_bytes", self.max_capture_bytes),
            )
            for raw in kernel_keys(key):
                wanted[raw[:3]] = value  # (port, protocol); the generation byte is added on publish
        if len(wanted) > MAX_KEYS:
            raise ValueError(f"too many prefilter keys: {len(wanted)} (maximum {MAX_KEYS})")
        return wanted, wanted_keys

    def _publish(self, wanted: dict[bytes, bytes], config: bytes) -> None:
        """Write ``wanted`` (3-byte port+protocol → filter) and ``config`` into the idle generation,
        then make it the active one (the module docstring)."""
        target = 1 - self._active
        wait = self._flipped_at + GRACE_SECONDS - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        m = self._obj.map("ids_prefilter")
        tag = bytes([target])
        entries = {raw + tag: value for raw, value in wanted.items()}
        if entries:
            m.update_batch(list(entries), list(entries.values()))
        for stale in self._kernel_keys[target] - entries.keys():
            m.delete(stale)
        self._kernel_keys[target] = set(entries)
        self._obj.map("ids_config").update(_U32.pack(target), config)
        self._obj.map("ids_switch").update(_U32.pack(0), struct.pack("<II", target, 0))
        self._active = target
        self._flipped_at = time.monotonic()
        self._wanted_raw = wanted
        self._config = config

    def keys(self) -> frozenset[PrefilterKey]:
        return self._keys

    def configure(self, capture_bytes: int, sample_every: int = 1, include_empty: bool = False) -> None:
        self._publish(self._wanted_raw, self._config_value(capture_bytes, sample_every, include_empty))

    def _config_value(self, capture_bytes: int, sample_every: int, include_empty: bool) -> bytes:
        return codec_payload.IDS_CONFIG.pack(
            _positive(capture_bytes, "capture_bytes", self.max_capture_bytes),
            _positive(sample_every, "sample_every", 0xFFFFFFFF),
            codec_payload.IDS_CFG_EMPTY_PAYLOADS if include_empty else 0,
        )

    def inspect(self, packet: PacketHeader, payload: bytes = b"") -> CapturedPayload | None:
        """Run one frame through the real ingress program (BPF_PROG_TEST_RUN) and read its event.

        Uses the object's ring: do not combine with a live event source on the same object.
        """
        reader = self._ring_reader()
        reader.read_batch()  # start from an empty ring so the event read below is this packet's
        before = self._counter(codec_payload.IDS_COUNTERS.index("events_emitted"))
        prog_test_run(self.prog_fd(), build_frame(packet, payload))
        if self._counter(codec_payload.IDS_COUNTERS.index("events_emitted")) == before:
            return None
        stats = codec_payload.PayloadDecodeStats()
        records = codec_payload.decode_ids_records(reader.read_batch(), stats)
        if len(records) != 1:
            raise RuntimeError(f"expected one tc_ids event, read {len(records)} ({stats.as_dict()})")
        return CapturedPayload(records[0].payload, records[0].payload_len)

    def _ring_reader(self) -> RingBufferReader:
        if self._reader is None:
            ring = self._obj.map(RING)
            self._reader = RingBufferReader(ring.fd, ring.max_entries)
        return self._reader

    def _counter(self, slot: int) -> int:
        return codec.sum_per_cpu_u64(self._obj.map("ids_metrics").per_cpu_values(_U32.pack(slot)))

    def counters(self) -> dict[str, int]:
        return {name: self._counter(slot) for slot, name in enumerate(codec_payload.IDS_COUNTERS)}

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._owns_object:
            self._obj.close()
