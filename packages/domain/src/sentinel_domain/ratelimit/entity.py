"""Rate-limit policies (contract §1.3, §7.2; deviation 7: any IPv4/IPv6 CIDR as source).

A policy says how many packets per second one *source address* may send and how bursty it may be.
Every source address gets its own bucket; the policy only chooses the parameters.
"""

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from sentinel_domain.common.addresses import IpNetwork, parse_cidr
from sentinel_domain.common.packet import PacketHeader
from sentinel_domain.ratelimit.errors import RateLimitError

MAX_RULES = 10_000
# rate <= 1e9 keeps ns_per_token = 1e9 // rate >= 1 (0 would mean "disabled" in the kernel) and
# keeps the leaky bucket's `elapsed * rate` (elapsed < 10 s) below 1e19 < 2**64: no u64 overflow.
MAX_RATE = 1_000_000_000
# burst < 2**32 keeps `tokens + new` and the window counters far from u64/u32 overflow.
MAX_BURST = 0xFFFF_FFFF
DEFAULT_RATE = 1000
DEFAULT_BURST = 2000
DEFAULT_POLICY_ID = "default"


class Algorithm(enum.IntEnum):
    """The four algorithms, valued with the kernel's codes (contract §6.2)."""

    TOKEN_BUCKET = 0
    FIXED_WINDOW = 1
    SLIDING_WINDOW = 2
    LEAKY_BUCKET = 3

    @property
    def label(self) -> str:
        return self.name.lower()


_ALGORITHMS = {
    "token_bucket": Algorithm.TOKEN_BUCKET,
    "tokenbucket": Algorithm.TOKEN_BUCKET,
    "fixed_window": Algorithm.FIXED_WINDOW,
    "fixedwindow": Algorithm.FIXED_WINDOW,
    "sliding_window": Algorithm.SLIDING_WINDOW,
    "slidingwindow": Algorithm.SLIDING_WINDOW,
    "leaky_bucket": Algorithm.LEAKY_BUCKET,
    "leakybucket": Algorithm.LEAKY_BUCKET,
}


def parse_algorithm(value: object, field: str = "algorithm") -> Algorithm:
    """Parse an algorithm name or alias (case-insensitive); ``syn_cookie`` is not accepted."""
    if isinstance(value, Algorithm):
        return value
    if isinstance(value, str) and value.strip().lower() in _ALGORITHMS:
        return _ALGORITHMS[value.strip().lower()]
    raise RateLimitError(
        f"invalid value '{value}' for field '{field}': expected one of {', '.join(_ALGORITHMS)}", field
    )


class RateLimitAction(enum.IntEnum):
    """What happens to an over-limit packet; valued with the kernel's codes (0 pass, 1 drop)."""

    PASS = 0
    DROP = 1

    @property
    def label(self) -> str:
        return self.name.lower()


_ACTIONS = {
    "drop": RateLimitAction.DROP,
    "deny": RateLimitAction.DROP,
    "block": RateLimitAction.DROP,
    "pass": RateLimitAction.PASS,
    "allow": RateLimitAction.PASS,
}


def parse_action(value: object) -> RateLimitAction:
    """``drop|deny|block`` → drop, ``pass|allow`` → pass (case-insensitive)."""
    if isinstance(value, RateLimitAction):
        return value
    if isinstance(value, str) and value.strip().lower() in _ACTIONS:
        return _ACTIONS[value.strip().lower()]
    raise RateLimitError(
        f"invalid value '{value}' for field 'action': expected one of {', '.join(_ACTIONS)}", "action"
    )


@dataclass(frozen=True, slots=True)
class KernelRateConfig:
    """The kernel's ``RateLimitConfig`` fields for a policy (contract §6.2).

    token bucket: ``ns_per_token = 1e9 // rate``, ``burst = burst``; fixed and sliding window:
    ``ns_per_token = rate`` (packets per 1 s window), ``burst = 0``; leaky bucket:
    ``ns_per_token = rate`` (drain packets/s), ``burst = capacity``.
    """

    ns_per_token: int
    burst: int
    action: int
    algorithm: int


