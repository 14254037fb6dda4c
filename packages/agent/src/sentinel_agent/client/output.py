"""How client commands print: ``-o json`` (stable: sorted keys, the API's JSON unchanged) or
``-o table`` (rich tables that stay readable at 80 columns)."""

import datetime
import ipaddress
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

SHORT_COLUMN = 14  # characters: "MM-DD HH:MM:SS"
ID_COLUMN = 24  # a first (key) column keeps up to this many characters on one line

Column = tuple[str, str | Callable[[dict[str, Any]], Any]]


def dumps(data: Any) -> str:
    """The JSON text every ``-o json`` command prints: sorted keys, 2-space indent."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False)


def cell(value: Any) -> str:
    """One value as table text: '-' for missing, yes/no for booleans, compact JSON for objects."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(cell(v) for v in value) if value else "-"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def clock(timestamp_ns: Any) -> str:
    """Epoch nanoseconds → local ``MM-DD HH:MM:SS`` (the alert and audit timestamps; JSON keeps ns)."""
    if not isinstance(timestamp_ns, int):
        return cell(timestamp_ns)
    moment = datetime.datetime.fromtimestamp(timestamp_ns / 1e9)
    return moment.strftime("%m-%d %H:%M:%S")


def address(words: Any, is_ipv6: bool) -> str:
    """The API's ``[u32;4]`` address words (contract conventions) → dotted or colon notation."""
    if not isinstance(words, list) or len(words) != 4:
        return cell(words)
    if not is_ipv6:
        return str(ipaddress.IPv4Address(int(words[0]) & 0xFFFFFFFF))
    packed = b"".join((int(w) & 0xFFFFFFFF).to_bytes(4, "big") for w in words)
    return str(ipaddress.IPv6Address(packed))


def endpoint(alert: dict[str, Any]) -> str:
    """``src:port → dst:port`` of an alert (ports omitted when 0, as for ICMP)."""
    ipv6 = bool(alert.get("is_ipv6"))

    def side(prefix: str) -> str:
        ip = address(alert.get(f"{prefix}_addr"), ipv6)
        port = alert.get(f"{prefix}_port") or 0
        if not port:
            return ip
        return f"[{ip}]:{port}" if ipv6 else f"{ip}:{port}"

    return f"{side('src')} → {side('dst')}"


class Output:
    """Prints results in the chosen mode; errors always go to stderr as plain text."""

    def __init__(self, mode: str, console: Console | None = None) -> None:
        self.mode = mode
        # No markup/highlighting: API text (rule ids, messages) is printed literally.
        self.console = console or Console(markup=False, highlight=False, emoji=False)

    @property
    def json(self) -> bool:
        return self.mode == "json"

    def emit(self, data: Any, render: Callable[[Any], None]) -> None:
        """JSON mode: print ``data`` as stable JSON; table mode: call ``render(data)``."""
        if self.json:
            print(dumps(data))
        else:
            render(data)

    def print(self, *items: Any) -> None:
        self.console.print(*items)

    def rows(self, title: str, columns: Sequence[Column], items: Iterable[dict[str, Any]]) -> None:
        """A table with one row per item; a column is (header, key) or (header, function)."""
        items = list(items)
        if not items:
            self.console.print(f"{title}: (none)")
            return
        self.console.print(build_table(title, columns, items))

    def fields(self, title: str, data: dict[str, Any], order: Sequence[str] = ()) -> None:
        """A two-column key/value table; keys in ``order`` first, then the rest sorted."""
        table = Table(title=title, show_header=False, title_justify="left")
        table.add_column("field", style="bold", no_wrap=True)
        table.add_column("value", overflow="fold")
        keys = [k for k in order if k in data] + sorted(k for k in data if k not in order)
        for key in keys:
            table.add_row(key, cell(data[key]))
        self.console.print(table)


def build_table(title: str, columns: Sequence[Column], items: Sequence[dict[str, Any]]) -> Table:
    """The rich Table for ``items``; cells fold rather than overflow so 80 columns stay readable."""
    # SIMPLE_HEAD without edges, and one space of padding between columns (its vertical rule is a
    # space too): two characters between columns and none at the edges, the room is for the data.
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
    )
    rows = [
        [cell(get(item)) if callable(get) else cell(item.get(get)) for _, get in columns] for item in items
    ]
    for index, (header, _) in enumerate(columns):
        # Short columns (times, severities, ports) never wrap, so only long ones fold at 80 columns.
        widest = max([len(header), *(len(row[index]) for row in rows)])
        # The first column is the row's key (rule id, IP, domain): folded last, up to ID_COLUMN.
        keep = min(widest, ID_COLUMN) if index == 0 else None
        table.add_column(header, overflow="fold", no_wrap=widest <= SHORT_COLUMN, min_width=keep)
    for row in rows:
        table.add_row(*row)
    return table


def fail(message: str) -> None:
    """An error line on stderr, prefixed with the program name."""
    print(f"ebpfsentinel-agent: error: {message}", file=sys.stderr)
