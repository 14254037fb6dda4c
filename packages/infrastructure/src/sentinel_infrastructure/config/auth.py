"""The ``auth`` section (contract §1.11, §9): models and validation.

``auth_issues`` returns every problem as (path inside ``auth``, message) for the loader to locate.
Extensions (docs/auth.md, deviations): ``oidc.jwks_url`` may be omitted when ``oidc.issuer`` is
set (the JWKS URL then comes from OIDC discovery), and ``oidc.jwks_cache_ttl_seconds``.
"""

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec

ROLES = ("admin", "operator", "viewer")
JWT_ALGORITHMS = ("RS256", "EdDSA")
MIN_RSA_BITS = 2048
MAX_PEM_BYTES = 64 * 1024
MAX_TTL_SECONDS = 7 * 24 * 3600
_NAMESPACE = re.compile(r"[a-z0-9-]{1,63}")  # as firewall rule scopes (§1.2)

Issues = list[tuple[list[str | int], str]]


class ApiKeyEntry(msgspec.Struct, kw_only=True):
    name: str
    key: str  # plaintext here only; the authenticator keeps a salted hash, GET /config shows ***
    role: str = "viewer"
    namespaces: list[str] = []


class JwtSection(msgspec.Struct, kw_only=True):
    algorithm: str = "RS256"
    public_key_path: str = ""
    jwks_url: str | None = None
    jwks_cache_ttl_seconds: int = 3600
    jwks_refresh_on_unknown_kid: bool = True
    issuer: str | None = None
    audience: str | None = None


class OidcSection(msgspec.Struct, kw_only=True):
    jwks_url: str | None = None  # extension: optional when issuer is set (OIDC discovery)
    issuer: str | None = None
    audience: str | None = None
    jwks_cache_ttl_seconds: int = 3600  # extension


class AuthSection(msgspec.Struct, kw_only=True):
    enabled: bool = False
    metrics_auth_required: bool = True
    api_key_salt: str | None = None
    api_keys: list[ApiKeyEntry] = []
    jwt: JwtSection | None = None
    oidc: OidcSection | None = None


