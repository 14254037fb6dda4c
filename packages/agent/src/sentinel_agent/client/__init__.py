"""The CLI's REST client commands (contract §5): ``status``, ``firewall list``, ``alerts stats``...

``register(sub)`` adds every command to the top-level subparsers; ``run(args)`` resolves the
connection settings (flag > ``EBPFSENTINEL_*`` environment > default), calls the command's
handler and turns every failure into a message on stderr and a documented exit code.
"""

import argparse
import os
from typing import Any

from sentinel_agent.client import agent_info, alerts, audit, rules, services, watch
from sentinel_agent.client.cmdline import connection_options
from sentinel_agent.client.http import (
    EXIT_AUTH,
    EXIT_CONNECTION,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_SERVER,
    EXIT_USAGE,
    ApiClient,
    ClientError,
)
from sentinel_agent.client.output import Output, fail

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080

__all__ = [
    "EXIT_AUTH",
    "EXIT_CONNECTION",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_SERVER",
    "EXIT_USAGE",
    "ApiClient",
    "ClientError",
    "connection_options",
    "register",
    "run",
]


def register(sub: Any) -> None:
    """Adds every client command (each with a ``handler`` default) to ``sub``."""
    agent_info.register(sub)
    rules.FIREWALL.register(sub, "firewall rules (/api/v1/firewall/rules)")
    alerts.register(sub)
    audit.register(sub)
    watch.register(sub)
    rules.L7.register(sub, "L7 firewall rules (/api/v1/firewall/l7-rules)")
    services.register_ips(sub)
    rules.RATELIMIT.register(sub, "rate-limit rules (/api/v1/ratelimit/rules)")
    services.register_rest(sub)


def settings(args: argparse.Namespace) -> tuple[ApiClient, Output]:
    """The client and output for ``args``; ClientError (exit 1) for a bad port."""
    host = args.host or os.environ.get("EBPFSENTINEL_HOST") or DEFAULT_HOST
    raw_port = args.port or os.environ.get("EBPFSENTINEL_PORT") or str(DEFAULT_PORT)
    try:
        port = int(raw_port)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise ClientError(f"invalid port '{raw_port}': expected 1-65535", EXIT_USAGE)
    token = args.token or os.environ.get("EBPFSENTINEL_TOKEN") or None
    api_key = getattr(args, "api_key", None) or os.environ.get("EBPFSENTINEL_API_KEY") or None
    return ApiClient(host, port, token, api_key=api_key), Output(args.output or "table")


def run(args: argparse.Namespace) -> int:
    """Runs the parsed client command; returns its exit code (docs/cli.md)."""
    try:
        client, out = settings(args)
        return int(args.handler(client, out, args))
    except ClientError as exc:
        fail(str(exc))
        return exc.exit_code
    except BrokenPipeError:  # `... | head` closed the pipe: not an error of ours
        return EXIT_OK
