"""MITRE ATT&CK mapping of detections (contract §7.10, ATT&CK ``v18``).

Each component has one table of (condition, technique) rows, first match wins; the same tables
produce :func:`coverage` (``GET /api/v1/mitre/coverage``), so the two can never disagree.
Technique names are the contract's (e.g. T1046 "Network Service Scanning"); tactics are kebab-case.
"""

from typing import NamedTuple

from sentinel_domain.common.mitre import ATTACK_VERSION, MitreRef

__all__ = [
    "ATTACK_VERSION",
    "CoverageEntry",
    "coverage",
    "mitre_for_dlp",
    "mitre_for_dns",
    "mitre_for_firewall",
    "mitre_for_ids",
    "mitre_for_l7",
    "mitre_for_ratelimit",
    "mitre_for_threatintel",
]

_CRED, _LATERAL, _C2 = "credential-access", "lateral-movement", "command-and-control"
_INITIAL, _DISCOVERY, _IMPACT = "initial-access", "discovery", "impact"
_RECON, _EXFIL = "reconnaissance", "exfiltration"

T1110_001 = MitreRef("T1110.001", "Password Guessing", _CRED)
T1110 = MitreRef("T1110", "Brute Force", _CRED)
T1021_004 = MitreRef("T1021.004", "SSH", _LATERAL)
T1021 = MitreRef("T1021", "Remote Services", _LATERAL)
T1021_001 = MitreRef("T1021.001", "Remote Desktop Protocol", _LATERAL)
T1021_002 = MitreRef("T1021.002", "SMB/Windows Admin Shares", _LATERAL)
T1021_005 = MitreRef("T1021.005", "VNC", _LATERAL)
T1071_003 = MitreRef("T1071.003", "Mail Protocols", _C2)
T1071_004 = MitreRef("T1071.004", "DNS", _C2)
T1071_001 = MitreRef("T1071.001", "Web Protocols", _C2)
T1071_002 = MitreRef("T1071.002", "File Transfer Protocols", _C2)
T1071 = MitreRef("T1071", "Application Layer Protocol", _C2)
T1190 = MitreRef("T1190", "Exploit Public-Facing Application", _INITIAL)
T1046 = MitreRef("T1046", "Network Service Scanning", _DISCOVERY)
T1499_002 = MitreRef("T1499.002", "Service Exhaustion Flood", _IMPACT)
T1498 = MitreRef("T1498", "Network Denial of Service", _IMPACT)
T1595 = MitreRef("T1595", "Active Scanning", _RECON)
T1566 = MitreRef("T1566", "Phishing", _INITIAL)
T1568 = MitreRef("T1568", "Dynamic Resolution", _C2)
T1048 = MitreRef("T1048", "Exfiltration Over Alternative Protocol", _EXFIL)
T1048_003 = MitreRef("T1048.003", "Exfiltration Over Unencrypted Non-C2 Protocol", _EXFIL)
T1041 = MitreRef("T1041", "Exfiltration Over C2 Channel", _EXFIL)

MAIL = frozenset({25, 587, 465})
WEB = frozenset({80, 443, 8080, 8443})
SMB = frozenset({445, 139})
EXPOSED = WEB | {3306, 5432, 1433, 27017, 6379}
VNC = frozenset(range(5900, 6000))

# A port table: rows of (ports, technique, description); None ports = the fallback row.
PortTable = tuple[tuple[frozenset[int] | None, MitreRef, str], ...]


def _ports(*ports: int) -> frozenset[int]:
    return frozenset(ports)


