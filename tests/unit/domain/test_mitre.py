"""MITRE ATT&CK mapping tables (contract §7.10)."""

import pytest

from sentinel_domain.alert import (
    coverage,
    mitre_for_dlp,
    mitre_for_dns,
    mitre_for_firewall,
    mitre_for_ids,
    mitre_for_l7,
    mitre_for_ratelimit,
    mitre_for_threatintel,
)
from sentinel_domain.common.mitre import ATTACK_VERSION, MitreRef

IDS = [
    (22, False, "T1021.004", "SSH", "lateral-movement"),
    (23, False, "T1021", "Remote Services", "lateral-movement"),
    (3389, False, "T1021.001", "Remote Desktop Protocol", "lateral-movement"),
    (445, False, "T1021.002", "SMB/Windows Admin Shares", "lateral-movement"),
    (139, False, "T1021.002", "SMB/Windows Admin Shares", "lateral-movement"),
    (25, False, "T1071.003", "Mail Protocols", "command-and-control"),
    (587, False, "T1071.003", "Mail Protocols", "command-and-control"),
    (465, False, "T1071.003", "Mail Protocols", "command-and-control"),
    (53, False, "T1071.004", "DNS", "command-and-control"),
    (80, False, "T1071.001", "Web Protocols", "command-and-control"),
    (8443, False, "T1071.001", "Web Protocols", "command-and-control"),
    (21, False, "T1071.002", "File Transfer Protocols", "command-and-control"),
    (9999, False, "T1071", "Application Layer Protocol", "command-and-control"),
    (22, True, "T1110.001", "Password Guessing", "credential-access"),
    (3389, True, "T1110.001", "Password Guessing", "credential-access"),
    (80, True, "T1110", "Brute Force", "credential-access"),
]

FIREWALL = [
    (22, "T1110.001", "credential-access"),
    (23, "T1021", "lateral-movement"),
    (25, "T1071.003", "command-and-control"),
    (53, "T1071.004", "command-and-control"),
    (80, "T1190", "initial-access"),
    (3306, "T1190", "initial-access"),
    (5432, "T1190", "initial-access"),
    (1433, "T1190", "initial-access"),
    (27017, "T1190", "initial-access"),
    (6379, "T1190", "initial-access"),
    (3389, "T1021.001", "lateral-movement"),
    (139, "T1021.002", "lateral-movement"),
    (5900, "T1021.005", "lateral-movement"),
    (5999, "T1021.005", "lateral-movement"),
    (6000, "T1046", "discovery"),
    (0, "T1046", "discovery"),
]


@pytest.mark.parametrize(("port", "rate", "tid", "name", "tactic"), IDS)
def test_ids(port: int, rate: bool, tid: str, name: str, tactic: str):
    assert mitre_for_ids(port, rate) == MitreRef(tid, name, tactic)


@pytest.mark.parametrize(("port", "tid", "tactic"), FIREWALL)
def test_firewall_and_ips(port: int, tid: str, tactic: str):
    ref = mitre_for_firewall(port)
    assert (ref.technique_id, ref.tactic) == (tid, tactic)
    if tid == "T1046":
        assert ref.technique_name == "Network Service Scanning"
    if tid == "T1190":
        assert ref.technique_name == "Exploit Public-Facing Application"


@pytest.mark.parametrize(
    ("port", "tid", "name", "tactic"),
    [
        (22, "T1110", "Brute Force", "credential-access"),
        (443, "T1499.002", "Service Exhaustion Flood", "impact"),
        (8080, "T1499.002", "Service Exhaustion Flood", "impact"),
        (53, "T1498", "Network Denial of Service", "impact"),
    ],
)
def test_ratelimit(port: int, tid: str, name: str, tactic: str):
    assert mitre_for_ratelimit(port) == MitreRef(tid, name, tactic)


