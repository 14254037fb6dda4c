"""Run the agent until SIGTERM/SIGINT: load, attach, serve REST, then detach and exit 0."""

import asyncio
import signal

import structlog
from hypercorn.asyncio import serve
from hypercorn.config import Config as HypercornConfig

from sentinel_agent.rest.app import build_app
from sentinel_agent.runtime import AgentRuntime
from sentinel_infrastructure.config import LoadedConfig

log = structlog.get_logger("ebpfsentinel.agent")


async def _serve(runtime: AgentRuntime) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    agent = runtime.loaded.config.agent
    hc = HypercornConfig()
    host = f"[{agent.bind_address}]" if ":" in agent.bind_address else agent.bind_address
    hc.bind = [f"{host}:{agent.http_port}"]
    hc.accesslog = None
    hc.errorlog = None
    hc.graceful_timeout = 2
    await serve(build_app(runtime), hc, shutdown_trigger=stop.wait)  # type: ignore[arg-type]


def run_daemon(loaded: LoadedConfig) -> int:
    runtime = AgentRuntime(loaded)
    try:
        runtime.start()
        asyncio.run(_serve(runtime))
    finally:
        runtime.stop()
    return 0
