"""``StreamAlertsRequest`` filters (contract §3).

An empty field is no filter. ``min_severity`` other than medium/high/critical (unknown, ``low``,
empty) lets every alert through. Component and tactic compare lowercase, the technique id
uppercase; an alert without MITRE information fails any tactic or technique filter.
"""

from dataclasses import dataclass

from sentinel_domain.alert import Alert
from sentinel_domain.common import Severity

_THRESHOLDS = {"medium": Severity.MEDIUM, "high": Severity.HIGH, "critical": Severity.CRITICAL}


@dataclass(frozen=True, slots=True)
class AlertFilter:
    min_severity: Severity = Severity.LOW
    component: str = ""
    tactic: str = ""
    technique: str = ""

    @classmethod
    def from_request(
        cls, min_severity: str = "", component: str = "", mitre_tactic: str = "", mitre_technique_id: str = ""
    ) -> "AlertFilter":
        return cls(
            min_severity=_THRESHOLDS.get(min_severity.strip().lower(), Severity.LOW),
            component=component.lower(),
            tactic=mitre_tactic.lower(),
            technique=mitre_technique_id.upper(),
        )

    def matches(self, alert: Alert) -> bool:
        if alert.severity < self.min_severity:
            return False
        if self.component and alert.component.value.lower() != self.component:
            return False
        if self.tactic or self.technique:
            mitre = alert.mitre
            if mitre is None:
                return False
            if self.tactic and mitre.tactic.lower() != self.tactic:
                return False
            if self.technique and mitre.technique_id.upper() != self.technique:
                return False
        return True
