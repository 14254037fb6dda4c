"""A real identity provider on loopback for auth tests: signing keys generated with
``cryptography``, tokens signed with joserfc, and an ``http.server`` thread that serves the JWKS
(``/jwks.json``) and the OIDC discovery document, counts requests, rotates keys and goes down."""

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from joserfc import jwt
from joserfc.jwk import KeyParameters, OKPKey, RSAKey


@dataclass
class SigningKey:
    """A private key with its ``kid``; ``alg`` is RS256 (RSA) or EdDSA (Ed25519)."""

    kid: str
    alg: str
    private_pem: bytes
    public_pem: bytes
    _cache: dict[bool, RSAKey | OKPKey] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def rsa(cls, kid: str | None = None, bits: int = 2048) -> "SigningKey":
        return cls._from(rsa.generate_private_key(public_exponent=65537, key_size=bits), "RS256", kid)

    @classmethod
    def ed25519(cls, kid: str | None = None) -> "SigningKey":
        return cls._from(ed25519.Ed25519PrivateKey.generate(), "EdDSA", kid)

    @classmethod
    def _from(cls, private: Any, alg: str, kid: str | None) -> "SigningKey":
        private_pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(kid or f"k-{uuid.uuid4().hex[:8]}", alg, private_pem, public_pem)

    def _jose(self, private: bool) -> RSAKey | OKPKey:
        """The joserfc key (cached: loading an RSA private key validates it, which is slow)."""
        cached = self._cache.get(private)
        if cached is None:
            pem = self.private_pem if private else self.public_pem
            params: KeyParameters = {"kid": self.kid}
            cached = RSAKey.import_key(pem, params) if self.alg == "RS256" else OKPKey.import_key(pem, params)
            self._cache[private] = cached
        return cached

    def jwk(self) -> dict[str, Any]:
        """The public JWK, as a JWKS lists it."""
        return {**self._jose(private=False).as_dict(private=False), "use": "sig", "alg": self.alg}

    def sign(self, claims: dict[str, Any], header: dict[str, Any] | None = None, kid: bool = True) -> str:
        """A compact JWT; ``header`` entries are added (or override ``alg``/``kid``)."""
        head: dict[str, Any] = {"alg": self.alg, **({"kid": self.kid} if kid else {}), **(header or {})}
        return jwt.encode(head, claims, self._jose(private=True), algorithms=[head["alg"]])


def claims(
    sub: str = "alice", role: str | None = "admin", lifetime: int = 300, **extra: Any
) -> dict[str, Any]:
    """Claims valid now for ``lifetime`` seconds."""
    now = int(time.time())
    out: dict[str, Any] = {"sub": sub, "iat": now, "exp": now + lifetime, **extra}
    if role is not None:
        out["role"] = role
    return out


class IdentityProvider:
    """Serves ``/jwks.json`` and ``/.well-known/openid-configuration`` on 127.0.0.1."""

    def __init__(self, keys: list[SigningKey]) -> None:
        self.keys = list(keys)
        self.down = False
        self.requests: dict[str, int] = {}
        self._lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with provider._lock:
                    provider.requests[self.path] = provider.requests.get(self.path, 0) + 1
                    down, keys = provider.down, list(provider.keys)
                if down:
                    self.send_error(503)
                    return
                if self.path == "/jwks.json":
                    body: Any = {"keys": [k.jwk() for k in keys]}
                elif self.path == "/.well-known/openid-configuration":
                    body = {"issuer": provider.issuer, "jwks_uri": provider.jwks_url}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.jwks_url = f"{self.issuer}/jwks.json"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="idp", daemon=True
        )

    def jwks_requests(self) -> int:
        with self._lock:
            return self.requests.get("/jwks.json", 0)

    def rotate(self, key: SigningKey) -> None:
        """Serve only ``key`` from now on."""
        with self._lock:
            self.keys = [key]

    def start(self) -> "IdentityProvider":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def identity_provider(keys: list[SigningKey]) -> Iterator[IdentityProvider]:
    provider = IdentityProvider(keys).start()
    try:
        yield provider
    finally:
        provider.stop()
