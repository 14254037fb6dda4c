"""Authenticator contract, run against API keys, JWT (PEM RSA, JWKS Ed25519 over HTTP), the
composite and the table fake."""

from collections.abc import Iterator, Sequence

import pytest

from sentinel_adapters.auth import (
    ApiKey,
    ApiKeyAuthenticator,
    CompositeAuthenticator,
    JwksKeySource,
    JwtAuthenticator,
    StaticKeySource,
)
from sentinel_domain.access import Principal
from sentinel_ports.authenticator import Authenticator, Credentials
from sentinel_testkit.contracts.authenticator import AuthenticatorContract
from sentinel_testkit.fakes.authenticator import TableAuthenticator
from sentinel_testkit.fakes.identity_provider import IdentityProvider, SigningKey, claims

Made = tuple[Authenticator, dict[str, Credentials]]


def _token_claims(p: Principal) -> dict[str, object]:
    return claims(p.subject, p.role.value, namespaces=sorted(p.namespaces))


class TestApiKeyAuthenticator(AuthenticatorContract):
    def make(self, principals: Sequence[Principal]) -> Made:
        import secrets

        keys = {p.subject: f"sk-{secrets.token_urlsafe(24)}" for p in principals}
        auth = ApiKeyAuthenticator(
            ApiKey(p.subject, keys[p.subject], p.role, p.namespaces) for p in principals
        )
        return auth, {s: Credentials(api_key=k) for s, k in keys.items()}


class TestJwtStaticRsa(AuthenticatorContract):
    def make(self, principals: Sequence[Principal]) -> Made:
        key = SigningKey.rsa()
        auth = JwtAuthenticator(StaticKeySource.from_pem(key.public_pem), ["RS256"])
        return auth, {p.subject: Credentials(bearer=key.sign(_token_claims(p))) for p in principals}


class TestJwtJwksEd25519(AuthenticatorContract):
    @pytest.fixture(autouse=True)
    def _providers(self) -> Iterator[None]:
        self.providers: list[IdentityProvider] = []
        yield
        for provider in self.providers:
            provider.stop()

    def make(self, principals: Sequence[Principal]) -> Made:
        key = SigningKey.ed25519()
        provider = IdentityProvider([key]).start()
        self.providers.append(provider)
        source = JwksKeySource(provider.jwks_url)
        source.load()
        auth = JwtAuthenticator(source, ["EdDSA", "Ed25519"])
        return auth, {p.subject: Credentials(bearer=key.sign(_token_claims(p))) for p in principals}


class TestComposite(AuthenticatorContract):
    """Admin by token, the others by API key."""

    def make(self, principals: Sequence[Principal]) -> Made:
        tokens, token_creds = TestJwtStaticRsa().make(principals[:1])
        keys, key_creds = TestApiKeyAuthenticator().make(principals[1:])
        return CompositeAuthenticator(tokens, keys), {**token_creds, **key_creds}


class TestTableAuthenticator(AuthenticatorContract):
    def make(self, principals: Sequence[Principal]) -> Made:
        import secrets

        keys = {p.subject: secrets.token_hex(16) for p in principals}
        auth = TableAuthenticator(api_keys={keys[p.subject]: p for p in principals})
        return auth, {s: Credentials(api_key=k) for s, k in keys.items()}
