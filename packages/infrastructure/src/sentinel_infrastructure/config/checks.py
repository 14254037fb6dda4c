"""Checks beyond the typed models: unknown nested keys, and secrets in a world-readable file.

Unknown nested keys are warnings (upstream ignores them silently; we say where they are) and
errors under ``config test --strict``. Only sections and rule lists with a known shape are
walked; opaque upstream sections are left alone.
"""

import functools
import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import msgspec

from sentinel_infrastructure.config.errors import ConfigIssue
from sentinel_infrastructure.config.model import Config

# Every firewall rule key of the contract (§1.2), including the ones this agent does not act on.
FIREWALL_RULE_KEYS = frozenset(
    [
        "id",
        "priority",
        "action",
        "enabled",
        "protocol",
        "src_ip",
        "dst_ip",
        "src_port",
        "dst_port",
        "scope",
        "vlan_id",
        "state",
        "flags",
        "icmp_type",
        "icmp_code",
        "negate_source",
        "negate_destination",
        "dscp_match",
        "dscp_mark",
        "src_mac",
        "dst_mac",
        "max_states",
        "interfaces",
        "tenant_id",
        "src_alias",
        "dst_alias",
        "src_port_alias",
        "dst_port_alias",
        "src_mac_alias",
        "dst_mac_alias",
        "schedule",
    ]
)
RATELIMIT_RULE_KEYS = frozenset(
    ["id", "rate", "burst", "src_ip", "src", "action", "algorithm", "enabled", "interfaces", "tenant_id"]
)
_LIST_ITEM_KEYS = {("firewall", "rules"): FIREWALL_RULE_KEYS, ("ratelimit", "rules"): RATELIMIT_RULE_KEYS}


@functools.cache
def _config_type_info() -> msgspec.inspect.StructType:
    """The models' type tree (msgspec.inspect is slow: about half of a small config's load)."""
    root = msgspec.inspect.type_info(Config)
    assert isinstance(root, msgspec.inspect.StructType)
    return root


def unknown_nested_keys(
    data: Mapping[str, Any], locate: Callable[[list[str | int]], tuple[int | None, int | None]]
) -> list[ConfigIssue]:
    """Keys inside typed sections that no model field or rule field knows."""
    issues: list[ConfigIssue] = []

    def walk(node: Any, type_info: Any, path: list[str | int]) -> None:
        if isinstance(type_info, msgspec.inspect.StructType) and isinstance(node, Mapping):
            fields = {f.encode_name: f.type for f in type_info.fields}
            for key, value in node.items():
                if key not in fields:
                    line, col = locate([*path, key])
                    where = ".".join(str(p) for p in [*path, key])
                    issues.append(ConfigIssue(f"unknown key '{key}'", where, line, col))
                else:
                    walk(value, fields[key], [*path, key])
        elif isinstance(type_info, msgspec.inspect.ListType) and isinstance(node, list):
            known = _LIST_ITEM_KEYS.get((str(path[0]), str(path[-1]))) if len(path) == 2 else None
            for i, item in enumerate(node):
                if known is not None and isinstance(item, Mapping):
                    for key in item:
                        if key not in known:
                            line, col = locate([*path, i, key])
                            issues.append(
                                ConfigIssue(
                                    f"unknown key '{key}'",
                                    f"{'.'.join(map(str, path))}[{i}].{key}",
                                    line,
                                    col,
                                )
                            )
                else:
                    walk(item, type_info.item_type, [*path, i])

    root = _config_type_info()
    for field in root.fields:
        if field.encode_name in data and isinstance(field.type, msgspec.inspect.StructType):
            walk(data[field.encode_name], field.type, [field.encode_name])
    return issues


SECRET_PATHS = (
    ("auth", "api_keys", "*", "key"),
    ("auth", "api_key_salt"),
    ("alerting", "smtp", "password"),
    ("alerting", "routes", "*", "webhook_hmac_secret"),
    ("alerting", "routes", "*", "webhook_headers"),
    ("alerting", "otlp", "headers"),
    ("threatintel", "feeds", "*", "auth_header"),
)


def _has(node: Any, path: tuple[str, ...]) -> bool:
    if not path:
        return node not in (None, "", [], {})
    head, rest = path[0], path[1:]
    if head == "*":
        return isinstance(node, list) and any(_has(item, rest) for item in node)
    return isinstance(node, Mapping) and head in node and _has(node[head], rest)


def secrets_in_world_readable_file(path: str | Path, data: Mapping[str, Any]) -> ConfigIssue | None:
    """Refuse a file other users can read when it holds secrets (API keys, passwords …)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if not mode & stat.S_IROTH:
        return None
    found = [".".join(p).replace(".*", "[]") for p in SECRET_PATHS if _has(data, p)]
    if not found:
        return None
    return ConfigIssue(
        f"the file is readable by every user (mode {stat.S_IMODE(mode):o}) and holds secrets "
        f"({', '.join(found)}); run: chmod o-r {path}"
    )
