"""Errors of the firewall engine."""

from sentinel_domain.common.errors import ValidationError


class FirewallRuleError(ValidationError):
    """A firewall rule or rule set is invalid."""
