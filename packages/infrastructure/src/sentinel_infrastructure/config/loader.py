"""Load, layer and validate the configuration.

Precedence: CLI flags > environment (``EBPFSENTINEL_<SECTION>__<KEY>``) > YAML > defaults.
The YAML is parsed with ruamel's round-trip loader, which keeps line/column positions and never
constructs arbitrary Python objects. Every error names the file, line, column and key.
"""

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from sentinel_domain.common import DomainError
from sentinel_domain.firewall import (
    FirewallPolicy,
    FirewallRule,
    anti_lockout_rules,
    parse_default_policy,
    parse_mode,
)
from sentinel_domain.ratelimit import RateLimitPolicySet
from sentinel_infrastructure.config.agent_checks import agent_issues
from sentinel_infrastructure.config.alerting import alerting_issues
from sentinel_infrastructure.config.auth import auth_issues
from sentinel_infrastructure.config.checks import secrets_in_world_readable_file, unknown_nested_keys
from sentinel_infrastructure.config.detection import DetectionRules, build_detection
from sentinel_infrastructure.config.errors import ConfigError, ConfigIssue
from sentinel_infrastructure.config.files import read_bounded
from sentinel_infrastructure.config.model import Config

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 2_000_000  # bounds alias expansion ("billion laughs")
ENV_PREFIX = "EBPFSENTINEL_"
_STANDARD_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {"map", "seq", "str", "int", "float", "bool", "null"}
LOG_LEVELS = ("error", "warn", "warning", "info", "debug", "trace")
LOG_FORMATS = ("json", "text", "pretty")
XDP_MODES = ("auto", "native", "generic", "offloaded")


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    """A fully validated configuration and the domain objects built from it."""

    source: str
    config: Config
    firewall_policy: FirewallPolicy
    ratelimit_policies: RateLimitPolicySet
    detection: DetectionRules | None = None
    warnings: tuple[ConfigIssue, ...] = ()  # unknown nested keys (errors under strict)


def _position(tree: Any, path: list[str | int]) -> tuple[int | None, int | None]:
    """Line and column (1-based) of the deepest node of ``path`` found in the ruamel tree."""
    line = col = None
    node = tree
    for part in path:
        lc = getattr(node, "lc", None)
        try:
            if lc is not None and isinstance(part, str) and hasattr(node, "keys") and part in node:
                line, col = lc.key(part)
            elif lc is not None and isinstance(part, int) and isinstance(node, list) and part < len(node):
                line, col = lc.item(part)
            else:
                break
            node = node[part]
        except (KeyError, IndexError, TypeError, AttributeError):
            break
    return (line + 1 if line is not None else None, col + 1 if col is not None else None)


def _plain(node: Any, depth: int = 0, budget: list[int] | None = None) -> Any:
    """Deep-copy ruamel containers into plain dicts/lists, bounding depth and total size."""
    budget = budget if budget is not None else [MAX_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError("document too large after alias expansion")
    if depth > MAX_DEPTH:
        raise ValueError(f"nesting deeper than {MAX_DEPTH} levels")
    tag = getattr(getattr(node, "tag", None), "value", None)
    if tag and not (tag.startswith(_STANDARD_TAG) and tag[len(_STANDARD_TAG) :] in _PLAIN_TAGS):
        raise ValueError(f"unsupported YAML tag '{tag}' (only plain mappings, lists and scalars)")
    if isinstance(node, Mapping):
        return {str(k): _plain(v, depth + 1, budget) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v, depth + 1, budget) for v in node]
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def _parse_yaml(text: str, source: str) -> Any:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        col = mark.column + 1 if mark is not None else None
        raise ConfigError(source, [ConfigIssue(f"YAML parse error: {exc.problem}", "", line, col)]) from None
    except (YAMLError, RecursionError) as exc:
        raise ConfigError(source, [ConfigIssue(f"YAML parse error: {exc}")]) from None
    except TypeError as exc:  # ruamel hashes complex keys (``? {a: {b: 1}}``) and fails on nested ones
        issue = ConfigIssue(f"YAML parse error: keys must be plain values ({exc})")
        raise ConfigError(source, [issue]) from None
    except (IndexError, ValueError) as exc:  # ruamel bugs on odd scalars, e.g. ``-___`` read as an int
        issue = ConfigIssue(f"YAML parse error: unreadable value ({type(exc).__name__}: {exc})")
        raise ConfigError(source, [issue]) from None


_UNPARSED = object()


def _parse_yaml_fast(text: str) -> Any:
    """The document as plain containers, parsed by ruamel's libyaml-based C parser (about five
    times the round-trip parser's speed on a 4,096-rule file), or ``_UNPARSED``.

    The tree has no positions, so it only serves a document that turns out valid; whatever goes
    wrong here (a syntax error, a tag, a duplicate key, a parser bug) is left for the round-trip
    parser to report with its line and column."""
    yaml = YAML(typ="safe", pure=False)
    yaml.allow_duplicate_keys = False
    try:
        tree = yaml.load(text)
    except Exception:  # any failure at all means: take the located path
        return _UNPARSED
    return tree if _only_plain_values(tree) else _UNPARSED


