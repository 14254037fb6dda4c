"""JWT bearer tokens (contract §9): RS256 / EdDSA only, keys from configuration (PEM) or a JWKS,
``exp``/``nbf``/``iat`` with a small leeway, ``iss``/``aud`` when configured.

Headers that point at keys (``jku``, ``x5u``, ``jwk``, ``x5c``) are never used: the key is always
one the operator configured. Signature and claim checks are joserfc's.
"""

import warnings
from collections.abc import Collection
from typing import Any, Protocol

from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
    SecurityWarning,
)
from joserfc.jwk import OKPKey, RSAKey, import_key
from joserfc.jwt import JWTClaimsRegistry

from sentinel_adapters.auth._clock import SystemClock
from sentinel_domain.access import Principal, parse_role
from sentinel_ports.authenticator import AuthenticationError, Authenticator, Credentials
from sentinel_ports.clock import Clock

# RFC 9864 renames EdDSA to Ed25519; joserfc warns on every EdDSA token. Both are accepted.
warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)

LEEWAY_SECONDS = 30  # clock skew allowed on exp / nbf / iat
MAX_TOKEN_BYTES = 16 * 1024
MIN_RSA_BITS = 2048
ALGORITHMS = {"RS256": ("RS256",), "EdDSA": ("EdDSA", "Ed25519")}
_KEY_TYPE = {"RS256": RSAKey, "EdDSA": OKPKey, "Ed25519": OKPKey}

PublicKey = RSAKey | OKPKey


class KeySource(Protocol):
    def key_for(self, kid: str | None, alg: str) -> PublicKey | None:
        """The key that may verify a token with this ``kid`` and ``alg``; None if there is none."""


class StaticKeySource:
    """One configured public key (``jwt.public_key_path``); the token's ``kid`` is not used."""

    def __init__(self, key: PublicKey) -> None:
        self.key = key

    @classmethod
    def from_pem(cls, pem: bytes) -> "StaticKeySource":
        key: PublicKey | None = None
        for key_type in ("RSA", "OKP"):
            try:
                imported = import_key(pem, key_type)
            except (JoseError, ValueError, TypeError):
                continue
            if isinstance(imported, RSAKey | OKPKey):
                key = imported
                break
        if key is None:
            raise ValueError("not a PEM RSA or Ed25519 public key")
        if key.is_private:
            raise ValueError("a private key was given; configure the public key")
        if isinstance(key, RSAKey):
            if key.raw_value.key_size < MIN_RSA_BITS:
                raise ValueError(f"RSA key has {key.raw_value.key_size} bits; at least {MIN_RSA_BITS}")
            return cls(key)
        if isinstance(key, OKPKey) and key.curve_name == "Ed25519":
            return cls(key)
        raise ValueError("only RSA (RS256) and Ed25519 (EdDSA) public keys are supported")

    def key_for(self, kid: str | None, alg: str) -> PublicKey | None:
        return self.key


def _string_list(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """``role`` (else the first of ``roles``; missing/unknown ⇒ viewer) and ``namespaces``."""
    role = claims.get("role")
    if role is None:
        roles = _string_list(claims.get("roles"))
        role = roles[0] if roles else None
    return Principal(str(claims["sub"]), parse_role(role), frozenset(_string_list(claims.get("namespaces"))))


class JwtAuthenticator(Authenticator):
    def __init__(
        self,
        keys: KeySource,
        algorithms: Collection[str],
        *,
        issuer: str | None = None,
        audience: str | None = None,
        leeway_seconds: int = LEEWAY_SECONDS,
        clock: Clock | None = None,
    ) -> None:
        unknown = set(algorithms) - set(_KEY_TYPE)
        if unknown or not algorithms:
            raise ValueError(f"unsupported JWT algorithm(s): {sorted(unknown) or 'none given'}")
        self._keys = keys
        self._algorithms = frozenset(algorithms)
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds
        self._clock = clock or SystemClock()

    def _now(self) -> int:
        return self._clock.wall_ns() // 1_000_000_000

    def authenticate(self, credentials: Credentials) -> Principal:
        token = credentials.bearer
        if token is None:
            raise AuthenticationError("authentication required: provide Bearer token or X-API-Key")
        if len(token) > MAX_TOKEN_BYTES or token.count(".") != 2:
            raise AuthenticationError("malformed Bearer token")
        try:
            header = jws.extract_compact(token.encode("ascii")).headers()
        except (JoseError, ValueError, UnicodeError):
            raise AuthenticationError("malformed Bearer token") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise AuthenticationError(f"token algorithm {str(alg)[:16]!r} is not allowed")
        if "crit" in header:
            raise AuthenticationError("token has critical header parameters this agent does not support")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise AuthenticationError("malformed Bearer token")
        key = self._keys.key_for(kid, alg)
        if key is None or not isinstance(key, _KEY_TYPE[alg]):
            raise AuthenticationError("token signed with an unknown key")
        try:
            claims = jwt.decode(token, key, algorithms=[alg]).claims
        except BadSignatureError:
            raise AuthenticationError("invalid token signature") from None
        except (JoseError, ValueError, TypeError):
            raise AuthenticationError("invalid token") from None
        options: dict[str, Any] = {"sub": {"essential": True}, "exp": {"essential": True}}
        if self._issuer is not None:
            options["iss"] = {"essential": True, "value": self._issuer}
        if self._audience is not None:
            options["aud"] = {"essential": True, "value": self._audience}
        registry = JWTClaimsRegistry(now=self._now, leeway=self._leeway, **options)
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise AuthenticationError("token expired") from None
        except MissingClaimError as exc:
            raise AuthenticationError(f"token lacks required claim(s): {exc.claim}") from None
        except InvalidClaimError as exc:
            if exc.claim == "nbf":
                raise AuthenticationError("token not yet valid") from None
            raise AuthenticationError(f"invalid token claim '{exc.claim}'") from None
        return principal_from_claims(claims)
