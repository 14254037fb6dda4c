"""The reference rate limiter: policy selection and the per-packet decision (contract §6.2, §7.2).

This is the model the kernel program is proven equal to, packet by packet, with the same
timestamps (int nanoseconds of one monotonic clock, ``bpf_ktime_get_coarse_ns`` in the kernel).

Semantics:
- the policy for a source is the enabled rule whose ``src`` CIDR is the longest prefix containing
  the address (never across families), else the default policy;
- buckets are per source *address* (not per policy): a source keeps its bucket when its policy's
  parameters change, and gets a fresh one when the algorithm changes (kernel: the bucket records
  its algorithm). IPv6 sources are keyed by their full 128-bit address;
- a missing bucket (first packet, or evicted) or a changed algorithm ⇒ a fresh bucket and PASS;
- then the algorithm's step (see ``_buckets``) decides;
- an over-limit packet is *dropped* when the policy's action is ``drop``; with ``pass`` it is
  let through and only reported (the documented meaning of ``action: pass``; upstream's kernel
  always drops, contract §12.8).

Bounds proven for monotonic timestamps, T = last timestamp - first timestamp of one source, with
one unchanged policy (tested in ``tests/unit/domain/test_ratelimit_properties.py``):
- token bucket: passed <= burst + T // ns_per_token, ns_per_token = 1e9 // rate. The first packet
  takes one of the ``burst`` tokens, so the fresh-bucket rule adds nothing;
- fixed window and sliding window: passed <= rate * (T // 1e9 + 1) (a window may pass ``rate``
  right before its end and the next ``rate`` right after: a burst of 2 * rate is possible);
- leaky bucket: passed <= burst + rate * T // 1e9 + (T // 10 s) * max(0, burst - 10 * rate); the
  last term is the contract's 10 s reset, which empties a bucket larger than 10 s of drain.
"""

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sentinel_domain.common.addresses import IpAddress, IpNetwork
from sentinel_domain.ratelimit import _buckets as bk
from sentinel_domain.ratelimit.entity import (
    DEFAULT_BURST,
    DEFAULT_RATE,
    MAX_BURST,
    MAX_RATE,
    MAX_RULES,
    Algorithm,
    RateLimitAction,
    RateLimitPolicy,
    _positive_int,
    default_policy,
    parse_algorithm,
)
from sentinel_domain.ratelimit.errors import RateLimitError

DEFAULT_MAX_BUCKETS = 262_144  # the kernel's RL_BUCKETS size


@dataclass(slots=True)
class RateLimiterState:
    """Per-source buckets, owned by the caller. Least-recently-used sources are evicted beyond
    ``max_buckets`` (the kernel's LRU map does the same, approximately); an evicted source starts
    afresh on its next packet."""

    max_buckets: int = DEFAULT_MAX_BUCKETS
    buckets: "OrderedDict[IpAddress, tuple[Algorithm, bk.Bucket]]" = field(default_factory=OrderedDict)

    def __len__(self) -> int:
        return len(self.buckets)

    def forget(self, src: IpAddress) -> None:
        """Drop the bucket of one source (next packet starts afresh)."""
        self.buckets.pop(src, None)

    def clear(self) -> None:
        self.buckets.clear()


@dataclass(frozen=True, slots=True)
class RateDecision:
    """``passed``: the packet was within the limit. ``dropped``: over the limit under a drop policy."""

    passed: bool
    policy_id: str
    action: RateLimitAction = RateLimitAction.DROP

    @property
    def dropped(self) -> bool:
        return not self.passed and self.action is RateLimitAction.DROP


def _fresh(policy: RateLimitPolicy, now_ns: int) -> bk.Bucket:
    algo = policy.algorithm
    if algo is Algorithm.TOKEN_BUCKET:
        return bk.fresh_token_bucket(policy.burst, now_ns)
    if algo is Algorithm.FIXED_WINDOW:
        return bk.fresh_fixed_window(now_ns)
    if algo is Algorithm.SLIDING_WINDOW:
        return bk.fresh_sliding_window(now_ns)
    return bk.fresh_leaky_bucket(now_ns)


def decide(state: RateLimiterState, policy: RateLimitPolicy, src: IpAddress, now_ns: int) -> RateDecision:
    """Account one packet from ``src`` at ``now_ns`` under ``policy`` and say whether it passed.

    Mutates ``state`` exactly as the kernel mutates its bucket map (see the module docstring).
    """
    entry = state.buckets.get(src)
    if entry is None or entry[0] is not policy.algorithm:
        state.buckets[src] = (policy.algorithm, _fresh(policy, now_ns))
        state.buckets.move_to_end(src)
        while len(state.buckets) > state.max_buckets:
            state.buckets.popitem(last=False)
        return RateDecision(True, policy.id, policy.action)
    state.buckets.move_to_end(src)
    bucket = entry[1]
    if isinstance(bucket, bk.TokenBucket):
        passed = bk.step_token_bucket(bucket, policy.ns_per_token, policy.burst, now_ns)
    elif isinstance(bucket, bk.FixedWindow):
        passed = bk.step_fixed_window(bucket, policy.rate, now_ns)
    elif isinstance(bucket, bk.SlidingWindow):
        passed = bk.step_sliding_window(bucket, policy.rate, now_ns)
    else:
        passed = bk.step_leaky_bucket(bucket, policy.rate, policy.burst, now_ns)
    return RateDecision(passed, policy.id, policy.action)