def _only_plain_values(tree: Any) -> bool:
    """Mappings, lists, strings, numbers, booleans and nulls only (the safe constructor builds
    dates, bytes and sets from standard tags, which the round-trip path refuses with a message).
    Iterative: the depth limit is the round-trip path's to report."""
    pending, seen = [tree], 0
    while pending:
        node = pending.pop()
        seen += 1
        if seen > MAX_NODES:
            return False
        if isinstance(node, dict):
            pending.extend(node.keys())
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
        elif node is not None and not isinstance(node, str | int | float):  # bool is an int
            return False
    return True


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """``EBPFSENTINEL_AGENT__HTTP_PORT=9000`` → ``{"agent": {"http_port": 9000}}``.

    Values are parsed as YAML scalars, so numbers, booleans and ``[a, b]`` lists work.
    """
    out: dict[str, Any] = {}
    scalar = YAML(typ="safe")
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue  # EBPFSENTINEL_HOST/PORT/TOKEN are the CLI client's, not the daemon's
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        try:
            value = scalar.load(raw) if raw.strip() else ""
        except (YAMLError, IndexError, ValueError):  # not YAML (or a value ruamel chokes on): a string
            value = raw
        target = out
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return out


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> None:
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _msgspec_path(message: str) -> list[str | int]:
    match = re.search(r"at `\$([^`]*)`", message)
    if not match:
        return []
    return [
        int(p[1:-1]) if p.startswith("[") else p for p in re.findall(r"\[\d+\]|[^.\[\]]+", match.group(1))
    ]


