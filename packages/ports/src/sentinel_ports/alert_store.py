"""AlertStore: the alert history behind ``GET /api/v1/alerts`` (contract §2.2, §8.1, §10).

Query semantics, shared by every implementation through :meth:`AlertQuery.accepts`:
- every filter left at None matches everything; the set ones must all hold;
- ``component`` and ``rule_id`` compare exactly; ``min_severity`` keeps ``severity >= min``;
- ``from_ns``/``to_ns`` bound ``timestamp_ns`` inclusively;
- ``tactic`` and ``technique`` compare case-insensitively with the alert's MITRE reference, and a
  technique also matches its sub-techniques (``T1110`` matches ``T1110.001``); an alert without
  MITRE matches neither;
- results are newest ``timestamp_ns`` first (equal timestamps: last appended first), then
  ``offset`` matches are skipped and at most ``limit`` returned;
- ``AlertPage.total`` is the number of alerts in the store, not the filtered count (contract).
"""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from sentinel_domain.alert import Alert
from sentinel_domain.common.severity import Severity


@dataclass(frozen=True, slots=True)
class AlertQuery:
    component: str | None = None
    min_severity: Severity | None = None
    rule_id: str | None = None
    false_positive: bool | None = None
    from_ns: int | None = None
    to_ns: int | None = None
    tactic: str | None = None
    technique: str | None = None
    limit: int = 100
    offset: int = 0

    def __post_init__(self) -> None:
        if self.limit < 0 or self.offset < 0:
            raise ValueError(f"limit ({self.limit}) and offset ({self.offset}) must be >= 0")

    def accepts(
        self,
        timestamp_ns: int,
        component: str,
        severity: Severity,
        rule_id: str,
        false_positive: bool,
        technique_id: str | None,
        tactic: str | None,
    ) -> bool:
        """Whether an alert with these fields passes every filter (see the module docstring)."""
        if self.from_ns is not None and timestamp_ns < self.from_ns:
            return False
        if self.to_ns is not None and timestamp_ns > self.to_ns:
            return False
        if self.component is not None and component != self.component:
            return False
        if self.min_severity is not None and severity < self.min_severity:
            return False
        if self.rule_id is not None and rule_id != self.rule_id:
            return False
        if self.false_positive is not None and false_positive != self.false_positive:
            return False
        if self.tactic is not None and (tactic is None or tactic.lower() != self.tactic.lower()):
            return False
        if self.technique is not None:
            if technique_id is None:
                return False
            wanted, have = self.technique.upper(), technique_id.upper()
            if have != wanted and not have.startswith(wanted + "."):
                return False
        return True

    def matches(self, alert: Alert) -> bool:
        """Whether ``alert`` passes every filter."""
        mitre = alert.mitre
        return self.accepts(
            alert.timestamp_ns,
            alert.component.value,
            alert.severity,
            alert.rule_id,
            alert.false_positive,
            mitre.technique_id if mitre is not None else None,
            mitre.tactic if mitre is not None else None,
        )


@dataclass(frozen=True, slots=True)
class AlertPage:
    alerts: tuple[Alert, ...]
    total: int  # alerts in the store (contract: not the filtered count)


class AlertStore(ABC):
    """Alert history, newest first; writes never raise because storage is full."""

    @abstractmethod
    def append(self, alerts: Sequence[Alert]) -> int:
        """Store in one transaction, skipping known ids; returns how many (0 if dropped because full)."""

    @abstractmethod
    def get(self, alert_id: str) -> Alert | None:
        """The stored alert with this id, or None."""

    @abstractmethod
    def query(self, query: AlertQuery) -> AlertPage:
        """Matching alerts newest first, paged by ``query.limit``/``query.offset``, and the store total."""

    @abstractmethod
    def mark_false_positive(self, alert_id: str) -> bool:
        """Set the alert's ``false_positive`` flag (idempotent); False when the id is unknown."""

    @abstractmethod
    def count(self) -> int:
        """Number of alerts stored."""

    @abstractmethod
    def prune(self, now_ns: int, max_age_ns: int | None, max_count: int | None) -> int:
        """Drop alerts older than ``now_ns - max_age_ns``, then the oldest beyond ``max_count``."""

    @abstractmethod
    def stats(self) -> dict[str, int]:
        """Counters: at least ``stored``, ``evicted`` (to make room), ``pruned``, ``dropped`` (when full)."""

    @abstractmethod
    def close(self) -> None:
        """Release the store; it is not used afterwards."""
