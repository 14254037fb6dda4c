"""Errors of the rate-limit engine."""

from sentinel_domain.common.errors import ValidationError


class RateLimitError(ValidationError):
    """A rate-limit policy or policy set is invalid; the message names the value and the allowed range."""
