"""In-memory and reference implementations of the ports, for tests (never for production)."""

from sentinel_testkit.fakes.reference_matcher import ReferenceMatcher

__all__ = ["ReferenceMatcher"]
