"""The ``auth`` section through the real loader: defaults, and every validation error located
(file, line, key)."""

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from sentinel_infrastructure.config import ConfigError, load_config
from sentinel_infrastructure.config.auth import AuthSection

HEAD = "agent:\n  interfaces: [eth0]\n"


def _pem(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    (folder / "rsa2048.pem").write_bytes(_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    (folder / "rsa1024.pem").write_bytes(_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)))
    (folder / "ed.pem").write_bytes(_pem(ed25519.Ed25519PrivateKey.generate()))
    (folder / "junk.pem").write_text("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    return folder


def load(folder: Path, body: str) -> AuthSection:
    path = folder / "agent.yaml"
    path.write_text(HEAD + body)
    path.chmod(0o600)
    return load_config(path, environ={}).config.auth


def errors(folder: Path, body: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(folder, body)
    return str(info.value)


def test_defaults(keys: Path) -> None:
    auth = load(keys, "")
    assert not auth.enabled and auth.metrics_auth_required and auth.api_keys == []
    assert auth.jwt is None and auth.oidc is None


def test_full_section_loads(keys: Path) -> None:
    auth = load(
        keys,
        "auth:\n  enabled: true\n  api_key_salt: s4lt\n"
        "  api_keys:\n    - {name: ci, key: sk-ci, role: operator, namespaces: [team-a]}\n"
        "    - {name: dash, key: sk-dash}\n"
        "  jwt:\n    algorithm: RS256\n    public_key_path: rsa2048.pem\n    issuer: https://idp\n",
    )
    assert auth.api_keys[1].role == "viewer" and auth.api_keys[0].namespaces == ["team-a"]
    assert auth.jwt is not None and auth.jwt.jwks_cache_ttl_seconds == 3600 and auth.jwt.audience is None


def test_enabled_needs_a_provider(keys: Path) -> None:
    text = errors(keys, "auth:\n  enabled: true\n")
    assert "agent.yaml:4:3: auth.enabled: validation error: auth is enabled but none of jwt" in text


def test_jwt_and_oidc_together_rejected(keys: Path) -> None:
    text = errors(
        keys,
        "auth:\n  enabled: true\n  jwt: {public_key_path: rsa2048.pem}\n"
        "  oidc: {jwks_url: https://idp/jwks.json}\n",
    )
    assert "agent.yaml:6:3: auth.oidc: validation error: jwt and oidc cannot both be configured" in text


@pytest.mark.parametrize(
    ("jwt", "message"),
    [
        ("{public_key_path: rsa1024.pem}", "RSA key has 1024 bits; at least 2048"),
        ("{public_key_path: ed.pem}", "is not an RSA public key"),
        ("{algorithm: EdDSA, public_key_path: rsa2048.pem}", "is not an Ed25519 public key"),
        ("{public_key_path: junk.pem}", "is not a PEM public key"),
        ("{public_key_path: missing.pem}", "cannot read public key file"),
        ("{algorithm: HS256, public_key_path: rsa2048.pem}", "invalid algorithm 'HS256'"),
        ("{jwks_url: ftp://idp/keys}", "is not an http or https URL"),
        ("{jwks_url: 'https://idp/k', public_key_path: rsa2048.pem}", "either public_key_path or jwks_url"),
        ("{algorithm: RS256}", "jwt needs public_key_path or jwks_url"),
        ("{jwks_url: 'https://idp/k', jwks_cache_ttl_seconds: 0}", "jwks_cache_ttl_seconds must be 1-"),
    ],
)
def test_jwt_errors(keys: Path, jwt: str, message: str) -> None:
    text = errors(keys, f"auth:\n  enabled: true\n  jwt: {jwt}\n")
    assert ": auth.jwt" in text and "agent.yaml:5:" in text
    assert message in text


def test_ed25519_pem_and_absolute_path(keys: Path) -> None:
    auth = load(
        keys, f"auth:\n  enabled: true\n  jwt: {{algorithm: EdDSA, public_key_path: {keys / 'ed.pem'}}}\n"
    )
    assert auth.jwt is not None and auth.jwt.algorithm == "EdDSA"


def test_oidc_needs_jwks_url_or_issuer(keys: Path) -> None:
    assert "oidc needs jwks_url, or issuer" in errors(keys, "auth:\n  enabled: true\n  oidc: {audience: x}\n")
    assert "not an http or https URL" in errors(
        keys, "auth:\n  enabled: true\n  oidc: {issuer: idp.example}\n"
    )
    auth = load(keys, "auth:\n  enabled: true\n  oidc: {issuer: 'https://idp.example'}\n")
    assert auth.oidc is not None and auth.oidc.jwks_url is None  # discovery at start


def test_api_key_errors_are_located(keys: Path) -> None:
    text = errors(
        keys,
        "auth:\n  enabled: true\n  api_keys:\n"
        "    - {name: ci, key: sk-1, role: root}\n"
        "    - {name: ci, key: sk-1, namespaces: [Team_A]}\n"
        "    - {name: x, key: ''}\n",
    )
    assert "agent.yaml:6:29: auth.api_keys[0].role: validation error: invalid role 'root'" in text
    assert "agent.yaml:7:8: auth.api_keys[1].name: validation error: duplicate api key name 'ci'" in text
    assert "auth.api_keys[1].key: validation error: the same key is configured twice" in text
    assert "auth.api_keys[1].namespaces[0]: validation error: invalid namespace 'Team_A'" in text
    assert "auth.api_keys[2].key: validation error: key must not be empty" in text


def test_type_errors_and_unknown_top_keys_are_located(keys: Path) -> None:
    text = errors(keys, "auth:\n  enabled: true\n  api_keys: [{name: ci}]\n")
    assert "auth.api_keys[0]" in text and "missing required field `key`" in text


def test_non_loopback_bind_is_fine_with_auth(keys: Path) -> None:
    body = "auth:\n  enabled: true\n  api_keys: [{name: a, key: sk-a}]\n"
    path = keys / "agent.yaml"
    path.write_text("agent:\n  interfaces: [eth0]\n  bind_address: 0.0.0.0\n" + body)
    path.chmod(0o600)
    assert load_config(path, environ={}).config.auth.enabled
    path.write_text("agent:\n  interfaces: [eth0]\n  bind_address: 0.0.0.0\n")
    with pytest.raises(ConfigError, match="allow_unauthenticated_api"):
        load_config(path, environ={})


def test_api_keys_make_a_world_readable_file_an_error(keys: Path) -> None:
    path = keys / "agent.yaml"
    path.write_text(HEAD + "auth:\n  api_keys: [{name: a, key: sk-a}]\n")
    path.chmod(0o644)
    with pytest.raises(ConfigError, match=r"holds secrets \(auth.api_keys\[\].key\)"):
        load_config(path, environ={})
