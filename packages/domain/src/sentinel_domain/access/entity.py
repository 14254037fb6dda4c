"""Principal and Role value objects."""

import enum
from dataclasses import dataclass


class Role(enum.Enum):
    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"


def parse_role(value: object) -> Role:
    """A claim's role; missing or unknown means viewer (contract §9)."""
    if isinstance(value, str):
        try:
            return Role(value.strip().lower())
        except ValueError:
            return Role.VIEWER
    return Role.VIEWER


@dataclass(frozen=True, slots=True)
class Principal:
    """A verified caller: ``subject`` (key name or JWT ``sub``), its role and namespaces."""

    subject: str
    role: Role = Role.VIEWER
    namespaces: frozenset[str] = frozenset()
