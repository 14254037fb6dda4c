"""An in-memory IdsPrefilter that applies the port's rules to PacketHeaders (no bytes, no kernel)."""

import zlib
from collections import Counter
from collections.abc import Iterable, Mapping

from sentinel_domain.common import PacketHeader, Protocol
from sentinel_domain.ids import PrefilterKey
from sentinel_ports.ids_prefilter import CapturedPayload, IdsPrefilter, PrefilterOverride

_INSPECTED = (Protocol.TCP, Protocol.UDP, Protocol.ICMP, Protocol.ICMPV6)
_PORTED = (Protocol.TCP, Protocol.UDP)
_COUNTERS = ("seen", "matched", "not_matched", "sampled_out", "empty", "inspected", "no_l4")


def _positive(value: int | None, name: str, high: int) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high
    ):
        raise ValueError(f"invalid {name} {value}: expected an integer 1-{high}")


class InMemoryIdsPrefilter(IdsPrefilter):
    """Sampling uses its own flow hash (CRC-32 of the unordered endpoints), not the kernel's."""

    def __init__(self, max_capture_bytes: int = 2048) -> None:
        self._max = max_capture_bytes
        self._keys: frozenset[PrefilterKey] = frozenset()
        self._table: dict[tuple[int, int], PrefilterOverride] = {}
        self._capture = min(512, max_capture_bytes)
        self._every = 1
        self._include_empty = False
        self._counters: Counter[str] = Counter()

    @property
    def max_capture_bytes(self) -> int:
        return self._max

    def install(
        self, keys: Iterable[PrefilterKey], overrides: Mapping[PrefilterKey, PrefilterOverride] | None = None
    ) -> None:
        wanted = frozenset(keys)
        table: dict[tuple[int, int], PrefilterOverride] = {}
        for key in wanted:
            port = 0 if key.port is None else key.port
            if not 0 <= port <= 0xFFFF:
                raise ValueError(f"invalid prefilter key {key}: port must be 0-65535")
            override = (overrides or {}).get(key, PrefilterOverride())
            _positive(override.sample_every, "sample_every", 0xFFFFFFFF)
            _positive(override.capture_bytes, "capture_bytes", self._max)
            protocols = _INSPECTED if key.protocol == Protocol.ANY else (key.protocol,)
            for protocol in protocols:
                table[(int(protocol), port)] = override
        self._keys, self._table = wanted, table

    def keys(self) -> frozenset[PrefilterKey]:
        return self._keys

    def configure(self, capture_bytes: int, sample_every: int = 1, include_empty: bool = False) -> None:
        _positive(capture_bytes, "capture_bytes", self._max)
        _positive(sample_every, "sample_every", 0xFFFFFFFF)
        self._capture, self._every, self._include_empty = capture_bytes, sample_every, include_empty

    def inspect(self, packet: PacketHeader, payload: bytes = b"") -> CapturedPayload | None:
        count = self._counters
        count["seen"] += 1
        if packet.protocol not in _INSPECTED:
            count["no_l4"] += 1
            return None
        override = self._lookup(packet)
        if override is None:
            count["not_matched"] += 1
            return None
        count["matched"] += 1
        if not payload and not self._include_empty:
            count["empty"] += 1
            return None
        every = override.sample_every or self._every
        if every > 1 and self._flow_hash(packet) % every:
            count["sampled_out"] += 1
            return None
        count["inspected"] += 1
        return CapturedPayload(payload[: override.capture_bytes or self._capture], len(payload))

    def _lookup(self, packet: PacketHeader) -> PrefilterOverride | None:
        protocol = int(packet.protocol)
        candidates = [0]
        if packet.protocol in _PORTED:
            candidates += [packet.dst_port or 0, packet.src_port or 0]
        for port in candidates:
            if (protocol, port) in self._table:
                return self._table[(protocol, port)]
        return None

    @staticmethod
    def _flow_hash(packet: PacketHeader) -> int:
        ends = sorted([(int(packet.src), packet.src_port or 0), (int(packet.dst), packet.dst_port or 0)])
        return zlib.crc32(repr((int(packet.protocol), ends)).encode())

    def counters(self) -> dict[str, int]:
        return {name: self._counters[name] for name in _COUNTERS}
