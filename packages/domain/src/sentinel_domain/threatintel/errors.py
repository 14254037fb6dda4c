"""Errors of the threat-intelligence engine."""

from sentinel_domain.common.errors import DomainError, ValidationError


class ThreatIntelError(DomainError):
    """Base of the threat-intel engine's errors."""


class ThreatIntelConfigError(ThreatIntelError, ValidationError):
    """A ``threatintel`` setting, feed definition or parse option is invalid."""


class FeedFormatError(ThreatIntelError):
    """The feed as a whole cannot be read in its declared format (not JSON, not a STIX bundle,
    a named column missing from the header, too large...). The refresh fails; the last good copy
    is kept by the caller."""


class FeedRejectedError(FeedFormatError):
    """Too many lines of the feed are junk: more than ``max_junk_fraction`` of the lines that are
    neither blank nor comments failed to parse. The refresh fails."""

    def __init__(self, message: str, error_count: int, considered: int, total_lines: int) -> None:
        super().__init__(message)
        self.error_count = error_count
        self.considered = considered
        self.total_lines = total_lines
