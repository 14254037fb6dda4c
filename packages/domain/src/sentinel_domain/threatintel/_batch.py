"""A compact, immutable sequence of IOCs sharing one feed's attributes.

A million-line feed would cost a million ``Ioc`` objects (seconds on this machine kind and
~150 MB); a batch keeps columns instead (canonical values, one kind byte each, and per-IOC
confidence, threat type and expiry only when they differ from the feed's) and builds an ``Ioc``
only when one is asked for. The database reads the columns directly.
"""

from collections.abc import Iterator, Sequence
from itertools import repeat
from typing import overload

from sentinel_domain.threatintel import _indicators as ind
from sentinel_domain.threatintel.entity import Ioc, IocAction, IocKind, ThreatType

KIND_OF_CODE = (IocKind.IP, IocKind.IP, IocKind.IP, IocKind.IP, IocKind.DOMAIN, IocKind.URL)
_THREATS = tuple(ThreatType)


class IocBatch(Sequence[Ioc]):
    """IOCs of one feed. Build with :class:`BatchBuilder`; read like a tuple of ``Ioc``."""

    __slots__ = (
        "_codes",
        "_confidences",
        "_expires",
        "_threats",
        "_values",
        "action",
        "confidence",
        "expires_at",
        "feed_id",
        "threat_type",
    )

    def __init__(
        self,
        values: list[str],
        codes: bytes,
        *,
        feed_id: str = "",
        confidence: int = 100,
        threat_type: ThreatType = ThreatType.OTHER,
        expires_at: float | None = None,
        action: IocAction = IocAction.ALERT,
        confidences: list[int] | None = None,
        threats: bytes | None = None,
        expires: list[float | None] | None = None,
    ) -> None:
        self._values = values
        self._codes = codes
        self.feed_id = feed_id
        self.confidence = confidence
        self.threat_type = threat_type
        self.expires_at = expires_at
        self.action = action
        self._confidences = confidences
        self._threats = threats
        self._expires = expires

    def __len__(self) -> int:
        return len(self._values)

    @overload
    def __getitem__(self, index: int) -> Ioc: ...
    @overload
    def __getitem__(self, index: slice) -> list[Ioc]: ...
    def __getitem__(self, index: int | slice) -> Ioc | list[Ioc]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        value = self._values[index]  # raises IndexError like a list
        i = index if index >= 0 else index + len(self._values)
        return Ioc(
            KIND_OF_CODE[self._codes[i]],
            value,
            self.feed_id,
            self._confidences[i] if self._confidences is not None else self.confidence,
            _THREATS[self._threats[i]] if self._threats is not None else self.threat_type,
            self._expires[i] if self._expires is not None else self.expires_at,
            self.action,
        )

    def rank(self, i: int) -> tuple[int, int, float]:
        """(confidence, action code, expiry or +inf) of item ``i``, without building an Ioc."""
        conf = self._confidences[i] if self._confidences is not None else self.confidence
        exp = self._expires[i] if self._expires is not None else self.expires_at
        return (conf, int(self.action), float("inf") if exp is None else exp)

    def __iter__(self) -> Iterator[Ioc]:
        for i in range(len(self._values)):
            yield self[i]

    def __repr__(self) -> str:
        return f"IocBatch(feed_id={self.feed_id!r}, len={len(self)})"

    def columns(
        self,
    ) -> tuple[Sequence[str], Sequence[int], Iterator[int], Iterator[int], Iterator[float | None]]:
        """(values, kind codes, confidences, threat codes, expiries), for bulk readers."""
        n = len(self._values)
        conf = iter(self._confidences) if self._confidences is not None else repeat(self.confidence, n)
        threats = iter(self._threats) if self._threats is not None else repeat(int(self.threat_type), n)
        expires = iter(self._expires) if self._expires is not None else repeat(self.expires_at, n)
        return self._values, self._codes, conf, threats, expires


class BatchBuilder:
    """Accumulates IOCs for one feed; per-IOC columns are only materialised when an IOC differs."""

    def __init__(
        self,
        feed_id: str,
        confidence: int,
        threat_type: ThreatType,
        expires_at: float | None,
        action: IocAction,
    ) -> None:
        self.feed_id = feed_id
        self.confidence = confidence
        self.threat_type = threat_type
        self.expires_at = expires_at
        self.action = action
        self.values: list[str] = []
        self.codes = bytearray()
        self.confidences: list[int] | None = None
        self.threats: bytearray | None = None
        self.expires: list[float | None] | None = None

    def __len__(self) -> int:
        return len(self.values)

    def add(
        self,
        code: int,
        value: str,
        confidence: int | None = None,
        threat_type: ThreatType | None = None,
        expires_at: float | None = None,
    ) -> None:
        n = len(self.values)
        self.values.append(value)
        self.codes.append(code)
        conf = self.confidence if confidence is None else confidence
        if self.confidences is None and conf != self.confidence:
            self.confidences = [self.confidence] * n
        if self.confidences is not None:
            self.confidences.append(conf)
        threat = self.threat_type if threat_type is None else threat_type
        if self.threats is None and threat != self.threat_type:
            self.threats = bytearray([int(self.threat_type)]) * n
        if self.threats is not None:
            self.threats.append(int(threat))
        exp = self.expires_at if expires_at is None else expires_at
        if self.expires is None and exp != self.expires_at:
            self.expires = [self.expires_at] * n
        if self.expires is not None:
            self.expires.append(exp)

    def extend_ipv4_hosts(self, values: list[str]) -> None:
        """Append canonical IPv4 host strings sharing the feed's attributes (the fast path)."""
        n = len(values)
        if self.values:
            self.values.extend(values)
        else:
            self.values = values  # the caller hands the list over; no million-item copy
        self.codes.extend(bytes(n) if ind.V4_HOST == 0 else bytes([ind.V4_HOST]) * n)
        if self.confidences is not None:
            self.confidences.extend(repeat(self.confidence, n))
        if self.threats is not None:
            self.threats.extend(bytes([int(self.threat_type)]) * n)
        if self.expires is not None:
            self.expires.extend(repeat(self.expires_at, n))

    def build(self) -> IocBatch:
        return IocBatch(
            self.values,
            bytes(self.codes),
            feed_id=self.feed_id,
            confidence=self.confidence,
            threat_type=self.threat_type,
            expires_at=self.expires_at,
            action=self.action,
            confidences=self.confidences,
            threats=bytes(self.threats) if self.threats is not None else None,
            expires=self.expires,
        )
