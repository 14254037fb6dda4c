"""Rule header fields: addresses and ports with ``any``, ``!``, ``[lists]`` and ``$VARIABLES``.

Variables are supplied by the caller (``{"HOME_NET": "[10.0.0.0/8,192.168.0.0/16]"}``, names
without the ``$``); a variable's value is parsed like the field it appears in, so it may itself
hold lists, negations and other variables, up to ``MAX_VARIABLE_DEPTH`` levels.
"""

from collections.abc import Callable, Mapping
from typing import TypeVar

from sentinel_domain.common.addresses import parse_cidr
from sentinel_domain.common.errors import ValidationError
from sentinel_domain.common.ports import PortRange
from sentinel_domain.ids._signature import ANY_ADDRESS, ANY_PORTS, AddressSpec, PortSpec
from sentinel_domain.ids.errors import SignatureError

MAX_VARIABLE_DEPTH = 8
MAX_LIST_ITEMS = 4096
Spec = TypeVar("Spec", AddressSpec, PortSpec)


def _split_list(inner: str, field: str) -> list[str]:
    items: list[str] = []
    depth, current = 0, list[str]()
    for char in inner:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if char == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    items.append("".join(current).strip())
    if any(not item for item in items):
        raise SignatureError(f"{field}: empty item in list '[{inner}]'")
    if len(items) > MAX_LIST_ITEMS:
        raise SignatureError(f"{field}: list has more than {MAX_LIST_ITEMS} items")
    return items


def _parse(
    text: str,
    field: str,
    variables: Mapping[str, str],
    leaf: Callable[[str], Spec],
    make: Callable[[str, tuple[Spec, ...]], Spec],
    any_spec: Spec,
    depth: int = 0,
) -> Spec:
    text = text.strip()
    if depth > MAX_VARIABLE_DEPTH:
        raise SignatureError(f"{field}: variables nested deeper than {MAX_VARIABLE_DEPTH} (a cycle?)")
    if not text:
        raise SignatureError(f"{field}: empty value")

    def again(sub: str) -> Spec:
        return _parse(sub, field, variables, leaf, make, any_spec, depth + 1)

    if text.startswith("!"):
        inner = again(text[1:])
        if inner.kind == "any":
            raise SignatureError(f"{field}: '!any' matches nothing")
        return make("not", (inner,))
    if text.startswith("["):
        if not text.endswith("]"):
            raise SignatureError(f"{field}: unterminated list '{text}'")
        return make("list", tuple(again(item) for item in _split_list(text[1:-1], field)))
    if text.startswith("$"):
        name = text[1:]
        if name not in variables:
            raise SignatureError(f"{field}: undefined variable '${name}'")
        return again(variables[name])
    if text.lower() == "any":
        return any_spec
    return leaf(text)


def _network(text: str) -> AddressSpec:
    try:
        return AddressSpec("net", parse_cidr(text))
    except ValidationError as exc:
        raise SignatureError(f"address: {exc}") from None


def _port_range(text: str) -> PortSpec:
    """``80``, ``1024:``, ``:1023``, ``1024:65535`` (inclusive)."""
    low, sep, high = text.partition(":")
    low, high = low.strip(), high.strip()
    for part in (low, high):
        if part and (not part.isdigit() or len(part) > 5):
            raise SignatureError(f"port: invalid port '{text}': expected n, n:m, n: or :m")
    if not sep and not low:
        raise SignatureError(f"port: invalid port '{text}'")
    start = int(low) if low else 0
    end = (int(high) if high else 65535) if sep else start
    try:
        return PortSpec("range", PortRange(start, end))
    except ValidationError as exc:
        raise SignatureError(f"port: {exc}") from None


def parse_addresses(text: str, variables: Mapping[str, str]) -> AddressSpec:
    """Parse a header address field (``any``, CIDR, ``!x``, ``[a, b]``, ``$VAR``)."""

    def make(kind: str, items: tuple[AddressSpec, ...]) -> AddressSpec:
        return AddressSpec(kind, None, items)

    return _parse(text, "address", variables, _network, make, ANY_ADDRESS)


def parse_ports(text: str, variables: Mapping[str, str]) -> PortSpec:
    """Parse a header port field (``any``, ``80``, ``1024:``, ``!x``, ``[a, b]``, ``$VAR``)."""

    def make(kind: str, items: tuple[PortSpec, ...]) -> PortSpec:
        return PortSpec(kind, None, items)

    return _parse(text, "port", variables, _port_range, make, ANY_PORTS)
