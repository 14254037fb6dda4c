"""BpfRateLimitMap: the RateLimitMap port on the xdp_ratelimit program's maps.

Atomic updates, as the firewall's: ``rl_policies`` and the source tries hold two generations of
the policy set. ``apply`` writes the complete new set into the idle generation, then flips
``rl_switch`` (one aligned word) which the program reads once per packet, so a packet is judged
by the old or the new set, never a mixture (a prefix of one with a policy of the other). Before a
generation is overwritten again we wait a grace period, so packets still using it finish first.

What a reload keeps: the per-source buckets (``rl_buckets``, keyed by source address only), so a
source whose policy is unchanged keeps its tokens/window/level; a source whose policy changes
keeps its state under the new parameters, unless the algorithm changes (fresh bucket, first
packet passes — as on first sight). ``rl_policy_hits`` counts per generation and starts from zero
in the generation being written.
"""

import ipaddress
import struct
import time

from sentinel_adapters.ebpf import codec
from sentinel_adapters.ebpf.firewall_compiler import fw_lpm_key
from sentinel_adapters.ebpf.frames import build_frame
from sentinel_adapters.ebpf.loader import BpfObject
from sentinel_adapters.ebpf.prog_run import prog_test_run
from sentinel_domain.common import IpAddress, PacketHeader, Protocol
from sentinel_domain.ratelimit import RateDecision, RateLimitPolicy, RateLimitPolicySet
from sentinel_ports.ratelimit_map import RateLimitMap

PROGRAM = "xdp_ratelimit"
MAX_POLICIES = 10241  # SENTINEL_RL_MAX_POLICIES: per generation, index 0 = the default policy
GRACE_SECONDS = 0.01  # >> the time one packet spends in the program (microseconds)
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
        self._active = 0
        self._flipped_at = 0.0
        self._lpm_keys: dict[tuple[str, int], set[bytes]] = {}
        self._written = [0, 0]  # policy entries written per generation (their hits get reset)
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

    @property
    def generation(self) -> int:
        """The generation packets are judged by now."""
        return self._active

    def apply(self, policies: RateLimitPolicySet) -> None:
        """Install ``policies`` atomically (see the module docstring)."""
        rules = [r for r in policies.rules if r.enabled and r.src is not None]
        ordered = [policies.default, *rules]
        if len(ordered) > MAX_POLICIES:
            raise ValueError(f"too many rate-limit policies: {len(ordered) - 1} (maximum {MAX_POLICIES - 1})")
        target = 1 - self._active
        wait = self._flipped_at + GRACE_SECONDS - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        base = target * MAX_POLICIES
        m = self._obj.map
        m("rl_policies").update_batch(
            [_U32.pack(base + i) for i in range(len(ordered))],
            [encode_policy(p, i) for i, p in enumerate(ordered)],
        )
        hits = m("rl_policy_hits")
        stale_hits = max(self._written[target], len(ordered))
        hits.update_array(bytes(hits.stored_value_size * stale_hits), start=base)
        self._written[target] = len(ordered)
        wanted: dict[str, dict[bytes, bytes]] = {"rl_src_v4": {}, "rl_src_v6": {}}
        for index, rule in enumerate(rules, start=1):
            assert rule.src is not None
            family = "rl_src_v4" if rule.src.version == 4 else "rl_src_v6"
            wanted[family][fw_lpm_key(rule.src, target)] = _U32.pack(index)
        for name, entries in wanted.items():
            for key, value in entries.items():
                m(name).update(key, value)
            for stale in self._lpm_keys.get((name, target), set()) - entries.keys():
                m(name).delete(stale)
            self._lpm_keys[(name, target)] = set(entries)
        m("rl_switch").update(_U32.pack(0), struct.pack("<II", target, 0))
        self._active = target
        self._flipped_at = time.monotonic()
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
