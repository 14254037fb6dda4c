"""``ebpfsentinel-agent``: no subcommand (or ``run``) starts the daemon (contract §5).

``version``, ``config test`` and ``demo`` are local; every other subcommand is a REST client
(sentinel_agent.client). Exit codes are documented in docs/cli.md; usage errors exit 1.
"""

import argparse
import sys
from typing import NoReturn

from sentinel_agent import __version__

DEFAULT_CONFIG = "/etc/ebpfsentinel/config.yaml"


class _Parser(argparse.ArgumentParser):
    """argparse with exit code 1 for usage errors (2 means "agent unreachable" for the client)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    from sentinel_agent import client

    parser = _Parser(prog="ebpfsentinel-agent", description="eBPFsentinel network-security agent")
    parser.add_argument("-c", "--config", default=DEFAULT_CONFIG, help="YAML configuration file")
    parser.add_argument("-l", "--log-level", choices=["error", "warn", "info", "debug", "trace"])
    parser.add_argument("--log-format", choices=["json", "text"])
    client.connection_options(parser, defaults=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="run the daemon (the default)")
    sub.add_parser("version", help="print the version")
    config = sub.add_parser("config", help="configuration tools")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    test = config_sub.add_parser("test", help="validate a configuration file without starting (exit 0/1)")
    test.add_argument("-c", "--config", dest="test_config")
    test.add_argument("--strict", action="store_true", help="treat unknown keys as errors")
    demo = sub.add_parser("demo", help="run the built-in demo lab (network namespaces, real packets)")
    demo.add_argument("--quiet", action="store_true", help="print only the summary")
    replay = sub.add_parser("replay", help="run a pcap/pcapng through the real programs (docs/replay.md)")
    replay.add_argument("capture", help="pcap or pcapng file")
    replay.add_argument("-c", "--config", dest="replay_config", help="YAML configuration (default: built-in)")
    replay.add_argument("-o", "--output", choices=["table", "json", "eve"], default=argparse.SUPPRESS)
    client.register(sub)
    return parser


def _cli_overrides(args: argparse.Namespace) -> dict[str, dict[str, str]]:
    agent = {}
    if args.log_level:
        agent["log_level"] = args.log_level
    if args.log_format:
        agent["log_format"] = args.log_format
    return {"agent": agent} if agent else {}


def _config_or_daemon(args: argparse.Namespace) -> int:
    import structlog

    from sentinel_infrastructure.config import ConfigError, load_config
    from sentinel_infrastructure.logging import configure_logging

    path = getattr(args, "test_config", None) or args.config
    overrides = _cli_overrides(args)
    strict = bool(getattr(args, "strict", False))
    try:
        loaded = load_config(path, cli_overrides=overrides, strict=strict)
    except ConfigError as exc:
        print(f"invalid configuration:\n{exc}", file=sys.stderr)
        return 1
    if args.command == "config":
        for warning in loaded.warnings:
            print(f"warning (ignored): {warning.render(path)}", file=sys.stderr)
        print(f"configuration OK: {path}")
        return 0
    agent = loaded.config.agent
    configure_logging(agent.log_level, agent.log_format)
    for warning in loaded.warnings:
        structlog.get_logger("ebpfsentinel.config").warning(
            "configuration warning", detail=warning.render(path)
        )
    from sentinel_agent.daemon import run_daemon
    from sentinel_infrastructure.config.reloading import CachedConfigLoader

    # Validation before a REST reload and the reload itself then parse the file once.
    return run_daemon(loaded, CachedConfigLoader(path, lambda: load_config(path, cli_overrides=overrides)))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "version":
        print(f"ebpfsentinel-agent {__version__}")
        return 0
    if args.command == "demo":
        from sentinel_agent.demo import run_demo

        return run_demo(quiet=args.quiet)
    if args.command == "replay":
        from sentinel_agent.replay import run_replay

        explicit = args.config if args.config != DEFAULT_CONFIG else None
        return run_replay(args.capture, args.replay_config or explicit, args.output or "table")
    if hasattr(args, "handler"):
        from sentinel_agent import client

        return client.run(args)
    return _config_or_daemon(args)


if __name__ == "__main__":
    sys.exit(main())
