"""build_authenticator: the providers the auth section asks for."""

from pathlib import Path

import msgspec
import pytest

from sentinel_adapters.auth import AuthSetupError, build_authenticator
from sentinel_domain.access import Role
from sentinel_infrastructure.config.auth import AuthSection
from sentinel_ports.authenticator import AuthenticationError, Credentials
from sentinel_testkit.fakes.identity_provider import SigningKey, claims, identity_provider

ED = SigningKey.ed25519("e1")


def _section(**data: object) -> AuthSection:
    return msgspec.convert({"enabled": True, **data}, AuthSection)


def test_disabled_is_none() -> None:
    assert build_authenticator(AuthSection()) is None


def test_pem_and_api_keys(tmp_path: Path) -> None:
    (tmp_path / "ed.pem").write_bytes(ED.public_pem)
    section = _section(
        jwt={"algorithm": "EdDSA", "public_key_path": "ed.pem"},
        api_keys=[{"name": "ci", "key": "sk-ci", "role": "operator", "namespaces": ["a"]}],
        api_key_salt="fixed",
    )
    auth = build_authenticator(section, tmp_path)
    assert auth is not None
    assert auth.authenticate(Credentials(bearer=ED.sign(claims(role="viewer")))).role is Role.VIEWER
    assert auth.authenticate(Credentials(api_key="sk-ci")).namespaces == {"a"}
    with pytest.raises(AuthenticationError, match="malformed"):
        auth.authenticate(Credentials(bearer="sk-ci"))  # no fallback to API keys


def test_api_keys_only_rejects_bearer() -> None:
    auth = build_authenticator(_section(api_keys=[{"name": "x", "key": "k"}]))
    assert auth is not None
    with pytest.raises(AuthenticationError, match="Bearer tokens are not accepted"):
        auth.authenticate(Credentials(bearer=ED.sign(claims())))


def test_jwks_and_oidc_discovery() -> None:
    with identity_provider([ED]) as idp:
        jwks = build_authenticator(_section(jwt={"algorithm": "EdDSA", "jwks_url": idp.jwks_url}))
        assert (
            jwks is not None and jwks.authenticate(Credentials(bearer=ED.sign(claims()))).role is Role.ADMIN
        )
        oidc = build_authenticator(_section(oidc={"issuer": idp.issuer, "audience": "sentinel"}))
        assert oidc is not None
        token = ED.sign(claims(iss=idp.issuer, aud="sentinel"))
        assert oidc.authenticate(Credentials(bearer=token)).subject == "alice"
        assert idp.requests["/.well-known/openid-configuration"] == 1
        idp.down = True
        with pytest.raises(AuthSetupError, match="oidc"):
            build_authenticator(_section(oidc={"jwks_url": idp.jwks_url}))


def test_unreadable_pem_is_a_setup_error(tmp_path: Path) -> None:
    with pytest.raises(AuthSetupError, match="public_key_path"):
        build_authenticator(_section(jwt={"public_key_path": str(tmp_path / "missing.pem")}))
