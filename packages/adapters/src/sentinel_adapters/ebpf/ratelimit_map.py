"""BpfRateLimitMap: the RateLimitMap port on the xdp_ratelimit program's maps."""

import ipaddress
import struct

from sentinel_adapters.ebpf import codec
from sentinel_adapters.ebpf.firewall_compiler import lpm_key
from sentinel_adapters.ebpf.frames import build_frame
from sentinel_adapters.ebpf.loader import BpfObject
from sentinel_adapters.ebpf.prog_run import prog_test_run
from sentinel_domain.common import IpAddress, PacketHeader, Protocol
from sentinel_domain.ratelimit import RateDecision, RateLimitPolicy, RateLimitPolicySet
from sentinel_ports.ratelimit_map import RateLimitMap

PROGRAM = "xdp_ratelimit"
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_POLICY = struct.Struct("<QQQIBBBx")  # struct sentinel_rl_policy
POLICY_FIELDS: dict[str, tuple[int, str]] = {
    "ns_per_token": (0, "Q"),
    "rate": (8, "Q"),
    "burst": (16, "Q"),
    "index": (24, "I"),
    "algorithm": (28, "B"),
    "action": (29, "B"),
    "enabled": (30, "B"),
    "_pad": (31, "B"),
}
RL_COUNTERS = (
    "passed",
    "throttled",
    "errors",
    "events_dropped",
    "seen",
    "events_emitted",
    "events_skipped",
    "reserve_failed",
    "flagged",
)
_TARGET_V4 = ipaddress.ip_address("198.18.255.254")
_TARGET_V6 = ipaddress.ip_address("2001:db8:ffff::fffe")


def encode_policy(policy: RateLimitPolicy, index: int) -> bytes:
    return _POLICY.pack(
        policy.ns_per_token, policy.rate, policy.burst, index, int(policy.algorithm), int(policy.action), 1
    )


class BpfRateLimitMap(RateLimitMap):
    """Writes policy sets into a loaded ``xdp_ratelimit`` object (index 0 = the default policy)."""

    def __init__(self, obj: BpfObject) -> None:
        self._obj = obj
        self._owns_object = False
        self._policies = RateLimitPolicySet()
        self._lpm_keys: dict[str, set[bytes]] = {"rl_src_v4": set(), "rl_src_v6": set()}
        self._ids: list[str] = []
        bss = [name for name in obj.map_names() if name.endswith(".bss")]
        self._clock = obj.map(bss[0]) if bss else None
        self.apply(self._policies)

    @classmethod
    def standalone(cls) -> "BpfRateLimitMap":
        """Load a private copy of the program (nothing attached); ``close`` releases it."""
        instance = cls(BpfObject.load_bundled(PROGRAM))
        instance._owns_object = True
        return instance

    def close(self) -> None:
        if self._owns_object:
            self._obj.close()

    @property
    def prog_fd(self) -> int:
        return self._obj.program_fd(PROGRAM)

    def apply(self, policies: RateLimitPolicySet) -> None:
        rules = [r for r in policies.rules if r.enabled and r.src is not None]
        ordered = [policies.default, *rules]
        m = self._obj.map("rl_policies")
        m.update_batch(
            [_U32.pack(i) for i in range(len(ordered))], [encode_policy(p, i) for i, p in enumerate(ordered)]
        )
        wanted: dict[str, dict[bytes, bytes]] = {"rl_src_v4": {}, "rl_src_v6": {}}
        for index, rule in enumerate(rules, start=1):
            assert rule.src is not None
            wanted["rl_src_v4" if rule.src.version == 4 else "rl_src_v6"][lpm_key(rule.src)] = _U32.pack(
                index
            )
        for name, entries in wanted.items():
            for key, value in entries.items():
                self._obj.map(name).update(key, value)
            for stale in self._lpm_keys[name] - entries.keys():
                self._obj.map(name).delete(stale)
            self._lpm_keys[name] = set(entries)
        self._ids = [p.id for p in ordered]
        self._policies = policies

    def policy_id(self, index: int) -> str:
        return self._ids[index] if index < len(self._ids) else f"policy-{index}"

    def set_test_clock(self, now_ns: int) -> None:
        """Drive the program's clock (0 = back to bpf_ktime_get_ns); for tests and replays."""
        if self._clock is None:
            raise RuntimeError("this object has no test clock")
        self._clock.update(_U32.pack(0), _U64.pack(now_ns))

    def decide(self, src: IpAddress, now_ns: int) -> RateDecision:
        """Run one packet from ``src`` through the real program with the clock set to ``now_ns``."""
        self.set_test_clock(now_ns)
        dst = _TARGET_V4 if src.version == 4 else _TARGET_V6
        before = self._counter(1)
        prog_test_run(self.prog_fd, build_frame(PacketHeader(src, dst, Protocol.UDP, 1024, 53)))
        within = self._counter(1) == before
        policy = self._policies.select(src)
        return RateDecision(within, policy.id, policy.action)

    def _counter(self, slot: int) -> int:
        return codec.sum_per_cpu_u64(self._obj.map("rl_metrics").per_cpu_values(_U32.pack(slot)))

    def counters(self) -> dict[str, int]:
        return {name: self._counter(slot) for slot, name in enumerate(RL_COUNTERS)}
