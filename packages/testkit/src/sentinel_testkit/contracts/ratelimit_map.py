"""What every RateLimitMap must do, checked only through the port (subclass once per implementation)."""

import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest

from sentinel_domain.ratelimit import RateLimitPolicySet
from sentinel_ports.ratelimit_map import RateLimitMap

A = ipaddress.ip_address
SEC = 1_000_000_000
T0 = 1_000 * SEC


def policies(
    rate: int = 2, burst: int = 3, algorithm: str = "token_bucket", rules: Any = ()
) -> RateLimitPolicySet:
    return RateLimitPolicySet.from_dict(
        {"default_rate": rate, "default_burst": burst, "default_algorithm": algorithm, "rules": list(rules)}
    )


class RateLimitMapContract:
    @staticmethod
    def make_ratelimit_map() -> RateLimitMap:
        raise NotImplementedError

    @pytest.fixture
    def rl(self) -> Iterator[RateLimitMap]:
        subject = self.make_ratelimit_map()
        yield subject
        getattr(subject, "close", lambda: None)()

    def run(self, rl: RateLimitMap, src: str, times: list[int]) -> list[bool]:
        return [rl.decide(A(src), t).passed for t in times]

    def test_token_bucket_allows_the_burst_then_refills_at_the_rate(self, rl: RateLimitMap) -> None:
        rl.apply(policies(rate=2, burst=3))
        assert self.run(rl, "198.18.0.9", [T0 + i for i in range(5)]) == [True, True, True, False, False]
        # 2 tokens per second: after half a second exactly one more packet passes.
        assert self.run(rl, "198.18.0.9", [T0 + SEC // 2, T0 + SEC // 2 + 1]) == [True, False]

    def test_sources_have_their_own_buckets(self, rl: RateLimitMap) -> None:
        rl.apply(policies(rate=1, burst=1))
        assert self.run(rl, "198.18.0.1", [T0, T0 + 1]) == [True, False]
        assert self.run(rl, "198.18.0.2", [T0 + 2]) == [True]
        assert self.run(rl, "2001:db8::2", [T0 + 3, T0 + 4]) == [True, False]

    def test_fixed_window_resets_each_second(self, rl: RateLimitMap) -> None:
        rl.apply(policies(rate=3, algorithm="fixed_window"))
        assert self.run(rl, "198.18.0.1", [T0 + i for i in range(5)]) == [True, True, True, False, False]
        assert self.run(rl, "198.18.0.1", [T0 + SEC, T0 + SEC + 1]) == [True, True]

    def test_sliding_window_forgets_slots_older_than_a_second(self, rl: RateLimitMap) -> None:
        rl.apply(policies(rate=2, algorithm="sliding_window"))
        assert self.run(rl, "198.18.0.1", [T0, T0 + 1, T0 + 2]) == [True, True, False]
        assert self.run(rl, "198.18.0.1", [T0 + SEC // 2]) == [False]
        assert self.run(rl, "198.18.0.1", [T0 + SEC + SEC // 8]) == [True]

    def test_leaky_bucket_drains_at_the_rate(self, rl: RateLimitMap) -> None:
        rl.apply(policies(rate=4, burst=2, algorithm="leaky_bucket"))
        assert self.run(rl, "198.18.0.1", [T0, T0 + 1, T0 + 2]) == [True, True, False]
        assert self.run(rl, "198.18.0.1", [T0 + SEC // 4 + 2, T0 + SEC // 4 + 3]) == [True, False]

    def test_longest_prefix_policy_wins_v4_and_v6(self, rl: RateLimitMap) -> None:
        rl.apply(
            policies(
                rate=1000,
                burst=1000,
                rules=[
                    {"id": "net", "rate": 1, "burst": 1, "src_ip": "198.18.0.0/16"},
                    {"id": "host", "rate": 1, "burst": 2, "src_ip": "198.18.5.5/32"},
                    {"id": "v6", "rate": 1, "burst": 1, "src_ip": "2001:db8:7::/48"},
                ],
            )
        )
        assert self.run(rl, "198.18.1.1", [T0, T0 + 1]) == [True, False]
        assert self.run(rl, "198.18.5.5", [T0, T0 + 1, T0 + 2]) == [True, True, False]
        assert self.run(rl, "2001:db8:7::1", [T0, T0 + 1]) == [True, False]
        assert all(self.run(rl, "203.0.113.7", [T0 + i for i in range(20)]))
        assert rl.decide(A("198.18.5.5"), T0 + 3).policy_id == "host"

    def test_pass_action_reports_without_dropping(self, rl: RateLimitMap) -> None:
        rl.apply(
            policies(
                rules=[{"id": "soft", "rate": 1, "burst": 1, "src_ip": "198.18.9.0/24", "action": "pass"}]
            )
        )
        rl.decide(A("198.18.9.1"), T0)
        over = rl.decide(A("198.18.9.1"), T0 + 1)
        assert (over.passed, over.dropped, over.policy_id) == (False, False, "soft")

    def test_algorithm_change_starts_a_fresh_bucket(self, rl: RateLimitMap) -> None:
        rl.apply(policies(rate=1, burst=1))
        assert self.run(rl, "198.18.0.1", [T0, T0 + 1]) == [True, False]
        rl.apply(policies(rate=1, burst=1, algorithm="fixed_window"))
        assert self.run(rl, "198.18.0.1", [T0 + 2]) == [True]

    def test_counters_add_up(self, rl: RateLimitMap) -> None:
        rl.apply(policies(rate=1, burst=2))
        before = rl.counters()
        self.run(rl, "198.18.0.1", [T0 + i for i in range(5)])
        after = rl.counters()
        delta = {k: after[k] - before[k] for k in ("seen", "passed", "throttled")}
        assert delta == {"seen": 5, "passed": 2, "throttled": 3}
