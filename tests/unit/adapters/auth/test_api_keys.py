"""API keys: salted SHA-256 only, every stored hash compared with hmac.compare_digest."""

import hashlib
import hmac

import pytest

from sentinel_adapters.auth.api_keys import ApiKey, ApiKeyAuthenticator
from sentinel_domain.access import Principal, Role
from sentinel_ports.authenticator import AuthenticationError, Credentials

KEYS = [
    ApiKey("ci", "sk-ci-0123456789", Role.OPERATOR, frozenset({"team-a"})),
    ApiKey("dash", "sk-dash-abcdefgh", Role.VIEWER),
    ApiKey("ops", "sk-ops-zyxwvuts", Role.ADMIN),
]


def test_only_salted_hashes_are_kept() -> None:
    auth = ApiKeyAuthenticator(KEYS, salt=b"pepper")
    state = repr(auth) + repr(vars(auth) if hasattr(auth, "__dict__") else "") + repr(auth._keys)
    for key in KEYS:
        assert key.key not in state
    expected = hashlib.sha256(b"pepper" + b"sk-ci-0123456789").hexdigest().encode()
    assert auth._keys[0].digest == expected


def test_every_stored_hash_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)  # the module calls hmac.compare_digest
    auth = ApiKeyAuthenticator(KEYS)
    assert auth.authenticate(Credentials(api_key="sk-ci-0123456789")) == Principal(
        "ci", Role.OPERATOR, frozenset({"team-a"})
    )
    assert len(calls) == len(KEYS)  # a match on the first key still compares the rest
    calls.clear()
    with pytest.raises(AuthenticationError, match="invalid API key"):
        auth.authenticate(Credentials(api_key="sk-nope"))
    assert len(calls) == len(KEYS)


def test_random_salt_per_instance_and_configured_salt_is_stable() -> None:
    a, b = ApiKeyAuthenticator(KEYS), ApiKeyAuthenticator(KEYS)
    assert a._keys[0].digest != b._keys[0].digest
    assert ApiKeyAuthenticator(KEYS, b"s")._keys[0].digest == ApiKeyAuthenticator(KEYS, b"s")._keys[0].digest


def test_wrong_and_missing_keys() -> None:
    auth = ApiKeyAuthenticator(KEYS)
    for bad in ("", "sk-ci-012345678", "sk-ci-0123456789 ", "SK-CI-0123456789"):
        with pytest.raises(AuthenticationError) as info:
            auth.authenticate(Credentials(api_key=bad))
        assert bad not in str(info.value) or not bad
    with pytest.raises(AuthenticationError, match="authentication required"):
        auth.authenticate(Credentials())
    assert auth.authenticate(Credentials(api_key="sk-ops-zyxwvuts")).role is Role.ADMIN
