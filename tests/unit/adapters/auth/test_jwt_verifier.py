"""JWT verification: algorithms, headers that point at keys, time claims with leeway, iss/aud,
and the claims → Principal mapping. Real RSA/Ed25519 keys; time from a FakeClock."""

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest

from sentinel_adapters.auth.jwt_verifier import LEEWAY_SECONDS, JwtAuthenticator, StaticKeySource
from sentinel_domain.access import Principal, Role
from sentinel_ports.authenticator import AuthenticationError, Credentials
from sentinel_testkit.fakes.clock import FakeClock
from sentinel_testkit.fakes.identity_provider import SigningKey

NOW = 1_800_000_000
RSA = SigningKey.rsa("r1")
ED = SigningKey.ed25519("e1")
ATTACKER = SigningKey.rsa("r1")  # same kid, different key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**over: Any) -> dict[str, Any]:
    return {"sub": "alice", "iat": NOW, "exp": NOW + 300, "role": "admin", **over}


def _auth(key: SigningKey = RSA, algs: tuple[str, ...] = ("RS256",), **kw: Any) -> JwtAuthenticator:
    clock = FakeClock(wall_ns=NOW * 1_000_000_000)
    return JwtAuthenticator(StaticKeySource.from_pem(key.public_pem), algs, clock=clock, **kw)


def _reject(auth: JwtAuthenticator, token: str, match: str) -> None:
    with pytest.raises(AuthenticationError, match=match):
        auth.authenticate(Credentials(bearer=token))


def test_rs256_and_eddsa_accepted() -> None:
    assert _auth().authenticate(Credentials(bearer=RSA.sign(_claims()))) == Principal("alice", Role.ADMIN)
    ed = _auth(ED, ("EdDSA", "Ed25519"))
    assert ed.authenticate(Credentials(bearer=ED.sign(_claims()))).subject == "alice"
    rfc9864 = ED.sign(_claims(), header={"alg": "Ed25519"})
    assert ed.authenticate(Credentials(bearer=rfc9864)).subject == "alice"


def test_alg_none_is_rejected() -> None:
    head = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    token = f"{head}.{_b64(json.dumps(_claims()).encode())}."
    _reject(_auth(), token, "algorithm 'none' is not allowed")


def test_hs256_with_the_public_key_as_secret_is_rejected() -> None:
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "r1"}).encode())
    body = _b64(json.dumps(_claims()).encode())
    sig = hmac.new(RSA.public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    _reject(_auth(), f"{head}.{body}.{_b64(sig)}", "algorithm 'HS256' is not allowed")


def test_algorithm_outside_the_allow_list_and_broken_signature() -> None:
    _reject(_auth(), ED.sign(_claims()), "algorithm 'EdDSA' is not allowed")
    _reject(_auth(algs=("RS256", "EdDSA")), ED.sign(_claims()), "unknown key")  # RSA key, EdDSA token
    head, body, sig = RSA.sign(_claims()).split(".")
    _reject(_auth(), f"{head}.{body}.{sig[:-6]}AAAAAA", "invalid token signature")


@pytest.mark.parametrize("header", ["jku", "x5u", "jwk"])
def test_key_pointing_headers_are_never_trusted(header: str) -> None:
    value: Any = ATTACKER.jwk() if header == "jwk" else "http://127.0.0.1:9/attacker.json"
    token = ATTACKER.sign(_claims(), header={header: value})
    # joserfc may already refuse the header's shape; either way the attacker's key is never used
    _reject(_auth(), token, "invalid token signature|malformed Bearer token")


def _raw_rs256(header: dict[str, Any], claims: dict[str, Any]) -> str:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    private: Any = serialization.load_pem_private_key(RSA.private_pem, None)
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    sig = private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(sig)}"


def test_raw_signed_token_is_accepted_and_crit_is_rejected() -> None:
    assert _auth().authenticate(Credentials(bearer=_raw_rs256({"alg": "RS256"}, _claims())))
    token = _raw_rs256({"alg": "RS256", "crit": ["x-must"], "x-must": 1}, _claims())
    _reject(_auth(), token, "critical header")


def test_tampered_payload_and_garbage() -> None:
    head, _, sig = RSA.sign(_claims()).split(".")
    forged = _b64(json.dumps(_claims(role="admin", sub="mallory")).encode())
    _reject(_auth(), f"{head}.{forged}.{sig}", "invalid token signature")
    _reject(_auth(), "a.b.c", "malformed Bearer token")
    _reject(_auth(), "not-a-jwt", "malformed Bearer token")


def test_exp_and_nbf_with_leeway() -> None:
    auth = _auth()
    assert auth.authenticate(Credentials(bearer=RSA.sign(_claims(exp=NOW - LEEWAY_SECONDS + 5))))
    _reject(auth, RSA.sign(_claims(exp=NOW - LEEWAY_SECONDS - 1)), "token expired")
    assert auth.authenticate(Credentials(bearer=RSA.sign(_claims(nbf=NOW + LEEWAY_SECONDS - 5))))
    _reject(auth, RSA.sign(_claims(nbf=NOW + LEEWAY_SECONDS + 60)), "token not yet valid")


def test_required_claims() -> None:
    no_exp = _claims()
    del no_exp["exp"]
    _reject(_auth(), RSA.sign(no_exp), "required claim.*exp")
    no_sub = _claims()
    del no_sub["sub"]
    _reject(_auth(), RSA.sign(no_sub), "required claim.*sub")


def test_issuer_and_audience_when_configured() -> None:
    auth = _auth(issuer="https://idp.example", audience="sentinel")
    good = RSA.sign(_claims(iss="https://idp.example", aud=["other", "sentinel"]))
    assert auth.authenticate(Credentials(bearer=good)).subject == "alice"
    _reject(auth, RSA.sign(_claims(iss="https://evil.example", aud="sentinel")), "claim 'iss'")
    _reject(auth, RSA.sign(_claims(iss="https://idp.example", aud="other")), "claim 'aud'")
    _reject(auth, RSA.sign(_claims(aud="sentinel")), "required claim.*iss")
    # not configured: not checked
    assert _auth().authenticate(Credentials(bearer=RSA.sign(_claims(iss="x", aud="y"))))


def test_claims_to_principal() -> None:
    auth = _auth()

    def who(**c: Any) -> Principal:
        return auth.authenticate(Credentials(bearer=RSA.sign(_claims(**c))))

    assert who(role="Operator", namespaces=["a", "b", 3]) == Principal(
        "alice", Role.OPERATOR, frozenset("ab")
    )
    assert who(role="root").role is Role.VIEWER
    assert who(role=None, roles=["operator", "admin"]).role is Role.OPERATOR
    no_role = _claims()
    del no_role["role"]
    assert auth.authenticate(Credentials(bearer=RSA.sign(no_role))).role is Role.VIEWER


def test_pem_loading_rules() -> None:
    with pytest.raises(ValueError, match="at least 2048"):
        StaticKeySource.from_pem(SigningKey.rsa(bits=1024).public_pem)
    with pytest.raises(ValueError, match="private key"):
        StaticKeySource.from_pem(RSA.private_pem)
    with pytest.raises(ValueError, match="not a PEM"):
        StaticKeySource.from_pem(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")


def test_real_clock_default() -> None:
    auth = JwtAuthenticator(StaticKeySource.from_pem(RSA.public_pem), ["RS256"])
    now = int(time.time())
    assert auth.authenticate(Credentials(bearer=RSA.sign(_claims(iat=now, exp=now + 60)))).subject == "alice"
