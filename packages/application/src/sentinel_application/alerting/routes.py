"""Routes: which destinations an alert goes to (contract §8.2 "route match", plus MITRE tactics).

A route matches when the alert's severity is at least ``min_severity``, its component is in
``components`` (None = any; exact, case-sensitive, as upstream) and its MITRE tactic is in
``tactics`` (None = any; an alert without MITRE data never matches a tactic filter).
A ``fallback`` route only takes alerts that no ordinary route took (then its own filters apply).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sentinel_domain.alert import Alert
from sentinel_domain.common import Severity

DESTINATIONS = ("log", "email", "webhook", "otlp")


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    destination: str  # one of DESTINATIONS
    min_severity: Severity = Severity.LOW
    components: frozenset[str] | None = None
    tactics: frozenset[str] | None = None
    fallback: bool = False

    def __post_init__(self) -> None:
        if not self.name or "\x00" in self.name:
            raise ValueError(f"route name {self.name!r} must be non-empty and contain no NUL")
        if self.destination not in DESTINATIONS:
            raise ValueError(f"route {self.name}: destination {self.destination!r} not in {DESTINATIONS}")

    def matches(self, alert: Alert) -> bool:
        """True when severity, component and tactic all pass this route's filters."""
        if alert.severity < self.min_severity:
            return False
        if self.components is not None and alert.component.value not in self.components:
            return False
        if self.tactics is not None:
            return alert.mitre is not None and alert.mitre.tactic in self.tactics
        return True


DEFAULT_ROUTES = (Route("default-log", "log", Severity.LOW),)


class RouteTable:
    """Ordered routes; names are unique."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes: tuple[Route, ...] = tuple(routes)
        names = [r.name for r in self.routes]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate route names: {', '.join(duplicates)}")

    def match(self, alert: Alert) -> Sequence[Route]:
        """Every ordinary route that matches, else every matching fallback route."""
        chosen = [r for r in self.routes if not r.fallback and r.matches(alert)]
        if chosen:
            return chosen
        return [r for r in self.routes if r.fallback and r.matches(alert)]