@pytest.mark.parametrize(
    ("port", "tid"),
    [
        (25, "T1071.003"),
        (53, "T1071.004"),
        (443, "T1071.001"),
        (21, "T1071.002"),
        (445, "T1021.002"),
        (7, "T1071"),
    ],
)
def test_l7(port: int, tid: str):
    assert mitre_for_l7(port).technique_id == tid


@pytest.mark.parametrize(
    ("threat", "port", "tid", "tactic"),
    [
        ("malware", 53, "T1071.004", "command-and-control"),
        ("c2", 587, "T1071.003", "command-and-control"),
        ("C2", 443, "T1071.001", "command-and-control"),
        ("malware", 1234, "T1071.001", "command-and-control"),
        ("scanner", 22, "T1110", "credential-access"),
        ("scanner", 3389, "T1110", "credential-access"),
        ("scanner", 80, "T1595", "reconnaissance"),
        ("spam", 25, "T1566", "initial-access"),
        ("other", 53, "T1071.004", "command-and-control"),
        ("other", 80, "T1568", "command-and-control"),
        ("something-new", 80, "T1568", "command-and-control"),
        (2, 53, "T1071.004", "command-and-control"),  # kernel code 2 = c2
        (3, 80, "T1595", "reconnaissance"),  # 3 = scanner
        (4, 80, "T1566", "initial-access"),  # 4 = spam
        (99, 80, "T1568", "command-and-control"),  # unknown code = other
    ],
)
def test_threatintel(threat: str | int, port: int, tid: str, tactic: str):
    ref = mitre_for_threatintel(threat, port)
    assert (ref.technique_id, ref.tactic) == (tid, tactic)


def test_dlp_and_dns():
    assert mitre_for_dlp("pii") == MitreRef("T1048", "Exfiltration Over Alternative Protocol", "exfiltration")
    assert mitre_for_dlp("Credentials").technique_id == "T1048.003"
    assert mitre_for_dlp("pci").technique_id == "T1041"
    assert mitre_for_dlp("iban").technique_name == "Exfiltration Over C2 Channel"
    assert mitre_for_dns("blocklist") == MitreRef("T1071.004", "DNS", "command-and-control")
    assert mitre_for_dns("encrypted").technique_id == "T1071.004"
    assert mitre_for_dns("reputation") == MitreRef("T1568", "Dynamic Resolution", "command-and-control")


def test_coverage_lists_every_mapped_technique_once_per_component_row():
    rows = coverage()
    assert ATTACK_VERSION == "v18"
    component, tid, name, tactic, description = rows[0]  # unpacks as the API's tuple
    assert (component, tid, name, tactic) == (
        "firewall",
        "T1110.001",
        "Password Guessing",
        "credential-access",
    )
    assert description
    components = {r.component for r in rows}
    assert components == {"firewall", "ids", "ips", "ratelimit", "l7", "threatintel", "dlp", "dns"}
    for row in rows:
        assert row.tactic == row.tactic.lower() and " " not in row.tactic
        assert row.technique_id.startswith("T")
    # every technique a mapping function can return appears in the coverage of its component
    by_component = {(r.component, r.technique_id) for r in rows}
    for port in [*range(0, 70000, 97), 21, 22, 23, 25, 53, 80, 139, 443, 445, 3389, 5900, 6379]:
        assert ("firewall", mitre_for_firewall(port).technique_id) in by_component
        assert ("ips", mitre_for_firewall(port).technique_id) in by_component
        assert ("ids", mitre_for_ids(port).technique_id) in by_component
        assert ("ids", mitre_for_ids(port, True).technique_id) in by_component
        assert ("ratelimit", mitre_for_ratelimit(port).technique_id) in by_component
        assert ("l7", mitre_for_l7(port).technique_id) in by_component
        for threat in ("malware", "c2", "scanner", "spam", "other"):
            assert ("threatintel", mitre_for_threatintel(threat, port).technique_id) in by_component
