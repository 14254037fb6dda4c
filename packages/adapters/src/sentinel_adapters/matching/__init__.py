"""Pattern matching adapters: the production PatternMatcher (hyperscan)."""

from sentinel_adapters.matching.hyperscan_matcher import HyperscanCompiled, HyperscanMatcher, HyperscanStream

__all__ = ["HyperscanCompiled", "HyperscanMatcher", "HyperscanStream"]
