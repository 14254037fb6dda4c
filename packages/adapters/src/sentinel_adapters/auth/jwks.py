"""JWKS key source: fetched with httpx, cached with a TTL, refetched on an unknown ``kid`` at most
once per cooldown, and kept through an outage until TTL + grace; plus OIDC discovery.

Time comes from an injectable Clock (monotonic), so the TTL logic is testable without waiting.
"""

import functools
import json
import math
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from joserfc.errors import JoseError
from joserfc.jwk import KeyParameters, OKPKey, RSAKey

from sentinel_adapters.auth._clock import SystemClock
from sentinel_ports.authenticator import AuthenticationError
from sentinel_ports.clock import Clock

log = structlog.get_logger("ebpfsentinel.auth")

MAX_DOCUMENT_BYTES = 1024 * 1024
FETCH_TIMEOUT_SECONDS = 5.0
UNKNOWN_KID_COOLDOWN_SECONDS = 30.0  # contract §9: at most one inline refetch per 30 s
DEFAULT_GRACE_SECONDS = 600.0  # cached keys outlive their TTL by this much while the endpoint is down
MIN_RSA_BITS = 2048
_PUBLIC_MEMBERS = {"RSA": ("kty", "n", "e"), "OKP": ("kty", "crv", "x")}

PublicKey = RSAKey | OKPKey


class JwksError(Exception):
    """The JWKS (or discovery document) could not be fetched or holds no usable key."""


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise JwksError(f"not an http(s) URL: {url!r}")


@functools.cache
def _shared_client() -> httpx.Client:
    """One pooled client for every fetch (building a TLS context per request is slow)."""
    return httpx.Client(timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=False)


