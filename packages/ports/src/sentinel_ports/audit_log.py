"""AuditLog: the audit trail (contract §2.2 ``/api/v1/audit/*``, §10).

Two kinds of record:
- :class:`AuditEntry`, a security decision or event (firewall drop, IPS match, FP marking …);
- :class:`RuleChange`, one change of a rule (actor, time, before/after JSON). Recording a change
  also appends its :meth:`RuleChange.as_entry` row to the trail, so ``query(action=rule_added)``
  finds it, and gives it the next ``version`` of that rule id (1, 2, …; per rule id across
  components, as the contract keys history by ``(rule_id, version)``).

``query`` returns entries newest first (equal timestamps: last recorded first), filtered by
:meth:`AuditQuery.accepts` (``from_ns``/``to_ns`` inclusive, exact component/action/rule id), then
paged; ``total`` is the number of entries stored. Retention (``prune``) applies to the entries;
rule history is kept (the contract sets no limit on it).
"""

import enum
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from sentinel_domain.common.addresses import IpAddress


class AuditAction(enum.Enum):
    PASS = "pass"
    DROP = "drop"
    ALERT = "alert"
    RATE_EXCEEDED = "rate_exceeded"
    CONFIG_CHANGED = "config_changed"
    RULE_ADDED = "rule_added"
    RULE_REMOVED = "rule_removed"
    RULE_UPDATED = "rule_updated"
    POLICY_VIOLATION = "policy_violation"
    FALSE_POSITIVE = "false_positive"


RULE_CHANGE_ACTIONS = frozenset({AuditAction.RULE_ADDED, AuditAction.RULE_REMOVED, AuditAction.RULE_UPDATED})


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One security decision or event; ``detail`` must already be sanitised by the caller."""

    timestamp_ns: int
    component: str
    action: AuditAction
    rule_id: str = ""
    src: IpAddress | None = None
    dst: IpAddress | None = None
    src_port: int = 0
    dst_port: int = 0
    protocol: int = 0
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RuleChange:
    """One rule change; ``before``/``after`` are the rule's JSON text (None when absent).

    ``version`` is given by :meth:`AuditLog.record` (0 before recording).
    """

    timestamp_ns: int
    component: str
    action: AuditAction
    rule_id: str
    actor: str  # api | config_reload | cli
    before: str | None = None
    after: str | None = None
    version: int = 0

    def __post_init__(self) -> None:
        if self.action not in RULE_CHANGE_ACTIONS:
            raise ValueError(
                f"invalid rule change action '{self.action.value}': "
                "expected rule_added, rule_removed or rule_updated"
            )

    def as_entry(self) -> AuditEntry:
        """The trail row recorded with this change."""
        return AuditEntry(
            self.timestamp_ns, self.component, self.action, self.rule_id, detail=f"actor={self.actor}"
        )


@dataclass(frozen=True, slots=True)
class AuditQuery:
    from_ns: int | None = None
    to_ns: int | None = None
    component: str | None = None
    action: AuditAction | None = None
    rule_id: str | None = None
    limit: int = 100
    offset: int = 0

    def __post_init__(self) -> None:
        if self.limit < 0 or self.offset < 0:
            raise ValueError(f"limit ({self.limit}) and offset ({self.offset}) must be >= 0")

    def accepts(self, timestamp_ns: int, component: str, action: str, rule_id: str) -> bool:
        """Whether an entry with these fields (``action`` as its string value) passes every filter."""
        if self.from_ns is not None and timestamp_ns < self.from_ns:
            return False
        if self.to_ns is not None and timestamp_ns > self.to_ns:
            return False
        if self.component is not None and component != self.component:
            return False
        if self.action is not None and action != self.action.value:
            return False
        return self.rule_id is None or rule_id == self.rule_id

    def matches(self, entry: AuditEntry) -> bool:
        """Whether ``entry`` passes every filter."""
        return self.accepts(entry.timestamp_ns, entry.component, entry.action.value, entry.rule_id)


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: tuple[AuditEntry, ...]
    total: int  # entries stored, not the filtered count


class AuditLog(ABC):
    """The audit trail and per-rule history; writes never raise because storage is full."""

    @abstractmethod
    def record(self, entries: Sequence[AuditEntry | RuleChange]) -> int:
        """Append in one transaction (changes get versions); returns how many (0 if dropped when full)."""

    @abstractmethod
    def query(self, query: AuditQuery) -> AuditPage:
        """Matching entries newest first, paged, and the number of entries stored."""

    @abstractmethod
    def history(self, rule_id: str, limit: int = 50) -> list[RuleChange]:
        """The changes of ``rule_id``, highest version first, at most ``limit``."""

    @abstractmethod
    def count(self) -> int:
        """Number of trail entries stored (rule history not included)."""

    @abstractmethod
    def prune(self, now_ns: int, max_age_ns: int | None, max_count: int | None) -> int:
        """Drop entries older than ``now_ns - max_age_ns``, then the oldest beyond ``max_count``."""

    @abstractmethod
    def stats(self) -> dict[str, int]:
        """Counters: at least ``stored``, ``evicted``, ``pruned`` and ``dropped``."""

    @abstractmethod
    def close(self) -> None:
        """Release the log; it is not used afterwards."""