def _url_issue(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"'{url}' is not an http or https URL"
    return None


def resolve_key_path(path: str, base_dir: Path) -> Path:
    """``jwt.public_key_path``, relative paths against the config file's folder."""
    candidate = Path(path)
    return candidate if candidate.is_absolute() else base_dir / candidate


def public_key_issue(path: Path, algorithm: str) -> str | None:
    """Why the PEM at ``path`` cannot verify ``algorithm`` tokens, or None when it can."""
    # imported here: only configs with a PEM key pay for loading the X.509 machinery
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    try:
        with path.open("rb") as handle:
            pem = handle.read(MAX_PEM_BYTES + 1)
    except OSError as exc:
        return f"cannot read public key file {path}: {exc.strerror}"
    if len(pem) > MAX_PEM_BYTES:
        return f"public key file {path} is larger than {MAX_PEM_BYTES} bytes"
    try:
        key: Any = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        return f"{path} is not a PEM public key"
    if algorithm == "RS256":
        if not isinstance(key, rsa.RSAPublicKey):
            return f"{path} is not an RSA public key (algorithm RS256)"
        if key.key_size < MIN_RSA_BITS:
            return f"{path}: RSA key has {key.key_size} bits; at least {MIN_RSA_BITS} are required"
    elif algorithm == "EdDSA" and not isinstance(key, ed25519.Ed25519PublicKey):
        return f"{path} is not an Ed25519 public key (algorithm EdDSA)"
    return None


def _ttl_issue(value: int) -> str | None:
    if not 1 <= value <= MAX_TTL_SECONDS:
        return f"jwks_cache_ttl_seconds must be 1-{MAX_TTL_SECONDS}"
    return None


def _jwt_issues(jwt: JwtSection, base_dir: Path) -> Issues:
    issues: Issues = []
    if jwt.algorithm not in JWT_ALGORITHMS:
        issues.append((["jwt", "algorithm"], f"invalid algorithm '{jwt.algorithm}': expected RS256 or EdDSA"))
    if jwt.public_key_path and jwt.jwks_url:
        issues.append((["jwt", "jwks_url"], "set either public_key_path or jwks_url, not both"))
    elif not jwt.public_key_path and not jwt.jwks_url:
        issues.append((["jwt"], "jwt needs public_key_path or jwks_url"))
    if jwt.jwks_url:
        problem = _url_issue(jwt.jwks_url)
        if problem:
            issues.append((["jwt", "jwks_url"], problem))
    if jwt.public_key_path and jwt.algorithm in JWT_ALGORITHMS:
        problem = public_key_issue(resolve_key_path(jwt.public_key_path, base_dir), jwt.algorithm)
        if problem:
            issues.append((["jwt", "public_key_path"], problem))
    ttl = _ttl_issue(jwt.jwks_cache_ttl_seconds)
    if ttl:
        issues.append((["jwt", "jwks_cache_ttl_seconds"], ttl))
    return issues


def _oidc_issues(oidc: OidcSection) -> Issues:
    issues: Issues = []
    if not oidc.jwks_url and not oidc.issuer:
        issues.append((["oidc", "jwks_url"], "oidc needs jwks_url, or issuer for discovery"))
    for key in ("jwks_url", "issuer"):
        value = getattr(oidc, key)
        problem = _url_issue(value) if value else None
        if problem and (key == "jwks_url" or not oidc.jwks_url):
            issues.append((["oidc", key], problem))
    ttl = _ttl_issue(oidc.jwks_cache_ttl_seconds)
    if ttl:
        issues.append((["oidc", "jwks_cache_ttl_seconds"], ttl))
    return issues


def _api_key_issues(keys: list[ApiKeyEntry]) -> Issues:
    issues: Issues = []
    names: set[str] = set()
    digests: set[str] = set()
    for i, entry in enumerate(keys):
        if not entry.name.strip():
            issues.append((["api_keys", i, "name"], "name must not be empty"))
        elif entry.name in names:
            issues.append((["api_keys", i, "name"], f"duplicate api key name '{entry.name}'"))
        names.add(entry.name)
        if not entry.key:
            issues.append((["api_keys", i, "key"], "key must not be empty"))
        elif entry.key in digests:
            issues.append((["api_keys", i, "key"], "the same key is configured twice"))
        digests.add(entry.key)
        if entry.role.strip().lower() not in ROLES:
            issues.append(
                (["api_keys", i, "role"], f"invalid role '{entry.role}': expected one of {', '.join(ROLES)}")
            )
        for j, ns in enumerate(entry.namespaces):
            if not _NAMESPACE.fullmatch(ns):
                message = f"invalid namespace '{ns}': 1-63 characters of [a-z0-9-]"
                issues.append((["api_keys", i, "namespaces", j], message))
    return issues


def auth_issues(section: AuthSection, base_dir: Path) -> Issues:
    """Every problem of ``section``, as (path inside ``auth``, message)."""
    issues: Issues = []
    if section.enabled and section.jwt is None and section.oidc is None and not section.api_keys:
        issues.append((["enabled"], "auth is enabled but none of jwt, oidc or api_keys is configured"))
    if section.jwt is not None and section.oidc is not None:
        issues.append((["oidc"], "jwt and oidc cannot both be configured"))
    if section.api_key_salt is not None and not section.api_key_salt:
        issues.append((["api_key_salt"], "api_key_salt must not be empty (omit it for a random salt)"))
    if section.jwt is not None:
        issues += _jwt_issues(section.jwt, base_dir)
    if section.oidc is not None:
        issues += _oidc_issues(section.oidc)
    issues += _api_key_issues(section.api_keys)
    return issues
