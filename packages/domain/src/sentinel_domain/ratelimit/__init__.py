"""Rate limiter: policies, longest-prefix policy selection and the kernel-exact bucket model."""

from sentinel_domain.ratelimit.engine import (
    DEFAULT_MAX_BUCKETS,
    RateDecision,
    RateLimiter,
    RateLimiterState,
    RateLimitPolicySet,
    decide,
    validate_rules,
)
from sentinel_domain.ratelimit.entity import (
    DEFAULT_POLICY_ID,
    MAX_BURST,
    MAX_RATE,
    MAX_RULES,
    Algorithm,
    KernelRateConfig,
    RateLimitAction,
    RateLimitEvent,
    RateLimitPolicy,
    default_policy,
    parse_action,
    parse_algorithm,
)
from sentinel_domain.ratelimit.errors import RateLimitError

__all__ = [
    "DEFAULT_MAX_BUCKETS",
    "DEFAULT_POLICY_ID",
    "MAX_BURST",
    "MAX_RATE",
    "MAX_RULES",
    "Algorithm",
    "KernelRateConfig",
    "RateDecision",
    "RateLimitAction",
    "RateLimitError",
    "RateLimitEvent",
    "RateLimitPolicy",
    "RateLimitPolicySet",
    "RateLimiter",
    "RateLimiterState",
    "decide",
    "default_policy",
    "parse_action",
    "parse_algorithm",
    "validate_rules",
]
