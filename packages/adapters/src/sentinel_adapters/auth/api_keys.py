"""API keys (contract §9): only ``hex(SHA-256(salt || key))`` is kept, and a presented key is
compared against every stored hash in constant time."""

import hashlib
import hmac
import os
from collections.abc import Iterable
from dataclasses import dataclass

from sentinel_domain.access import Principal, Role
from sentinel_ports.authenticator import AuthenticationError, Authenticator, Credentials

SALT_BYTES = 32


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One configured key, as the config gives it (plaintext only until hashed)."""

    name: str
    key: str
    role: Role = Role.VIEWER
    namespaces: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class _StoredKey:
    digest: bytes  # hex(SHA-256(salt || key)), ASCII
    principal: Principal


def hash_key(salt: bytes, key: str) -> bytes:
    return hashlib.sha256(salt + key.encode("utf-8")).hexdigest().encode("ascii")


class ApiKeyAuthenticator(Authenticator):
    """``X-API-Key`` lookup. ``salt`` defaults to 32 random bytes per process (contract §1.11)."""

    def __init__(self, keys: Iterable[ApiKey], salt: bytes | None = None) -> None:
        self._salt = os.urandom(SALT_BYTES) if salt is None else salt
        self._keys = tuple(
            _StoredKey(hash_key(self._salt, k.key), Principal(k.name, k.role, frozenset(k.namespaces)))
            for k in keys
        )

    def __repr__(self) -> str:  # never the digests or the salt
        return f"ApiKeyAuthenticator({len(self._keys)} keys)"

    def authenticate(self, credentials: Credentials) -> Principal:
        if credentials.api_key is None:
            raise AuthenticationError("authentication required: provide Bearer token or X-API-Key")
        presented = hash_key(self._salt, credentials.api_key)
        found: Principal | None = None
        for stored in self._keys:  # no early exit: every stored hash is compared
            if hmac.compare_digest(presented, stored.digest) and found is None:
                found = stored.principal
        if found is None:
            raise AuthenticationError("invalid API key")
        return found
