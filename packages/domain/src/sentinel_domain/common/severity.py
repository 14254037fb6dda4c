"""Alert severity, ordered low < medium < high < critical (contract)."""

import enum

from sentinel_domain.common.errors import ValidationError


class Severity(enum.IntEnum):
    LOW = 0
    MEDIUM = 1
    HIGH = 2
    CRITICAL = 3

    @property
    def label(self) -> str:
        return self.name.lower()


_ALIASES = {
    "low": Severity.LOW,
    "info": Severity.LOW,
    "medium": Severity.MEDIUM,
    "warning": Severity.MEDIUM,
    "high": Severity.HIGH,
    "critical": Severity.CRITICAL,
    "crit": Severity.CRITICAL,
}


def parse_severity(value: object) -> Severity:
    """Parse a severity name or alias (case-insensitive)."""
    if isinstance(value, Severity):
        return value
    if isinstance(value, str) and value.strip().lower() in _ALIASES:
        return _ALIASES[value.strip().lower()]
    allowed = ", ".join(_ALIASES)
    raise ValidationError(f"invalid value '{value}' for field 'severity': expected one of {allowed}")
