"""Port ranges in the contract's three spellings: ``80``, ``"80-443"``, ``{start, end}``."""

from collections.abc import Mapping
from dataclasses import dataclass

from sentinel_domain.common.errors import ValidationError


@dataclass(frozen=True, slots=True)
class PortRange:
    """An inclusive range of TCP/UDP ports, ``start <= end``, both within 0-65535."""

    start: int
    end: int

    def __post_init__(self) -> None:
        for value in (self.start, self.end):
            if not 0 <= value <= 65535:
                raise ValidationError(f"invalid port range '{self}': ports must be 0-65535")
        if self.start > self.end:
            raise ValidationError(f"invalid port range '{self}': start {self.start} > end {self.end}")

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.start <= port <= self.end

    def __str__(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}-{self.end}"


def parse_port_range(value: object) -> PortRange:
    """Accept an int, ``"n"``, ``"a-b"`` or a mapping with ``start``/``end``."""
    if isinstance(value, bool):
        raise ValidationError(f"invalid port range '{value}': expected a number, 'a-b' or {{start, end}}")
    if isinstance(value, int):
        return PortRange(value, value)
    if isinstance(value, str):
        text = value.strip()
        start_s, sep, end_s = text.partition("-")
        if not start_s.strip().isdigit() or (sep and not end_s.strip().isdigit()):
            raise ValidationError(f"invalid port range '{value}': expected 'n' or 'a-b'")
        start = int(start_s)
        return PortRange(start, int(end_s) if sep else start)
    if isinstance(value, Mapping):
        low, high = value.get("start"), value.get("end")
        if not isinstance(low, int) or not isinstance(high, int) or isinstance(low, bool):
            raise ValidationError(f"invalid port range '{value}': start and end must be integers")
        return PortRange(low, high)
    raise ValidationError(f"invalid port range '{value}': expected a number, 'a-b' or {{start, end}}")
