"""Alert ⇄ JSON-ready dict with every field (``Alert.to_dict`` is the contract's wire form and
drops ``extra``; the spool needs the alert back exactly as it was accepted)."""

import dataclasses
import enum
import ipaddress
from collections.abc import Callable
from typing import Any

from sentinel_domain.alert import Alert, AlertAction, Component
from sentinel_domain.common import MitreRef, Severity

_DECODERS: dict[str, Callable[[Any], object]] = {
    "component": Component,
    "severity": Severity,
    "action": AlertAction,
    "src": ipaddress.ip_address,
    "dst": ipaddress.ip_address,
    "mitre": lambda v: MitreRef(*v),
    "extra": lambda v: tuple((str(k), str(x)) for k, x in v),
}
_FIELDS = frozenset(f.name for f in dataclasses.fields(Alert))


def alert_to_record(alert: Alert) -> dict[str, object]:
    """Every non-None field; enums by value, addresses as text, MITRE as a 3-list."""
    out: dict[str, object] = {}
    for name in sorted(_FIELDS):
        value = getattr(alert, name)
        if value is None:
            continue
        if isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
            value = str(value)
        elif isinstance(value, MitreRef):
            value = [value.technique_id, value.technique_name, value.tactic]
        elif name == "extra":
            value = [list(pair) for pair in value]
        out[name] = value
    return out


def alert_from_record(record: dict[str, Any]) -> Alert:
    """Inverse of :func:`alert_to_record`; unknown keys (a newer writer) are ignored."""
    kwargs = {name: _decode(name, value) for name, value in record.items() if name in _FIELDS}
    return Alert(**kwargs)  # type: ignore[arg-type]


def _decode(name: str, value: Any) -> object:
    decoder = _DECODERS.get(name)
    return value if decoder is None else decoder(value)
