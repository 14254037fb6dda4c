"""The registry of the REST routes beyond health, alerts, firewall rules and audit (contract §2.2)."""

from typing import Any

from sentinel_agent.rest._common import RouteSpec
from sentinel_agent.rest.detection import detection_routes
from sentinel_agent.rest.dns import dns_routes
from sentinel_agent.rest.ips import ips_routes
from sentinel_agent.rest.l7 import l7_routes
from sentinel_agent.rest.ratelimit import ratelimit_routes
from sentinel_agent.rest.status import status_routes
from sentinel_agent.rest.threatintel_feeds import threatintel_feed_routes


def more_routes(runtime: Any) -> list[RouteSpec]:
    """(path, handler, methods) of every route of these modules, bound to ``runtime``
    (an AgentRuntime; typed loosely so tests can pass a stand-in)."""
    return [
        *status_routes(runtime),
        *ips_routes(runtime),
        *ratelimit_routes(runtime),
        *dns_routes(runtime),
        *detection_routes(runtime),
        *l7_routes(runtime),
        *threatintel_feed_routes(runtime),
    ]
