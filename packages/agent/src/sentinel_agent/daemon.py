"""Run the agent until SIGTERM/SIGINT: load, attach, serve REST, reload on demand, then detach.

Reload triggers (one code path, coalesced by ReloadService): SIGHUP, a change of the config file,
and ``POST /api/v1/config/reload``.
"""

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path

import structlog
from hypercorn.asyncio import serve
from starlette.middleware import Middleware

from sentinel_agent.grpc_api import GrpcAlertServer
from sentinel_agent.metrics import build_registry, serve_metrics
from sentinel_agent.metrics.runtime_provider import RuntimeMetrics
from sentinel_agent.rest.app import build_app
from sentinel_agent.rest.auth import AuthMiddleware
from sentinel_agent.rest.tls import RestServerConfig, configure_tls
from sentinel_agent.runtime import AgentRuntime
from sentinel_application.reload_service import ReloadResult, ReloadService
from sentinel_infrastructure.config import LoadedConfig
from sentinel_infrastructure.config.watch import ConfigWatcher
from sentinel_ports.authenticator import Authenticator

log = structlog.get_logger("ebpfsentinel.agent")


def _log_reload(result: ReloadResult) -> None:
    if result.ok:
        log.info("configuration reloaded", trigger=result.trigger)
    else:
        log.error(
            "configuration reload rejected; the running configuration is kept",
            trigger=result.trigger,
            error=result.error,
        )


async def _serve(
    runtime: AgentRuntime,
    reloads: ReloadService[LoadedConfig],
    validate: Callable[[], LoadedConfig],
    authenticator: Authenticator | None = None,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: reloads.request("sighup"))
    loop.add_signal_handler(signal.SIGUSR1, runtime.alert_adapters.reopen_logs)  # logrotate
    await runtime.pipeline.start()
    agent = runtime.loaded.config.agent
    hc = RestServerConfig()
    host = f"[{agent.bind_address}]" if ":" in agent.bind_address else agent.bind_address
    hc.bind = [f"{host}:{agent.http_port}"]
    hc.accesslog = None
    hc.errorlog = None
    hc.graceful_timeout = 2
    configure_tls(hc, agent.tls, Path(runtime.loaded.source).parent)  # HTTPS when agent.tls.enabled
    registry = build_registry(RuntimeMetrics(runtime, reloads))  # /metrics on both ports (§2.0)
    auth = [auth_middleware(runtime, authenticator)]  # innermost layer; metrics_port gets it too
    app = build_app(runtime, reloads, validate, registry, stop=stop, middleware=auth)  # stop ends SSE
    grpc_server = GrpcAlertServer.from_config(
        agent, runtime.broadcast, authenticator=authenticator, base_dir=Path(runtime.loaded.source).parent
    )
    servers = [
        serve(app, hc, shutdown_trigger=stop.wait),  # type: ignore[arg-type]
        serve_metrics(registry, agent.bind_address, agent.metrics_port, stop.wait, auth),
    ]
    try:
        await grpc_server.start()
        servers.append(grpc_server.serve_until(stop.wait))
    except (RuntimeError, OSError) as exc:  # a taken port or unreadable TLS files: REST still serves
        log.error("grpc server not started", address=grpc_server.address, error=str(exc))
    try:
        await asyncio.gather(*servers)
    finally:
        await grpc_server.stop()
        # Stop producing, then give senders a bounded moment; undelivered alerts stay spooled.
        runtime.quiesce()
        await runtime.pipeline.aclose(timeout=5.0)


def auth_middleware(runtime: AgentRuntime, authenticator: Authenticator | None) -> Middleware:
    """REST/metrics authentication and the role matrix (contract §9); firewall rule deletes are
    judged by the stored rule's scope."""

    def rule_scope(rule_id: str) -> str | None:
        rules = runtime.rules
        found = [rule for rule in rules.rules() if rule.id == rule_id] if rules is not None else []
        return str(found[0].scope) if found else None

    return Middleware(
        AuthMiddleware,
        authenticator=authenticator,
        metrics_auth_required=runtime.loaded.config.auth.metrics_auth_required,
        rule_scope=rule_scope,
    )


def watched_files(loaded: LoadedConfig) -> list[Path]:
    """The config file and the rule files it references (relative to the config's folder)."""
    base = Path(loaded.source).parent
    return [Path(loaded.source), *(base / name for name in loaded.config.ids.rules_files)]


def run_daemon(loaded: LoadedConfig, reload_config: Callable[[], LoadedConfig]) -> int:
    """``reload_config`` re-reads and validates the configuration with the same layers (CLI, env)."""
    authenticator: Authenticator | None = None
    if loaded.config.auth.enabled:  # imported only when needed: JOSE and X.509 are slow to import
        from sentinel_adapters.auth import AuthSetupError, build_authenticator

        try:  # before anything is attached: a JWKS or discovery failure aborts the start (contract §9)
            authenticator = build_authenticator(loaded.config.auth, Path(loaded.source).parent)
        except AuthSetupError as exc:
            log.error("authentication setup failed; not starting", error=str(exc))
            return 1
    runtime = AgentRuntime(loaded)
    reloads: ReloadService[LoadedConfig] = ReloadService(reload_config, runtime.reload, _log_reload)
    watcher = ConfigWatcher(watched_files(loaded), lambda: reloads.request("file"))
    try:
        runtime.start()
        watcher.start()
        asyncio.run(_serve(runtime, reloads, reload_config, authenticator))
    finally:
        watcher.stop()
        reloads.stop()
        runtime.stop()
    return 0