@dataclass(frozen=True, slots=True)
class RateLimitPolicySet:
    """The default policy plus the rules, validated, with longest-prefix selection."""

    default: RateLimitPolicy = field(default_factory=default_policy)
    rules: tuple[RateLimitPolicy, ...] = ()
    # (version, prefixlen) -> {network int: policy}, longest prefixes first; built in __post_init__
    _index: tuple[tuple[int, int, dict[int, RateLimitPolicy]], ...] = field(
        default=(), init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        validate_rules(self.rules)
        if self.default.src is not None:
            raise RateLimitError("the default policy must not name a source", "default")
        tables: dict[tuple[int, int], dict[int, RateLimitPolicy]] = {}
        for rule in self.rules:
            if rule.enabled and rule.src is not None:
                key = (rule.src.version, rule.src.prefixlen)
                tables.setdefault(key, {})[int(rule.src.network_address)] = rule
        ordered = sorted(tables.items(), key=lambda kv: -kv[0][1])
        object.__setattr__(self, "_index", tuple((v, p, t) for (v, p), t in ordered))

    def select(self, src: IpAddress) -> RateLimitPolicy:
        """The enabled rule with the longest prefix containing ``src``, else the default policy.

        Disabled rules are ignored as if absent (a shorter matching prefix or the default applies).
        """
        value = int(src)
        bits = 32 if src.version == 4 else 128
        for version, plen, table in self._index:
            if version != src.version:
                continue
            net = value >> (bits - plen) << (bits - plen) if plen else 0
            hit = table.get(net)
            if hit is not None:
                return hit
        return self.default

    def rule(self, rule_id: str) -> RateLimitPolicy | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> "RateLimitPolicySet":
        """Build from the ``ratelimit`` section: ``default_rate`` (1000), ``default_burst`` (2000),
        ``default_algorithm`` (token_bucket), ``rules``. Other keys (``enabled``, ``country_tiers``)
        are the caller's."""
        rate = data.get("default_rate", DEFAULT_RATE)
        burst = data.get("default_burst", DEFAULT_BURST)
        algorithm = parse_algorithm(data.get("default_algorithm", "token_bucket"), "default_algorithm")
        default = default_policy(
            _positive_int(rate, "default_rate", MAX_RATE, "ratelimit"),
            _positive_int(burst, "default_burst", MAX_BURST, "ratelimit"),
            algorithm,
        )
        raw_rules = data.get("rules") or []
        if not isinstance(raw_rules, Sequence) or isinstance(raw_rules, str | bytes):
            raise RateLimitError("rules must be a list", "rules")
        if len(raw_rules) > MAX_RULES:
            count = len(raw_rules)
            raise RateLimitError(f"too many rate-limit rules: {count} (maximum {MAX_RULES})", "rules")
        rules: list[RateLimitPolicy] = []
        for i, raw in enumerate(raw_rules):
            if not isinstance(raw, Mapping):
                raise RateLimitError(f"rule {i} must be a mapping", f"rules[{i}]")
            try:
                rules.append(RateLimitPolicy.from_dict(raw))
            except RateLimitError as exc:
                raise RateLimitError(exc.args[0], f"rules[{i}].{exc.field or ''}".rstrip(".")) from None
        return cls(default, tuple(rules))


def validate_rules(rules: Sequence[RateLimitPolicy]) -> None:
    """At most 10,000 rules, unique ids, unique source CIDRs, and every rule names a source."""
    if len(rules) > MAX_RULES:
        raise RateLimitError(f"too many rate-limit rules: {len(rules)} (maximum {MAX_RULES})", "rules")
    ids: set[str] = set()
    sources: dict[IpNetwork, str] = {}
    for i, rule in enumerate(rules):
        if rule.id in ids:
            raise RateLimitError(f"duplicate rate-limit rule id '{rule.id}'", f"rules[{i}].id")
        ids.add(rule.id)
        if rule.src is None:
            raise RateLimitError(f"rule '{rule.id}': src_ip is required", f"rules[{i}].src_ip")
        if rule.src in sources:
            raise RateLimitError(
                f"rule '{rule.id}': src_ip '{rule.src}' already used by rule '{sources[rule.src]}'",
                f"rules[{i}].src_ip",
            )
        sources[rule.src] = rule.id


@dataclass(frozen=True, slots=True)
class RateLimiter:
    """Convenience: select the policy for a source, then :func:`decide`."""

    policies: RateLimitPolicySet = field(default_factory=RateLimitPolicySet)

    def check(self, state: RateLimiterState, src: IpAddress, now_ns: int) -> RateDecision:
        return decide(state, self.policies.select(src), src, now_ns)
