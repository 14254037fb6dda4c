"""An in-memory RateLimitMap driven by the domain's reference model."""

from collections import Counter

from sentinel_domain.common import IpAddress
from sentinel_domain.ratelimit import RateDecision, RateLimiterState, RateLimitPolicySet, decide
from sentinel_ports.ratelimit_map import RateLimitMap


class InMemoryRateLimitMap(RateLimitMap):
    def __init__(self) -> None:
        self._policies = RateLimitPolicySet()
        self._state = RateLimiterState()
        self._counters: Counter[str] = Counter()

    def apply(self, policies: RateLimitPolicySet) -> None:
        self._policies = policies

    def decide(self, src: IpAddress, now_ns: int) -> RateDecision:
        policy = self._policies.select(src)
        self._counters["seen"] += 1
        if not policy.enabled:
            self._counters["passed"] += 1
            return RateDecision(True, policy.id, policy.action)
        decision = decide(self._state, policy, src, now_ns)
        self._counters["passed" if decision.passed else "throttled"] += 1
        return decision

    def counters(self) -> dict[str, int]:
        return {key: self._counters[key] for key in ("seen", "passed", "throttled")}
