"""``build_authenticator``: the configured providers (contract §9), or None when auth is off.

Token provider: OIDC if configured, else JWT with a PEM key, else JWT with a JWKS URL. Together
with API keys they form a CompositeAuthenticator. JWKS (and OIDC discovery) are fetched here,
once: a failure aborts the start (contract §9).
"""

from pathlib import Path

from sentinel_adapters.auth.api_keys import ApiKey, ApiKeyAuthenticator
from sentinel_adapters.auth.composite import CompositeAuthenticator
from sentinel_adapters.auth.jwks import JwksError, JwksKeySource, discover_jwks_uri
from sentinel_adapters.auth.jwt_verifier import ALGORITHMS, JwtAuthenticator, KeySource, StaticKeySource
from sentinel_domain.access import parse_role
from sentinel_infrastructure.config.auth import AuthSection, resolve_key_path
from sentinel_ports.authenticator import Authenticator
from sentinel_ports.clock import Clock


class AuthSetupError(Exception):
    """The authenticator cannot be built (unreadable key, JWKS or discovery unreachable)."""


def _token_provider(section: AuthSection, base_dir: Path, clock: Clock | None) -> Authenticator | None:
    keys: KeySource
    if section.oidc is not None:
        oidc = section.oidc
        try:
            url = oidc.jwks_url or discover_jwks_uri(str(oidc.issuer))
            jwks = JwksKeySource(url, ttl_seconds=oidc.jwks_cache_ttl_seconds, clock=clock)
            jwks.load()
        except JwksError as exc:
            raise AuthSetupError(f"oidc: {exc}") from None
        algorithms = (*ALGORITHMS["RS256"], *ALGORITHMS["EdDSA"])
        return JwtAuthenticator(jwks, algorithms, issuer=oidc.issuer, audience=oidc.audience, clock=clock)
    if section.jwt is None:
        return None
    jwt = section.jwt
    if jwt.public_key_path:
        path = resolve_key_path(jwt.public_key_path, base_dir)
        try:
            keys = StaticKeySource.from_pem(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise AuthSetupError(f"jwt.public_key_path {path}: {exc}") from None
    else:
        jwks = JwksKeySource(
            str(jwt.jwks_url),
            ttl_seconds=jwt.jwks_cache_ttl_seconds,
            refresh_on_unknown_kid=jwt.jwks_refresh_on_unknown_kid,
            clock=clock,
        )
        try:
            jwks.load()
        except JwksError as exc:
            raise AuthSetupError(f"jwt.jwks_url: {exc}") from None
        keys = jwks
    return JwtAuthenticator(
        keys, ALGORITHMS.get(jwt.algorithm, ()), issuer=jwt.issuer, audience=jwt.audience, clock=clock
    )


def build_authenticator(
    section: AuthSection, base_dir: Path | None = None, clock: Clock | None = None
) -> Authenticator | None:
    """None when ``auth.enabled`` is false; raises AuthSetupError when a provider cannot start."""
    if not section.enabled:
        return None
    tokens = _token_provider(section, base_dir or Path.cwd(), clock)
    api_keys = None
    if section.api_keys:
        salt = section.api_key_salt.encode("utf-8") if section.api_key_salt else None
        api_keys = ApiKeyAuthenticator(
            (ApiKey(k.name, k.key, parse_role(k.role), frozenset(k.namespaces)) for k in section.api_keys),
            salt,
        )
    return CompositeAuthenticator(tokens, api_keys)
