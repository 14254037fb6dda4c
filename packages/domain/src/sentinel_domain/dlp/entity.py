"""DLP patterns and findings (contract §1.6, §7.5; deviation 9)."""

import enum
from dataclasses import dataclass

from sentinel_domain.alert.mitre import mitre_for_dlp
from sentinel_domain.common.mitre import MitreRef
from sentinel_domain.common.severity import Severity

DATA_TYPE_PCI = "pci"
DATA_TYPE_PII = "pii"
DATA_TYPE_CREDENTIALS = "credentials"


def dlp_mitre(data_type: str) -> MitreRef:
    """The MITRE technique of a DLP finding of ``data_type`` (contract §7.10, one shared table):
    pii T1048, credentials T1048.003, pci and anything else T1041."""
    return mitre_for_dlp(data_type)


def redacted_message(name: str, data_type: str, pid: int) -> str:
    """The contract's alert message; it never contains the matched text."""
    return f"DLP pattern {name} ({data_type}) matched on pid {pid} ([REDACTED:{data_type}])"


class DlpMode(enum.Enum):
    """Only ``alert`` exists: DLP observes ``SSL_write``/``SSL_read`` and cannot block (OSS)."""

    ALERT = "alert"


@dataclass(frozen=True, slots=True)
class DlpPattern:
    """One detection pattern.

    ``regex`` is in the hyperscan/RE2 common subset (no lookaround, no backreferences).
    ``validator`` names a built-in validator that extracts and checks the value around each
    match end (None for custom patterns, which are reported on the regex alone).
    ``supersedes``: ids of patterns whose overlapping findings this pattern's findings replace.
    """

    id: str
    name: str
    regex: str
    severity: Severity
    data_type: str
    mode: DlpMode = DlpMode.ALERT
    description: str = ""
    enabled: bool = True
    validator: str | None = None
    supersedes: tuple[str, ...] = ()
    builtin: bool = False


@dataclass(frozen=True, slots=True)
class DlpFinding:
    """One match. Offsets count captured bytes from the start of the scanned stream.

    ``start`` is None for custom patterns (the matcher reports only where a match ends).
    ``preview`` is redacted (see ``_extract``); the matched value itself is never kept.
    """

    pattern_id: str
    name: str
    data_type: str
    severity: Severity
    mode: DlpMode
    start: int | None
    end: int
    preview: str

    def message(self, pid: int) -> str:
        return redacted_message(self.name, self.data_type, pid)

    @property
    def mitre(self) -> MitreRef:
        return dlp_mitre(self.data_type)