def fetch_json(url: str, timeout: float = FETCH_TIMEOUT_SECONDS) -> Any:
    """GET ``url`` (no redirects, at most 1 MiB) and parse it as JSON."""
    _check_url(url)
    client = _shared_client()
    try:
        with client.stream(
            "GET", url, headers={"Accept": "application/json"}, timeout=timeout, follow_redirects=False
        ) as response:
            if response.status_code != 200:
                raise JwksError(f"GET {url}: HTTP {response.status_code}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise JwksError(f"GET {url}: document larger than {MAX_DOCUMENT_BYTES} bytes")
    except httpx.HTTPError as exc:
        raise JwksError(f"GET {url}: {type(exc).__name__}: {exc}") from None
    try:
        return json.loads(bytes(body))
    except ValueError:
        raise JwksError(f"GET {url}: not JSON") from None


def discover_jwks_uri(issuer: str, timeout: float = FETCH_TIMEOUT_SECONDS) -> str:
    """``jwks_uri`` from ``<issuer>/.well-known/openid-configuration``; the document's ``issuer``
    must be the configured one (OpenID Connect Discovery §4.3)."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    doc = fetch_json(url, timeout)
    if not isinstance(doc, dict):
        raise JwksError(f"{url}: not a JSON object")
    if str(doc.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
        raise JwksError(f"{url}: issuer {doc.get('issuer')!r} is not {issuer!r}")
    jwks_uri = doc.get("jwks_uri")
    if not isinstance(jwks_uri, str):
        raise JwksError(f"{url}: no jwks_uri")
    _check_url(jwks_uri)
    return jwks_uri


def parse_jwks(doc: Any) -> dict[str, PublicKey]:
    """Usable public signing keys by ``kid`` (``""`` for a key without one). Only the public
    members are imported; encryption keys, other key types and RSA keys under 2048 bits are
    skipped."""
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise JwksError("JWKS has no 'keys' list")
    keys: dict[str, PublicKey] = {}
    for entry in doc["keys"]:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        kty = entry.get("kty")
        if kty not in _PUBLIC_MEMBERS or (kty == "OKP" and entry.get("crv") != "Ed25519"):
            continue
        kid = entry.get("kid", "")
        if not isinstance(kid, str):
            continue
        public = {name: entry[name] for name in _PUBLIC_MEMBERS[kty] if name in entry}
        params: KeyParameters = {"kid": kid} if kid else {}
        if isinstance(entry.get("alg"), str):
            params["alg"] = entry["alg"]
        key: PublicKey
        try:
            key = RSAKey.import_key(public, params) if kty == "RSA" else OKPKey.import_key(public, params)
        except (JoseError, ValueError, TypeError):
            continue
        if isinstance(key, RSAKey) and key.raw_value.key_size < MIN_RSA_BITS:
            continue
        keys[kid] = key
    return keys


class JwksKeySource:
    """Signing keys from one JWKS URL. ``load()`` fetches once (startup: failure is fatal);
    ``key_for`` serves the cache and refetches when the TTL is over or a ``kid`` is unknown."""

    def __init__(
        self,
        url: str,
        *,
        ttl_seconds: float = 3600.0,
        refresh_on_unknown_kid: bool = True,
        cooldown_seconds: float = UNKNOWN_KID_COOLDOWN_SECONDS,
        grace_seconds: float = DEFAULT_GRACE_SECONDS,
        clock: Clock | None = None,
        fetch: Callable[[str], Any] | None = None,
    ) -> None:
        self.url = url
        self.ttl = ttl_seconds
        self.refresh_on_unknown_kid = refresh_on_unknown_kid
        self.cooldown = cooldown_seconds
        self.grace = grace_seconds
        self._clock = clock or SystemClock()
        self._fetch = fetch or fetch_json
        self._lock = threading.Lock()
        self._keys: dict[str, PublicKey] = {}
        self._fetched_at = -math.inf  # when the cached keys were fetched
        self._last_failure = -math.inf  # a failed refresh is not retried within the cooldown
        self._last_unknown_kid_fetch = -math.inf
        self.fetches = 0  # attempts, for tests and logs

    def load(self) -> None:
        """Fetch now; raises JwksError when the endpoint fails or serves no usable key."""
        with self._lock:
            self._refresh_locked()

    def _refresh_locked(self) -> None:
        self.fetches += 1
        now = self._clock.monotonic()
        try:
            keys = parse_jwks(self._fetch(self.url))
        except JwksError:
            self._last_failure = now
            raise
        if not keys:
            self._last_failure = now
            raise JwksError(f"{self.url}: no usable RS256/EdDSA signing key")
        self._keys = keys
        self._fetched_at = now
        log.info("jwks fetched", url=self.url, kids=sorted(keys))

    def _try_refresh_locked(self, why: str) -> None:
        try:
            self._refresh_locked()
        except JwksError as exc:
            log.warning("jwks refresh failed; keeping cached keys", url=self.url, reason=why, error=str(exc))

    def kids(self) -> list[str]:
        return sorted(self._keys)

    def _stale(self, now: float) -> bool:
        return now - self._fetched_at >= self.ttl and now - self._last_failure >= self.cooldown

    def key_for(self, kid: str | None, alg: str) -> PublicKey | None:
        """The cached key for ``kid`` (None when unknown even after an allowed refetch).
        Raises AuthenticationError when the keys are past TTL + grace and cannot be refreshed.

        One fetch runs at a time. A TTL refresh is waited for only when the cached keys are no
        longer usable; otherwise other requests keep using them while one thread refreshes."""
        now = self._clock.monotonic()
        if self._stale(now):
            usable = now - self._fetched_at < self.ttl + self.grace
            if self._lock.acquire(blocking=not usable):
                try:
                    if self._stale(self._clock.monotonic()):  # not refreshed meanwhile
                        self._try_refresh_locked("ttl")
                finally:
                    self._lock.release()
        if self._clock.monotonic() - self._fetched_at >= self.ttl + self.grace:
            raise AuthenticationError("signing keys unavailable: the JWKS endpoint cannot be reached")
        key = self._pick(kid)
        if key is None and self.refresh_on_unknown_kid:
            with self._lock:
                key = self._pick(kid)  # a concurrent refresh may have brought it
                now = self._clock.monotonic()
                if key is None and now - self._last_unknown_kid_fetch >= self.cooldown:
                    self._last_unknown_kid_fetch = now
                    self._try_refresh_locked("unknown kid")
                    key = self._pick(kid)
        return key

    def _pick(self, kid: str | None) -> PublicKey | None:
        keys = self._keys  # replaced whole by a refresh, never mutated
        if kid is not None:
            return keys.get(kid)
        return next(iter(keys.values())) if len(keys) == 1 else None
