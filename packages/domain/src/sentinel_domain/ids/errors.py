"""Errors of the IDS engine."""

from sentinel_domain.common.errors import ValidationError


class IdsRuleError(ValidationError):
    """A YAML IDS/IPS rule, a rule set, or the engine's pattern database is invalid."""


class SignatureError(IdsRuleError):
    """One Suricata/Snort rule cannot be loaded; the loader turns it into a skip report entry."""
