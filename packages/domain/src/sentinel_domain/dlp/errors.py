"""Errors of the DLP engine."""

from sentinel_domain.common.errors import ValidationError


class DlpConfigError(ValidationError):
    """A DLP setting or custom pattern is invalid; ``field`` names it (``dlp.patterns[2].regex``)."""
