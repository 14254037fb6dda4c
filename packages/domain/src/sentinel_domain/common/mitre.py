"""A reference to one MITRE ATT&CK technique and its tactic."""

from dataclasses import dataclass

ATTACK_VERSION = "v18"


@dataclass(frozen=True, slots=True)
class MitreRef:
    technique_id: str  # e.g. "T1110.001"
    technique_name: str  # e.g. "Password Guessing"
    tactic: str  # kebab-case, e.g. "credential-access"