def _positive_int(value: object, field: str, limit: int, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RateLimitError(f"{owner}: {field} must be an integer, got '{value}'", field)
    if not 1 <= value <= limit:
        raise RateLimitError(f"{owner}: {field} {value} out of range 1-{limit}", field)
    return value


@dataclass(frozen=True, slots=True)
class RateLimitPolicy:
    """One policy. ``src`` None = the default policy (every source no rule names).

    ``rate`` is packets per second (1-1e9); ``burst`` (1-2**32-1) is the token-bucket depth and the
    leaky-bucket capacity, unused by the window algorithms (their limit is ``rate`` per second).
    """

    id: str
    rate: int
    burst: int
    src: IpNetwork | None = None
    action: RateLimitAction = RateLimitAction.DROP
    algorithm: Algorithm = Algorithm.TOKEN_BUCKET
    enabled: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise RateLimitError("rate-limit rule id is required and must be a non-empty string", "id")
        _positive_int(self.rate, "rate", MAX_RATE, f"rule '{self.id}'")
        _positive_int(self.burst, "burst", MAX_BURST, f"rule '{self.id}'")

    @property
    def ns_per_token(self) -> int:
        """Nanoseconds per token of the token bucket: ``1_000_000_000 // rate`` (>= 1)."""
        return 1_000_000_000 // self.rate

    def kernel_config(self) -> KernelRateConfig:
        """The fields the kernel map holds for this policy (see :class:`KernelRateConfig`)."""
        if self.algorithm is Algorithm.TOKEN_BUCKET:
            npt, burst = self.ns_per_token, self.burst
        elif self.algorithm is Algorithm.LEAKY_BUCKET:
            npt, burst = self.rate, self.burst
        else:
            npt, burst = self.rate, 0
        return KernelRateConfig(npt, burst, int(self.action), int(self.algorithm))

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> "RateLimitPolicy":
        """Build a rule from the contract's mapping (``id, rate, burst, src_ip, action, algorithm,
        enabled``; ``src`` is accepted as an alias of ``src_ip``). Unknown keys are ignored like every
        nested config key (``interfaces``, ``tenant_id``)."""
        rule_id = data.get("id")
        if not isinstance(rule_id, str) or not rule_id.strip():
            raise RateLimitError("rate-limit rule id is required and must be a non-empty string", "id")
        for key in ("rate", "burst"):
            if key not in data:
                raise RateLimitError(f"rule '{rule_id}': {key} is required", key)
        src_value = data.get("src_ip", data.get("src"))
        if src_value is None:
            raise RateLimitError(f"rule '{rule_id}': src_ip is required", "src_ip")
        if not isinstance(src_value, str):
            raise RateLimitError(f"invalid CIDR notation '{src_value}': expected a string", "src_ip")
        try:
            src = parse_cidr(src_value)
        except ValueError as exc:
            raise RateLimitError(f"rule '{rule_id}': {exc}", "src_ip") from None
        enabled = data.get("enabled", True)
        if not isinstance(enabled, bool):
            raise RateLimitError(f"rule '{rule_id}': enabled must be true or false", "enabled")
        return cls(
            id=rule_id,
            rate=_positive_int(data["rate"], "rate", MAX_RATE, f"rule '{rule_id}'"),
            burst=_positive_int(data["burst"], "burst", MAX_BURST, f"rule '{rule_id}'"),
            src=src,
            action=parse_action(data.get("action", "drop")),
            algorithm=parse_algorithm(data.get("algorithm", "token_bucket")),
            enabled=enabled,
        )

    def to_dict(self) -> dict[str, object]:
        """The mapping form (canonical names), inverse of :meth:`from_dict`."""
        out: dict[str, object] = {
            "id": self.id,
            "rate": self.rate,
            "burst": self.burst,
            "action": self.action.label,
            "algorithm": self.algorithm.label,
            "enabled": self.enabled,
        }
        if self.src is not None:
            out["src_ip"] = str(self.src)
        return out


def default_policy(
    rate: int = DEFAULT_RATE, burst: int = DEFAULT_BURST, algorithm: Algorithm = Algorithm.TOKEN_BUCKET
) -> RateLimitPolicy:
    """The policy for sources that no rule names (id ``default``, action drop)."""
    return RateLimitPolicy(DEFAULT_POLICY_ID, rate, burst, None, RateLimitAction.DROP, algorithm)


@dataclass(frozen=True, slots=True)
class RateLimitEvent:
    """The datapath reports a packet over its source's limit.

    ``policy_index`` is the policy's position in the installed set (0 = the default policy);
    ``dropped`` is False when the policy's action is ``pass`` (the packet was only flagged).
    ``timestamp_ns`` is Unix epoch nanoseconds.
    """

    timestamp_ns: int
    packet: PacketHeader
    policy_index: int
    dropped: bool
