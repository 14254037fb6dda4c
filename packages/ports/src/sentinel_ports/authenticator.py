"""Authenticator: turns request credentials into a verified Principal (contract §9, §2.0)."""

from abc import ABC, abstractmethod
from dataclasses import dataclass

from sentinel_domain.access import Principal


class AuthenticationError(Exception):
    """401 AUTHENTICATION_REQUIRED; the message says why without leaking key material."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the caller presented: ``Authorization: Bearer`` token and/or ``X-API-Key``
    (gRPC: ``authorization`` / ``x-api-key`` metadata)."""

    bearer: str | None = None
    api_key: str | None = None


class Authenticator(ABC):
    @abstractmethod
    def authenticate(self, credentials: Credentials) -> Principal:
        """The caller's Principal, or AuthenticationError. May block briefly (a JWKS refetch
        on an unknown ``kid``); async callers run it in a worker thread."""
