"""``status``, ``health``, ``metrics``, ``identity``: what the agent says about itself."""

import argparse
from typing import Any

from sentinel_agent.client.cmdline import leaf
from sentinel_agent.client.http import EXIT_OK, EXIT_SERVER, ApiClient
from sentinel_agent.client.output import Output


def status(client: ApiClient, out: Output, _: argparse.Namespace) -> int:
    body = client.get("/api/v1/agent/status")
    order = ("status", "version", "uptime_seconds", "ebpf_loaded", "firewall_enabled", "firewall_mode")
    out.emit(body, lambda b: out.fields(f"agent {client.base_url}", b, order))
    return EXIT_OK


def identity(client: ApiClient, out: Output, _: argparse.Namespace) -> int:
    body = client.get("/api/v1/agent/identity")
    out.emit(body, lambda b: out.fields("identity", b, ("hostname", "version", "uptime_seconds")))
    return EXIT_OK


def health(client: ApiClient, out: Output, _: argparse.Namespace) -> int:
    """Liveness and readiness; exit 0 only when ready (503 not_ready → exit 5)."""
    live = client.get("/healthz")
    ready_status, raw = client.call("GET", "/readyz", accept=(503,))
    ready = client.decode(raw)
    body = {"healthz": live, "readyz": ready}

    def render(_: Any) -> None:
        flat = {"live": live.get("status"), **{f"ready.{k}": v for k, v in ready.items()}}
        out.fields(f"health {client.base_url}", flat, ("live", "ready.status", "ready.ebpf_loaded"))

    out.emit(body, render)
    return EXIT_OK if ready_status == 200 else EXIT_SERVER


def metrics(client: ApiClient, out: Output, _: argparse.Namespace) -> int:
    """Table mode prints the Prometheus text unchanged; JSON mode lists every sample."""
    text = client.text("/metrics")
    if not out.json:
        print(text, end="" if text.endswith("\n") else "\n")
        return EXIT_OK
    from prometheus_client.parser import text_string_to_metric_families

    samples: list[dict[str, Any]] = [
        {"name": s.name, "labels": dict(s.labels), "value": s.value}
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]
    samples.sort(key=lambda s: (str(s["name"]), sorted(s["labels"].items())))
    out.emit(samples, lambda _: None)
    return EXIT_OK


def register(sub: Any) -> None:
    """Adds the four commands to the top-level subparsers."""
    leaf(sub, "status", "agent status (GET /api/v1/agent/status)").set_defaults(handler=status)
    leaf(sub, "health", "liveness and readiness (/healthz, /readyz); exit 5 when not ready").set_defaults(
        handler=health
    )
    leaf(sub, "metrics", "Prometheus metrics (raw text; samples with -o json)").set_defaults(handler=metrics)
    leaf(sub, "identity", "agent identity (GET /api/v1/agent/identity)").set_defaults(handler=identity)
