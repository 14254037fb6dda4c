"""Errors of the domain-reputation engine."""

from sentinel_domain.common.errors import ValidationError


class ReputationConfigError(ValidationError):
    """A reputation setting (weights, thresholds, capacity, half-life) is out of range."""
