"""Authenticators (contract §9): API keys, JWT with static PEM keys, JWKS and OIDC discovery.

All JOSE work (parsing, signature checks, key import) is joserfc's; this package only decides
which keys to trust and which claims to require.
"""

from sentinel_adapters.auth.api_keys import ApiKey, ApiKeyAuthenticator
from sentinel_adapters.auth.composite import CompositeAuthenticator
from sentinel_adapters.auth.factory import AuthSetupError, build_authenticator
from sentinel_adapters.auth.jwks import JwksKeySource, discover_jwks_uri
from sentinel_adapters.auth.jwt_verifier import JwtAuthenticator, StaticKeySource

__all__ = [
    "ApiKey",
    "ApiKeyAuthenticator",
    "AuthSetupError",
    "CompositeAuthenticator",
    "JwksKeySource",
    "JwtAuthenticator",
    "StaticKeySource",
    "build_authenticator",
    "discover_jwks_uri",
]
