"""``firewall``, ``l7`` and ``ratelimit``: list / add --json / delete rule sets over REST."""

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sentinel_agent.client.cmdline import group, json_body, leaf
from sentinel_agent.client.http import EXIT_OK, ApiClient, segment
from sentinel_agent.client.output import Column, Output


def _hostport(rule: dict[str, Any], side: str) -> str:
    ip = rule.get(f"{side}_ip") or "any"
    port = rule.get(f"{side}_port")
    return f"{ip}:{port}" if port not in (None, "") else str(ip)


def _matcher(rule: dict[str, Any]) -> str:
    """An L7 matcher object as ``protocol k=v ...`` (null fields left out)."""
    matcher = rule.get("matcher")
    if not isinstance(matcher, dict):
        return str(rule.get("protocol", "-"))
    extra = " ".join(f"{k}={v}" for k, v in sorted(matcher.items()) if k != "protocol" and v is not None)
    return f"{matcher.get('protocol', '?')} {extra}".strip()


@dataclass(frozen=True)
class RuleSet:
    """One REST rule collection: where it lives and how its table looks."""

    noun: str
    title: str
    path: str
    columns: Sequence[Column]

    def list(self, client: ApiClient, out: Output, _: argparse.Namespace) -> int:
        rules = client.get(self.path)
        out.emit(rules, lambda r: out.rows(self.title, self.columns, r))
        return EXIT_OK

    def add(self, client: ApiClient, out: Output, args: argparse.Namespace) -> int:
        body = json_body(args.json)
        created = client.send("POST", self.path, body)
        out.emit(created, lambda c: out.fields(f"created {self.title[:-1]}", c, ("id",)))
        return EXIT_OK

    def delete(self, client: ApiClient, out: Output, args: argparse.Namespace) -> int:
        client.send("DELETE", f"{self.path}/{segment(args.id)}")
        result = {"deleted": args.id}
        out.emit(result, lambda _: out.print(f"deleted {self.title[:-1]} '{args.id}'"))
        return EXIT_OK

    def register(self, sub: Any, help_text: str) -> None:
        verbs = group(sub, self.noun, help_text)
        leaf(verbs, "list", f"list {self.title} (GET {self.path})").set_defaults(handler=self.list)
        add = leaf(verbs, "add", f"create one (POST {self.path})")
        add.add_argument("--json", required=True, help="rule as a JSON object, @FILE, or - for stdin")
        add.set_defaults(handler=self.add)
        delete = leaf(verbs, "delete", f"delete one (DELETE {self.path}/ID)")
        delete.add_argument("id", help="rule id")
        delete.set_defaults(handler=self.delete)


FIREWALL = RuleSet(
    "firewall",
    "firewall rules",
    "/api/v1/firewall/rules",
    [
        ("ID", "id"),
        ("Prio", "priority"),
        ("Action", "action"),
        ("Proto", "protocol"),
        ("Source", lambda r: _hostport(r, "src")),
        ("Destination", lambda r: _hostport(r, "dst")),
        ("Scope", "scope"),
        ("On", "enabled"),
    ],
)
L7 = RuleSet(
    "l7",
    "L7 rules",
    "/api/v1/firewall/l7-rules",
    [
        ("ID", "id"),
        ("Prio", "priority"),
        ("Action", "action"),
        ("Matcher", _matcher),
        ("Destination", lambda r: _hostport(r, "dst")),
        ("On", "enabled"),
    ],
)
RATELIMIT = RuleSet(
    "ratelimit",
    "rate-limit rules",
    "/api/v1/ratelimit/rules",
    [
        ("ID", "id"),
        ("Source", "src_ip"),
        ("Rate", "rate"),
        ("Burst", "burst"),
        ("Algorithm", "algorithm"),
        ("Action", "action"),
        ("On", "enabled"),
    ],
)
