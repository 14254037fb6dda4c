"""The built-in patterns: the contract's nine (§7.5, same ids, names, data types, severities and
regexes) and five of ours. Every regex is in the hyperscan/RE2 common subset."""

from sentinel_domain.common.severity import Severity
from sentinel_domain.dlp.entity import (
    DATA_TYPE_CREDENTIALS,
    DATA_TYPE_PCI,
    DATA_TYPE_PII,
    DlpPattern,
)

CRITICAL, HIGH, MEDIUM = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM


def _builtin(
    row: tuple[str, str, str, Severity, str, str, str], supersedes: tuple[str, ...] = ()
) -> DlpPattern:
    pattern_id, name, data_type, severity, regex, validator, description = row
    return DlpPattern(
        id=pattern_id,
        name=name,
        regex=regex,
        severity=severity,
        data_type=data_type,
        description=description,
        validator=validator,
        supersedes=supersedes,
        builtin=True,
    )


BUILTIN_PATTERNS: tuple[DlpPattern, ...] = (
    # -- the contract's nine ----------------------------------------------------------------
    _builtin((
        "dlp-pci-visa", "Visa Card Number", DATA_TYPE_PCI, CRITICAL,
        r"\b4[0-9]{12}(?:[0-9]{3})?\b", "visa", "13 or 16 digits starting with 4, Luhn-valid"
    )),
    _builtin((
        "dlp-pci-mastercard", "Mastercard Number", DATA_TYPE_PCI, CRITICAL,
        r"\b5[1-5][0-9]{14}\b", "mastercard", "16 digits starting with 51-55, Luhn-valid"
    )),
    _builtin((
        "dlp-pci-amex", "American Express Number", DATA_TYPE_PCI, CRITICAL,
        r"\b3[47][0-9]{13}\b", "amex", "15 digits starting with 34 or 37, Luhn-valid"
    )),
    _builtin((
        "dlp-pii-email", "Email Address", DATA_TYPE_PII, MEDIUM,
        r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b", "email",
        "local@domain.tld; image names such as logo@2x.png are ignored"
    )),
    _builtin((
        "dlp-pii-ssn", "US Social Security Number", DATA_TYPE_PII, CRITICAL,
        r"\b\d{3}-\d{2}-\d{4}\b", "ssn",
        "AAA-GG-SSSS with area not 000/666/9xx, group not 00, serial not 0000"
    )),
    _builtin((
        "dlp-cred-aws-key", "AWS Access Key", DATA_TYPE_CREDENTIALS, CRITICAL,
        r"\bAKIA[0-9A-Z]{16}\b", "aws_key", "AKIA + 16 characters with entropy >= 2.5 bits"
    )),
    _builtin((
        "dlp-cred-github-token", "GitHub Personal Access Token", DATA_TYPE_CREDENTIALS, CRITICAL,
        r"\bghp_[a-zA-Z0-9]{36}\b", "github_token", "ghp_ + 36 characters with entropy >= 3.5 bits"
    )),
    _builtin((
        "dlp-cred-password", "Generic Password", DATA_TYPE_CREDENTIALS, HIGH,
        r"(?i)(password|passwd|pwd)\s*[:=]\s*\S{8,}", "password",
        "password/passwd/pwd followed by : or = and 8+ non-space characters; placeholders ignored"
    )),
    _builtin((
        "dlp-cred-bearer", "Bearer Token", DATA_TYPE_CREDENTIALS, HIGH,
        r"Bearer\s+[A-Za-z0-9\-._~+/]+=*", "bearer",
        "Bearer + a token of 16+ characters with entropy >= 2.5 bits"
    )),
    # -- ours -------------------------------------------------------------------------------
    _builtin((
        "dlp-pii-iban", "International Bank Account Number", DATA_TYPE_PII, HIGH,
        r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", "iban",
        "IBAN of a known country with its exact length and a valid ISO 7064 mod-97 checksum"
    )),
    _builtin((
        "dlp-cred-slack-token", "Slack Token", DATA_TYPE_CREDENTIALS, CRITICAL,
        r"\bxox[baprs]-[A-Za-z0-9-]{10,}", "slack_token",
        "xoxb-/xoxa-/xoxp-/xoxr-/xoxs- + 20+ characters with entropy >= 3.0 bits"
    )),
    _builtin((
        "dlp-cred-jwt", "JSON Web Token", DATA_TYPE_CREDENTIALS, HIGH,
        r"\beyJ[A-Za-z0-9_-]{7,}\.eyJ[A-Za-z0-9_-]{7,}\.[A-Za-z0-9_-]*", "jwt",
        "three base64url segments whose header decodes to a JSON object with \"alg\""
    )),
    _builtin((
        "dlp-cred-private-key", "Private Key Block", DATA_TYPE_CREDENTIALS, CRITICAL,
        r"-----BEGIN (?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?-----", "private_key",
        "a PEM/OpenSSH/PGP private key header"
    )),
    _builtin((
        "dlp-cred-form-password", "Password in Form Data", DATA_TYPE_CREDENTIALS, HIGH,
        r"(?i)(?:pass|pwd|pw)[A-Za-z0-9_.%\[\]-]{0,40}=[^&\s]{4,}", "form_password",
        "a password-named field of an urlencoded body or query string with a 4+ character value"),
        supersedes=("dlp-cred-password",),
    ),
)  # fmt: skip

CONTRACT_BUILTIN_IDS = tuple(p.id for p in BUILTIN_PATTERNS[:9])
