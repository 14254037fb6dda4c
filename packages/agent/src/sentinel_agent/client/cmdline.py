"""Parser building blocks shared by the client command modules."""

import argparse
import json
import sys
from typing import Any

from sentinel_agent.client.http import EXIT_USAGE, ClientError

OUTPUT_MODES = ("table", "json")


def connection_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """``-o``, ``--host``, ``--port``, ``--token``, ``--api-key``: accepted before or after the subcommand.

    On subcommands the defaults are SUPPRESS so a value given before the subcommand is kept;
    env fallbacks are applied later by :func:`sentinel_agent.client.settings`.
    """
    default: Any = None if defaults else argparse.SUPPRESS
    parser.add_argument(
        "-o", "--output", choices=OUTPUT_MODES, default=default, help="output format (default table)"
    )
    parser.add_argument("--host", default=default, help="agent address (env EBPFSENTINEL_HOST, 127.0.0.1)")
    parser.add_argument("--port", default=default, help="agent REST port (env EBPFSENTINEL_PORT, 8080)")
    parser.add_argument("--token", default=default, help="Bearer token (env EBPFSENTINEL_TOKEN)")
    parser.add_argument(
        "--api-key", default=default, help="API key sent as X-API-Key (env EBPFSENTINEL_API_KEY)"
    )


def _common_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    connection_options(parent, defaults=False)
    return parent


_COMMON = _common_parent()


def leaf(sub: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    """A runnable client command with the connection options."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=help_text, description=help_text, parents=[_COMMON]
    )
    return parser


def group(sub: Any, name: str, help_text: str) -> Any:
    """A noun with verbs (``firewall list``); returns the verbs' subparsers action."""
    parser = sub.add_parser(name, help=help_text, description=help_text)
    return parser.add_subparsers(dest=f"{name}_command", required=True, metavar="VERB")


def json_body(text: str) -> Any:
    """``--json`` value: inline JSON, ``@path`` (a file) or ``-`` (stdin); must be an object.

    Raises ClientError (exit 1) before anything is sent when it does not parse.
    """
    source = "--json"
    try:
        if text == "-":
            text, source = sys.stdin.read(), "stdin"
        elif text.startswith("@"):
            source = text[1:]
            with open(source, encoding="utf-8") as handle:
                text = handle.read()
    except OSError as exc:
        raise ClientError(f"cannot read {source}: {exc.strerror}", EXIT_USAGE) from None
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise ClientError(f"invalid JSON in {source}: {exc}", EXIT_USAGE) from None
    if not isinstance(body, dict):
        raise ClientError(f"{source} must be a JSON object", EXIT_USAGE)
    return body


def non_negative(text: str) -> int:
    """argparse type: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value
