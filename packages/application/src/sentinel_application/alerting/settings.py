"""What the pipeline needs from the ``alerting`` configuration, and its conversion to value objects.

The configuration models live in ``sentinel_infrastructure.config.alerting``; this layer only
states, as Protocols, the attributes it reads, so any object with those attributes (the msgspec
models, a test's namespace) builds a pipeline.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sentinel_application.alerting.breaker import CircuitBreaker
from sentinel_application.alerting.dedup import DedupFilter
from sentinel_application.alerting.retry import RetryPolicy
from sentinel_application.alerting.routes import DEFAULT_ROUTES, Route, RouteTable
from sentinel_application.alerting.throttle import Throttle
from sentinel_domain.common import parse_severity


class RouteConfig(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def destination(self) -> str: ...
    @property
    def min_severity(self) -> str: ...
    @property
    def event_types(self) -> Sequence[str] | None: ...
    @property
    def tactics(self) -> Sequence[str] | None: ...
    @property
    def fallback(self) -> bool: ...


class SpoolConfig(Protocol):
    @property
    def max_age_secs(self) -> float: ...


class RetryConfig(Protocol):
    @property
    def initial_backoff_ms(self) -> float: ...
    @property
    def max_backoff_ms(self) -> float: ...
    @property
    def multiplier(self) -> float: ...
    @property
    def attempt_timeout_secs(self) -> float: ...


class BreakerConfig(Protocol):
    @property
    def failure_threshold(self) -> int: ...
    @property
    def open_secs(self) -> float: ...


class AlertingConfig(Protocol):
    @property
    def enabled(self) -> bool: ...
    @property
    def dedup_window_secs(self) -> float: ...
    @property
    def throttle_window_secs(self) -> float: ...
    @property
    def throttle_max(self) -> int: ...
    @property
    def throttle_by(self) -> Sequence[str]: ...
    @property
    def channel_capacity(self) -> int: ...
    @property
    def routes(self) -> Sequence[RouteConfig] | None: ...
    @property
    def spool(self) -> SpoolConfig: ...
    @property
    def retry(self) -> RetryConfig: ...
    @property
    def circuit_breaker(self) -> BreakerConfig: ...


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    failure_threshold: int = 5
    open_secs: float = 60.0
    max_age: float = 86_400.0  # seconds an accepted alert may wait; 0 = forever
    channel_capacity: int = 1_000

    def breaker(self) -> CircuitBreaker:
        return CircuitBreaker(self.failure_threshold, self.open_secs)


def route_from_config(route: RouteConfig) -> Route:
    return Route(
        name=route.name,
        destination=route.destination,
        min_severity=parse_severity(route.min_severity),
        components=frozenset(route.event_types) if route.event_types is not None else None,
        tactics=frozenset(route.tactics) if route.tactics is not None else None,
        fallback=route.fallback,
    )


def routes_from_config(config: AlertingConfig) -> RouteTable:
    """The configured routes; the contract's single ``default-log`` route when none are given."""
    if config.routes is None:
        return RouteTable(DEFAULT_ROUTES)
    return RouteTable(route_from_config(r) for r in config.routes)


def dedup_from_config(config: AlertingConfig) -> DedupFilter:
    return DedupFilter(config.dedup_window_secs)


def throttle_from_config(config: AlertingConfig) -> Throttle:
    return Throttle(config.throttle_window_secs, config.throttle_max, config.throttle_by)


def delivery_from_config(config: AlertingConfig) -> DeliverySettings:
    retry = config.retry
    return DeliverySettings(
        retry=RetryPolicy(
            initial=retry.initial_backoff_ms / 1000,
            maximum=retry.max_backoff_ms / 1000,
            multiplier=retry.multiplier,
            attempt_timeout=retry.attempt_timeout_secs,
        ),
        failure_threshold=config.circuit_breaker.failure_threshold,
        open_secs=config.circuit_breaker.open_secs,
        max_age=config.spool.max_age_secs,
        channel_capacity=config.channel_capacity,
    )


def route_destinations(table: RouteTable) -> Mapping[str, str]:
    """Route name → destination kind."""
    return {r.name: r.destination for r in table.routes}
