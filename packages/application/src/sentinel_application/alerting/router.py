"""AlertRouter: dedup → throttle → route match (contract §8.2 step 6), counting every stop.

The router only decides *notifications*. Callers store and stream every alert before asking it,
so a suppressed alert is never lost, only not sent again. Time comes in as an argument
(monotonic seconds), which keeps the router pure and testable with scripted clocks.
"""

import enum
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sentinel_application.alerting.dedup import DedupFilter
from sentinel_application.alerting.routes import Route, RouteTable
from sentinel_application.alerting.throttle import Throttle
from sentinel_domain.alert import Alert


class DropReason(enum.Enum):
    DEDUP = "dedup"
    THROTTLE = "throttle"
    NO_ROUTE = "no_route"


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    routes: Sequence[Route]  # empty when ``dropped`` is set
    dropped: DropReason | None = None


class AlertRouter:
    """Decides, per alert, which routes get notified; ``enabled=False`` notifies nobody (no_route)."""

    def __init__(self, dedup: DedupFilter, throttle: Throttle, routes: RouteTable, enabled: bool = True):
        self.dedup = dedup
        self.throttle = throttle
        self.routes = routes
        self.enabled = enabled
        self.dropped: Counter[DropReason] = Counter()
        self.routed = 0

    def decide(self, alert: Alert, now: float) -> RoutingDecision:
        """Which routes ``alert`` goes to at monotonic time ``now``; counts the reason when none."""
        if self.dedup.is_duplicate(alert, now):
            return self._drop(DropReason.DEDUP)
        if not self.throttle.allow(alert, now):
            return self._drop(DropReason.THROTTLE)
        matched = self.routes.match(alert) if self.enabled else ()
        if not matched:
            return self._drop(DropReason.NO_ROUTE)
        self.routed += 1
        return RoutingDecision(tuple(matched))

    def replace_routes(self, routes: RouteTable, enabled: bool = True) -> None:
        """Swap the route table (hot reload) keeping dedup and throttle state (contract §8.2)."""
        self.routes = routes
        self.enabled = enabled

    def _drop(self, reason: DropReason) -> RoutingDecision:
        self.dropped[reason] += 1
        return RoutingDecision((), reason)
