"""Contract suites, one per port: subclass the suite once per implementation (fsspec tests/abstract style)."""

from sentinel_testkit.contracts.pattern_matcher import PatternMatcherContract

__all__ = ["PatternMatcherContract"]
