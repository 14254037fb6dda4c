"""RateLimitMap contract, run against the real xdp_ratelimit program and the in-memory model."""

from sentinel_adapters.ebpf.ratelimit_map import BpfRateLimitMap
from sentinel_testkit.contracts.ratelimit_map import RateLimitMapContract
from sentinel_testkit.fakes.ratelimit_map import InMemoryRateLimitMap


class TestInMemoryRateLimitMap(RateLimitMapContract):
    make_ratelimit_map = staticmethod(InMemoryRateLimitMap)


class TestBpfRateLimitMap(RateLimitMapContract):
    make_ratelimit_map = staticmethod(BpfRateLimitMap.standalone)
