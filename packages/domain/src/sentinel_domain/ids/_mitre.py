"""MITRE ATT&CK for IDS alerts: the rule's metadata when it names a technique, else the contract's
IDS port mapping (§7.10). A private copy: engines do not import each other."""

from sentinel_domain.common.mitre import MitreRef

_CRED, _LATERAL, _C2 = "credential-access", "lateral-movement", "command-and-control"
_BY_PORT = {
    22: MitreRef("T1021.004", "SSH", _LATERAL),
    23: MitreRef("T1021", "Remote Services", _LATERAL),
    3389: MitreRef("T1021.001", "Remote Desktop Protocol", _LATERAL),
    445: MitreRef("T1021.002", "SMB/Windows Admin Shares", _LATERAL),
    139: MitreRef("T1021.002", "SMB/Windows Admin Shares", _LATERAL),
    25: MitreRef("T1071.003", "Mail Protocols", _C2),
    587: MitreRef("T1071.003", "Mail Protocols", _C2),
    465: MitreRef("T1071.003", "Mail Protocols", _C2),
    53: MitreRef("T1071.004", "DNS", _C2),
    80: MitreRef("T1071.001", "Web Protocols", _C2),
    443: MitreRef("T1071.001", "Web Protocols", _C2),
    8080: MitreRef("T1071.001", "Web Protocols", _C2),
    8443: MitreRef("T1071.001", "Web Protocols", _C2),
    21: MitreRef("T1071.002", "File Transfer Protocols", _C2),
}
_OTHER = MitreRef("T1071", "Application Layer Protocol", _C2)
_PASSWORD_GUESSING = MitreRef("T1110.001", "Password Guessing", _CRED)
_BRUTE_FORCE = MitreRef("T1110", "Brute Force", _CRED)
TACTICS = {
    "TA0001": "initial-access", "TA0002": "execution", "TA0003": "persistence",
    "TA0004": "privilege-escalation", "TA0005": "defense-evasion", "TA0006": "credential-access",
    "TA0007": "discovery", "TA0008": "lateral-movement", "TA0009": "collection",
    "TA0010": "exfiltration", "TA0011": "command-and-control", "TA0040": "impact",
    "TA0042": "resource-development", "TA0043": "reconnaissance",
}  # fmt: skip


def mitre_for_port(dst_port: int | None, rate_based: bool) -> MitreRef:
    """Contract §7.10, IDS row: rate-based rules map to brute force, others by destination port."""
    if rate_based:
        return _PASSWORD_GUESSING if dst_port in (22, 3389) else _BRUTE_FORCE
    return _BY_PORT.get(dst_port or 0, _OTHER)


def mitre_from_metadata(metadata: dict[str, str]) -> MitreRef | None:
    """From Suricata metadata keys ``mitre_technique_id`` (required), ``mitre_technique_name``,
    ``mitre_tactic_id``/``mitre_tactic_name``; names use ``_`` for spaces, as ET rules write them.
    The tactic is kebab-case, "" when the rule names none."""
    technique = metadata.get("mitre_technique_id", "").strip()
    if not technique:
        return None
    name = metadata.get("mitre_technique_name", "").strip().replace("_", " ") or technique
    tactic = TACTICS.get(metadata.get("mitre_tactic_id", "").strip().upper(), "")
    if not tactic:
        tactic = metadata.get("mitre_tactic_name", "").strip().lower().replace("_", "-").replace(" ", "-")
    return MitreRef(technique, name, tactic)