_IDS_PORTS: PortTable = (
    (_ports(22), T1021_004, "traffic to SSH (22)"),
    (_ports(23), T1021, "traffic to Telnet (23)"),
    (_ports(3389), T1021_001, "traffic to RDP (3389)"),
    (SMB, T1021_002, "traffic to SMB (139, 445)"),
    (MAIL, T1071_003, "traffic to mail ports (25, 465, 587)"),
    (_ports(53), T1071_004, "traffic to DNS (53)"),
    (WEB, T1071_001, "traffic to web ports (80, 443, 8080, 8443)"),
    (_ports(21), T1071_002, "traffic to FTP (21)"),
    (None, T1071, "traffic to any other port"),
)
_IDS_RATE: PortTable = (
    (_ports(22, 3389), T1110_001, "threshold rule on SSH or RDP (22, 3389)"),
    (None, T1110, "threshold rule on any other port"),
)
_FIREWALL: PortTable = (
    (_ports(22), T1110_001, "blocked traffic to SSH (22)"),
    (_ports(23), T1021, "blocked traffic to Telnet (23)"),
    (MAIL, T1071_003, "blocked traffic to mail ports (25, 465, 587)"),
    (_ports(53), T1071_004, "blocked traffic to DNS (53)"),
    (EXPOSED, T1190, "blocked traffic to exposed services (web, databases, Redis)"),
    (_ports(3389), T1021_001, "blocked traffic to RDP (3389)"),
    (SMB, T1021_002, "blocked traffic to SMB (139, 445)"),
    (VNC, T1021_005, "blocked traffic to VNC (5900-5999)"),
    (None, T1046, "blocked traffic to any other port"),
)
_RATELIMIT: PortTable = (
    (_ports(22), T1110, "rate limit exceeded on SSH (22)"),
    (WEB, T1499_002, "rate limit exceeded on web ports (80, 443, 8080, 8443)"),
    (None, T1498, "rate limit exceeded on any other port"),
)
_L7: PortTable = (
    (MAIL, T1071_003, "L7 rule on mail ports (25, 465, 587)"),
    (_ports(53), T1071_004, "L7 rule on DNS (53)"),
    (WEB, T1071_001, "L7 rule on web ports (80, 443, 8080, 8443)"),
    (_ports(21), T1071_002, "L7 rule on FTP (21)"),
    (SMB, T1021_002, "L7 rule on SMB (139, 445)"),
    (None, T1071, "L7 rule on any other port"),
)
_TI_C2: PortTable = (
    (_ports(53), T1071_004, "malware/C2 IOC, DNS (53)"),
    (MAIL, T1071_003, "malware/C2 IOC, mail ports"),
    (None, T1071_001, "malware/C2 IOC, any other port"),
)
_TI_SCANNER: PortTable = (
    (_ports(22, 3389), T1110, "scanner IOC on SSH or RDP (22, 3389)"),
    (None, T1595, "scanner IOC on any other port"),
)
_TI_SPAM: PortTable = ((None, T1566, "spam IOC"),)
_TI_OTHER: PortTable = (
    (_ports(53), T1071_004, "other IOC, DNS (53)"),
    (None, T1568, "other IOC, any other port"),
)
_TI_TYPES = {"malware": _TI_C2, "c2": _TI_C2, "scanner": _TI_SCANNER, "spam": _TI_SPAM, "other": _TI_OTHER}
_TI_CODES = ("other", "malware", "c2", "scanner", "spam")  # the kernel's threat_type codes
_DLP = {"pii": T1048, "credentials": T1048_003}
_DNS = {"blocklist": T1071_004, "encrypted": T1071_004, "reputation": T1568}


def _lookup(table: PortTable, port: int) -> MitreRef:
    for ports, ref, _ in table:
        if ports is None or port in ports:
            return ref
    raise AssertionError("every table ends with a fallback row")  # pragma: no cover


def mitre_for_ids(dst_port: int, rate_based: bool = False) -> MitreRef:
    """IDS detection: threshold (rate-based) rules are brute force, others by destination port."""
    return _lookup(_IDS_RATE if rate_based else _IDS_PORTS, dst_port)


def mitre_for_firewall(dst_port: int) -> MitreRef:
    """Firewall drop, and IPS (the contract gives both the same table)."""
    return _lookup(_FIREWALL, dst_port)


def mitre_for_ratelimit(dst_port: int) -> MitreRef:
    return _lookup(_RATELIMIT, dst_port)


def mitre_for_l7(dst_port: int) -> MitreRef:
    return _lookup(_L7, dst_port)


def mitre_for_threatintel(threat_type: str | int, dst_port: int) -> MitreRef:
    """By threat type (a name, case-insensitive, or the kernel code 0-4; unknown = other)."""
    if isinstance(threat_type, int) and not isinstance(threat_type, bool):
        name = _TI_CODES[threat_type] if 0 <= threat_type < len(_TI_CODES) else "other"
    else:
        name = str(threat_type).strip().lower()
    return _lookup(_TI_TYPES.get(name, _TI_OTHER), dst_port)


def mitre_for_dlp(data_type: str) -> MitreRef:
    """``pii`` → T1048, ``credentials`` → T1048.003, anything else (``pci``...) → T1041."""
    return _DLP.get(data_type.strip().lower(), T1041)


def mitre_for_dns(kind: str) -> MitreRef:
    """``blocklist`` and ``encrypted`` → T1071.004, ``reputation`` → T1568; unknown kinds are
    DNS-related detections too, so they map to T1071.004."""
    return _DNS.get(kind.strip().lower(), T1071_004)


class CoverageEntry(NamedTuple):
    """One row of the coverage report; unpacks as (component, id, name, tactic, description)."""

    component: str
    technique_id: str
    technique_name: str
    tactic: str
    description: str


def _rows(component: str, table: PortTable) -> list[CoverageEntry]:
    return [CoverageEntry(component, r.technique_id, r.technique_name, r.tactic, d) for _, r, d in table]


def coverage() -> list[CoverageEntry]:
    """Every (component, technique) the agent can report, with what triggers it, in table order."""
    out: list[CoverageEntry] = []
    out += _rows("firewall", _FIREWALL)
    out += _rows("ids", _IDS_PORTS) + _rows("ids", _IDS_RATE)
    out += _rows("ips", _FIREWALL)
    out += _rows("ratelimit", _RATELIMIT)
    out += _rows("l7", _L7)
    for table in (_TI_C2, _TI_SCANNER, _TI_SPAM, _TI_OTHER):
        out += _rows("threatintel", table)
    out += [
        CoverageEntry("dlp", r.technique_id, r.technique_name, r.tactic, f"{k} data") for k, r in _DLP.items()
    ]
    out.append(
        CoverageEntry("dlp", T1041.technique_id, T1041.technique_name, T1041.tactic, "pci and other data")
    )
    out += [
        CoverageEntry("dns", r.technique_id, r.technique_name, r.tactic, f"{k} detection")
        for k, r in _DNS.items()
    ]
    return out
