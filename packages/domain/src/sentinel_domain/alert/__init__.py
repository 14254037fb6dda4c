"""Alerts: the value object every engine's detections become, its MITRE mapping and EVE form."""

from sentinel_domain.alert.entity import Alert, AlertAction, Component, alert_id
from sentinel_domain.alert.eve import eve_severity, eve_timestamp, signature_id, to_eve
from sentinel_domain.alert.mitre import (
    CoverageEntry,
    coverage,
    mitre_for_dlp,
    mitre_for_dns,
    mitre_for_firewall,
    mitre_for_ids,
    mitre_for_l7,
    mitre_for_ratelimit,
    mitre_for_threatintel,
)

__all__ = [
    "Alert",
    "AlertAction",
    "Component",
    "CoverageEntry",
    "alert_id",
    "coverage",
    "eve_severity",
    "eve_timestamp",
    "mitre_for_dlp",
    "mitre_for_dns",
    "mitre_for_firewall",
    "mitre_for_ids",
    "mitre_for_l7",
    "mitre_for_ratelimit",
    "mitre_for_threatintel",
    "signature_id",
    "to_eve",
]
