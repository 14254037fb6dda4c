"""RateLimitMap: where per-source rate limits are enforced (the kernel, or a fake)."""

from abc import ABC, abstractmethod

from sentinel_domain.common import IpAddress
from sentinel_domain.ratelimit import RateDecision, RateLimitPolicySet


class RateLimitMap(ABC):
    @abstractmethod
    def apply(self, policies: RateLimitPolicySet) -> None:
        """Install ``policies``; sources keep their buckets unless their algorithm changes."""

    @abstractmethod
    def decide(self, src: IpAddress, now_ns: int) -> RateDecision:
        """Account one packet from ``src`` at ``now_ns`` (monotonic ns); say if it was within the limit."""

    @abstractmethod
    def counters(self) -> dict[str, int]:
        """Totals since load: at least ``seen``, ``passed`` and ``throttled``."""
