"""JWKS cache against a real HTTP server on loopback: rotation, unknown-kid cooldown, TTL and
outage grace (time from a FakeClock; fetches counted on the server), OIDC discovery."""

from collections.abc import Iterator

import pytest

from sentinel_adapters.auth.jwks import JwksError, JwksKeySource, discover_jwks_uri, parse_jwks
from sentinel_adapters.auth.jwt_verifier import JwtAuthenticator
from sentinel_ports.authenticator import AuthenticationError, Credentials
from sentinel_testkit.fakes.clock import FakeClock
from sentinel_testkit.fakes.identity_provider import IdentityProvider, SigningKey, claims

OLD = SigningKey.rsa("old")
NEW = SigningKey.rsa("new")
OTHER = SigningKey.rsa("other")
TTL, COOLDOWN, GRACE = 600.0, 30.0, 300.0


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider([OLD]).start()
    yield provider
    provider.stop()


def _setup(idp: IdentityProvider) -> tuple[JwksKeySource, JwtAuthenticator, FakeClock]:
    clock = FakeClock()
    source = JwksKeySource(
        idp.jwks_url, ttl_seconds=TTL, cooldown_seconds=COOLDOWN, grace_seconds=GRACE, clock=clock
    )
    source.load()
    return source, JwtAuthenticator(source, ["RS256"]), clock


def _ok(auth: JwtAuthenticator, key: SigningKey) -> bool:
    try:
        auth.authenticate(Credentials(bearer=key.sign(claims())))
    except AuthenticationError:
        return False
    return True


def test_rotation_is_picked_up_with_one_refetch(idp: IdentityProvider) -> None:
    source, auth, _ = _setup(idp)
    assert idp.jwks_requests() == 1 and _ok(auth, OLD)
    idp.rotate(NEW)
    assert _ok(auth, NEW)  # unknown kid → one refetch
    assert idp.jwks_requests() == 2
    assert not _ok(auth, OLD)  # the old key left the set with the refetch
    assert source.kids() == ["new"]


def test_unknown_kids_refetch_at_most_once_per_cooldown(idp: IdentityProvider) -> None:
    _, auth, clock = _setup(idp)
    assert not _ok(auth, OTHER)
    assert idp.jwks_requests() == 2
    idp.rotate(OTHER)
    clock.advance(COOLDOWN - 1)
    assert not _ok(auth, OTHER)  # still inside the cooldown: no refetch, rejected
    assert not _ok(auth, NEW)
    assert idp.jwks_requests() == 2
    clock.advance(1)
    assert _ok(auth, OTHER)
    assert idp.jwks_requests() == 3


def test_unknown_kid_refresh_can_be_disabled(idp: IdentityProvider) -> None:
    source = JwksKeySource(idp.jwks_url, refresh_on_unknown_kid=False, clock=FakeClock())
    source.load()
    idp.rotate(NEW)
    assert not _ok(JwtAuthenticator(source, ["RS256"]), NEW)
    assert idp.jwks_requests() == 1


def test_ttl_expiry_refetches(idp: IdentityProvider) -> None:
    _, auth, clock = _setup(idp)
    clock.advance(TTL - 1)
    assert _ok(auth, OLD) and idp.jwks_requests() == 1
    clock.advance(1)
    assert _ok(auth, OLD) and idp.jwks_requests() == 2


def test_endpoint_down_keeps_cached_keys_until_ttl_plus_grace(idp: IdentityProvider) -> None:
    _, auth, clock = _setup(idp)
    idp.down = True
    clock.advance(TTL)
    assert _ok(auth, OLD)  # refresh failed, cached key still good
    assert idp.jwks_requests() == 2
    clock.advance(COOLDOWN / 2)
    assert _ok(auth, OLD) and idp.jwks_requests() == 2  # failed refresh not retried in the cooldown
    clock.advance(GRACE - COOLDOWN / 2 - 1)
    assert _ok(auth, OLD)
    clock.advance(1)
    with pytest.raises(AuthenticationError, match="signing keys unavailable"):
        auth.authenticate(Credentials(bearer=OLD.sign(claims())))
    idp.down = False
    clock.advance(COOLDOWN)
    assert _ok(auth, OLD)  # the endpoint is back: fresh keys


def test_startup_fetch_failure_is_an_error(idp: IdentityProvider) -> None:
    idp.down = True
    with pytest.raises(JwksError, match="HTTP 503"):
        JwksKeySource(idp.jwks_url).load()
    with pytest.raises(JwksError, match="not an http"):
        JwksKeySource("file:///etc/passwd").load()


def test_discovery(idp: IdentityProvider) -> None:
    assert discover_jwks_uri(idp.issuer) == idp.jwks_url
    assert discover_jwks_uri(idp.issuer + "/") == idp.jwks_url
    with pytest.raises(JwksError, match="issuer"):
        discover_jwks_uri(idp.issuer.replace("127.0.0.1", "localhost"))


def test_parse_jwks_keeps_only_usable_public_signing_keys() -> None:
    weak = SigningKey.rsa("weak", bits=1024)
    ed = SigningKey.ed25519("ed")
    private = {**OLD._jose(private=True).as_dict(private=True), "kid": "withd"}
    doc = {
        "keys": [
            weak.jwk(),
            ed.jwk(),
            {**NEW.jwk(), "use": "enc", "kid": "enc"},
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
            {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "kid": "ec"},
            private,
            "junk",
        ]
    }
    keys = parse_jwks(doc)
    assert sorted(keys) == ["ed", "withd"]
    assert not keys["withd"].is_private
    with pytest.raises(JwksError):
        parse_jwks({"nokeys": []})


def test_a_slow_refresh_does_not_hold_up_requests_with_cached_keys() -> None:
    """While one thread waits on a slow JWKS endpoint after the TTL, others use the cached keys."""
    import threading

    entered, release = threading.Event(), threading.Event()
    calls = 0

    def fetch(_url: str) -> object:
        nonlocal calls
        calls += 1
        if calls > 1:
            entered.set()
            assert release.wait(10)
        return {"keys": [OLD.jwk()]}

    clock = FakeClock()
    source = JwksKeySource("http://idp.invalid/jwks.json", ttl_seconds=TTL, clock=clock, fetch=fetch)
    source.load()
    clock.advance(TTL)
    slow = threading.Thread(target=source.key_for, args=("old", "RS256"))
    slow.start()
    try:
        assert entered.wait(10)
        assert source.key_for("old", "RS256") is not None  # returns while the refresh is stuck
        assert calls == 2
    finally:
        release.set()
        slow.join(10)
    assert not slow.is_alive() and calls == 2
