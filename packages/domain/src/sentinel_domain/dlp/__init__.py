"""Data-loss prevention: built-in and custom patterns, validated matches, redacted findings."""

from sentinel_domain.dlp._builtins import BUILTIN_PATTERNS, CONTRACT_BUILTIN_IDS
from sentinel_domain.dlp._checks import (
    ENTROPY_AWS_BODY,
    ENTROPY_BEARER_TOKEN,
    ENTROPY_GITHUB_BODY,
    ENTROPY_SLACK_BODY,
    IBAN_LENGTHS,
    MIN_BEARER_TOKEN,
    iban_valid,
    luhn_valid,
    shannon_entropy,
    ssn_valid,
)
from sentinel_domain.dlp._config import ALLOWED_ID_PREFIXES, merge_patterns, parse_dlp_mode, parse_pattern
from sentinel_domain.dlp.engine import (
    DEFAULT_CARRY_BYTES,
    DEFAULT_MAX_STATES,
    MAX_CARRY_BYTES,
    DlpEngine,
    DlpScanState,
    DlpStateTable,
)
from sentinel_domain.dlp.entity import (
    DATA_TYPE_CREDENTIALS,
    DATA_TYPE_PCI,
    DATA_TYPE_PII,
    DlpFinding,
    DlpMode,
    DlpPattern,
    dlp_mitre,
    redacted_message,
)
from sentinel_domain.dlp.errors import DlpConfigError

__all__ = [
    "ALLOWED_ID_PREFIXES",
    "BUILTIN_PATTERNS",
    "CONTRACT_BUILTIN_IDS",
    "DATA_TYPE_CREDENTIALS",
    "DATA_TYPE_PCI",
    "DATA_TYPE_PII",
    "DEFAULT_CARRY_BYTES",
    "DEFAULT_MAX_STATES",
    "ENTROPY_AWS_BODY",
    "ENTROPY_BEARER_TOKEN",
    "ENTROPY_GITHUB_BODY",
    "ENTROPY_SLACK_BODY",
    "IBAN_LENGTHS",
    "MAX_CARRY_BYTES",
    "MIN_BEARER_TOKEN",
    "DlpConfigError",
    "DlpEngine",
    "DlpFinding",
    "DlpMode",
    "DlpPattern",
    "DlpScanState",
    "DlpStateTable",
    "dlp_mitre",
    "iban_valid",
    "luhn_valid",
    "merge_patterns",
    "parse_dlp_mode",
    "parse_pattern",
    "redacted_message",
    "shannon_entropy",
    "ssn_valid",
]