def _dotted(path: list[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def load_config(
    path: str | Path,
    environ: Mapping[str, str] | None = None,
    cli_overrides: Mapping[str, Any] | None = None,
    strict: bool = False,
) -> LoadedConfig:
    """Read, layer and validate ``path``. Raises ConfigError listing every problem found.

    ``strict`` turns warnings (unknown nested keys) into errors, as ``config test --strict`` does.
    """
    source = str(path)
    try:
        raw = read_bounded(path, MAX_FILE_BYTES)
    except OSError as exc:
        raise ConfigError(source, [ConfigIssue(f"cannot read config file: {exc.strerror}")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(source, [ConfigIssue(f"file larger than {MAX_FILE_BYTES} bytes")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(source, [ConfigIssue(f"not UTF-8 (byte {exc.start})")]) from None
    environ = os.environ if environ is None else environ
    fast = _parse_yaml_fast(text)
    if fast is not _UNPARSED:
        try:
            loaded = _validate(fast, source, path, environ, cli_overrides, strict)
        except ConfigError:
            pass  # reported below, located by the round-trip parser
        else:
            if not loaded.warnings:  # warnings carry positions too
                return loaded
    return _validate(_parse_yaml(text, source), source, path, environ, cli_overrides, strict)


def _validate(
    tree: Any,
    source: str,
    path: str | Path,
    environ: Mapping[str, str],
    cli_overrides: Mapping[str, Any] | None,
    strict: bool,
) -> LoadedConfig:
    """Layer and validate a parsed document (positions come from ``tree`` when it has them)."""
    if tree is None:
        tree = {}
    if not isinstance(tree, Mapping):
        raise ConfigError(source, [ConfigIssue("top level must be a mapping of sections", "", 1, 1)])
    try:
        data = _plain(tree)
    except ValueError as exc:
        raise ConfigError(source, [ConfigIssue(str(exc))]) from None
    _merge(data, _env_overrides(environ))
    _merge(data, dict(cli_overrides or {}))
    try:
        config = msgspec.convert(data, Config, strict=True)
    except msgspec.ValidationError as exc:
        message = str(exc)
        where = _msgspec_path(message)
        unknown = re.search(r"unknown field `([^`]+)`", message)
        if unknown:
            where = [*where, unknown.group(1)]
            message = f"unknown top-level key '{unknown.group(1)}'" if len(where) == 1 else message
        line, col = _position(tree, where)
        text_msg = re.sub(r" - at `\$[^`]*`", "", message)
        raise ConfigError(
            source, [ConfigIssue(f"validation error: {text_msg}", _dotted(where), line, col)]
        ) from None
    issues = _semantic_issues(config, tree, Path(source).parent)
    exposed = secrets_in_world_readable_file(path, data)
    if exposed is not None:
        issues.append(exposed)
    warnings = unknown_nested_keys(data, lambda where: _position(tree, where))
    if strict:
        issues.extend(warnings)
    if issues:
        raise ConfigError(source, issues)
    return LoadedConfig(
        source,
        config,
        build_firewall_policy(config),
        build_ratelimit_policies(config),
        build_detection(
            config.ids, config.ips, config.dlp, Path(source).parent, config.dns, config.threatintel, config.l7
        ),
        tuple(warnings),
    )


def build_firewall_policy(config: Config) -> FirewallPolicy:
    fw = config.firewall
    rules = [FirewallRule.from_dict(rule) for rule in fw.rules]
    system = (
        anti_lockout_rules(fw.anti_lockout.ports, fw.anti_lockout.interfaces)
        if fw.anti_lockout.enabled
        else []
    )
    return FirewallPolicy.build(rules, parse_mode(fw.mode), parse_default_policy(fw.default_policy), system)


def build_ratelimit_policies(config: Config) -> RateLimitPolicySet:
    section = msgspec.structs.asdict(config.ratelimit)
    return RateLimitPolicySet.from_dict(
        {k: v for k, v in section.items() if k not in ("enabled", "country_tiers")}
    )


def _semantic_issues(config: Config, tree: Any, base_dir: Path) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []

    def add(message: str, path: list[str | int]) -> None:
        line, col = _position(tree, path)
        issues.append(ConfigIssue(f"validation error: {message}", _dotted(path), line, col))

    agent = config.agent
    if not agent.interfaces:
        add("at least one interface is required", ["agent", "interfaces"])
    for i, name in enumerate(agent.interfaces):
        if not re.fullmatch(r"[A-Za-z0-9_.:@-]{1,15}", name):
            add(f"invalid interface name '{name}'", ["agent", "interfaces", i])
    ports = {"http_port": agent.http_port, "grpc_port": agent.grpc_port, "metrics_port": agent.metrics_port}
    for key, port in ports.items():
        if not 1 <= port <= 65535:
            add(f"port {port} out of range 1-65535", ["agent", key])
    if len(set(ports.values())) != len(ports):
        add("http_port, grpc_port and metrics_port must be distinct", ["agent", "http_port"])
    try:
        bind = ipaddress.ip_address(agent.bind_address)
        if not bind.is_loopback and not agent.allow_unauthenticated_api and not config.auth.enabled:
            add(
                f"bind_address {bind} is not loopback and the API has no authentication; set "
                "agent.allow_unauthenticated_api: true to accept that",
                ["agent", "bind_address"],
            )
    except ValueError:
        add(f"invalid IP address '{agent.bind_address}'", ["agent", "bind_address"])
    for key, value, allowed in (
        ("log_level", agent.log_level, LOG_LEVELS),
        ("log_format", agent.log_format, LOG_FORMATS),
        ("xdp_mode", agent.xdp_mode, XDP_MODES),
    ):
        if value.lower() not in allowed:
            add(
                f"invalid value '{value}' for field '{key}': expected one of {', '.join(allowed)}",
                ["agent", key],
            )
    fw = config.firewall
    for key, parse in (("mode", parse_mode), ("default_policy", parse_default_policy)):
        try:
            parse(getattr(fw, key))
        except DomainError as exc:
            add(str(exc), ["firewall", key])
    for i, rule in enumerate(fw.rules):
        try:
            FirewallRule.from_dict(rule)
        except DomainError as exc:
            field = getattr(exc, "field", None)
            add(
                str(exc).removeprefix(f"{field}: ") if field else str(exc),
                ["firewall", "rules", i, *([field] if field and field in rule else [])],
            )
    try:
        build_ratelimit_policies(config)
    except DomainError as exc:
        field = getattr(exc, "field", None) or ""
        path: list[str | int] = ["ratelimit"]
        for part in re.findall(r"\[\d+\]|[^.\[\]]+", field):
            path.append(int(part[1:-1]) if part.startswith("[") else part)
        add(str(exc).removeprefix(f"{field}: ") if field else str(exc), path)
    try:
        build_detection(
            config.ids, config.ips, config.dlp, base_dir, config.dns, config.threatintel, config.l7
        )
    except DomainError as exc:
        field = getattr(exc, "field", None) or ""
        where: list[str | int] = []
        for part in re.findall(r"\[\d+\]|[^.\[\]]+", field):
            where.append(int(part[1:-1]) if part.startswith("[") else part)
        add(str(exc).removeprefix(f"{field}: ") if field else str(exc), where)
    for path, message in alerting_issues(config.alerting):
        add(message, ["alerting", *path])
    for path, message in agent_issues(config.agent, base_dir):
        add(message, path)
    for path, message in auth_issues(config.auth, base_dir):
        add(message, ["auth", *path])
    if not issues:
        try:
            build_firewall_policy(config)
        except DomainError as exc:
            field = getattr(exc, "field", None)
            add(str(exc).removeprefix(f"{field}: ") if field else str(exc), ["firewall", "rules"])
    return issues
