"""WebhookAlertSender: one JSON POST per alert (contract §8.3), guarded against SSRF.

Body: the alert's domain JSON (``Alert.to_dict``), UTF-8. Headers: the route's
``webhook_headers``, then ours, which win: ``Content-Type: application/json``,
``User-Agent: ebpfsentinel``, ``X-Ebpfsentinel-Alert-Id`` (percent-encoded alert id, the same on
every retry, so a receiver can drop duplicates) and, with a secret, ``X-Ebpfsentinel-Signature:
sha256=<hex HMAC-SHA256 of the exact body bytes>``.

Outcome: 2xx delivered; 408, 425, 429 and 5xx, timeouts and connection errors are transient;
other statuses (3xx included: redirects are never followed) and a refused address are permanent.
"""

import hashlib
import hmac
import json
import ssl
import urllib.parse
from collections.abc import Mapping, Sequence

import httpx

from sentinel_adapters.alerting.ssrf import GuardedTransport
from sentinel_domain.alert import Alert
from sentinel_domain.common import IpNetwork
from sentinel_infrastructure.net.ssrf import AddressPolicy, ForbiddenDestinationError
from sentinel_ports.alert_sender import AlertSender, PermanentDeliveryError, TransientDeliveryError

SIGNATURE_HEADER = "X-Ebpfsentinel-Signature"
ALERT_ID_HEADER = "X-Ebpfsentinel-Alert-Id"
TRANSIENT_STATUSES = frozenset({408, 425, 429})


def alert_body(alert: Alert) -> bytes:
    return json.dumps(alert.to_dict(), ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8", "surrogatepass"
    )


def signature(secret: bytes, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookAlertSender(AlertSender):
    kind = "webhook"

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        hmac_secret: str | bytes | None = None,
        timeout: float = 10.0,
        allow_networks: Sequence[IpNetwork] = (),
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.url = url
        self.headers = dict(headers or {})
        self._secret = hmac_secret.encode() if isinstance(hmac_secret, str) else hmac_secret
        self.timeout = timeout
        self.policy = AddressPolicy(allow_networks)
        self._ssl_context = ssl_context
        self._client: httpx.AsyncClient | None = None

    @property
    def max_batch(self) -> int:
        return 1

    @property
    def batch_interval(self) -> float:
        return 0.0

    def _http(self) -> httpx.AsyncClient:
        # Created on first use, inside the loop that sends (an httpx client belongs to one loop).
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=GuardedTransport(self.policy, self._ssl_context),
                timeout=httpx.Timeout(self.timeout),
                follow_redirects=False,
                trust_env=False,
            )
        return self._client

    def request_headers(self, alert: Alert, body: bytes) -> dict[str, str]:
        headers = {k: v for k, v in self.headers.items() if k.lower() != "content-type"}
        headers["Content-Type"] = "application/json"
        headers["User-Agent"] = "ebpfsentinel"
        headers[ALERT_ID_HEADER] = urllib.parse.quote(alert.id, safe="")
        if self._secret:
            headers[SIGNATURE_HEADER] = signature(self._secret, body)
        return headers

    async def send(self, alerts: Sequence[Alert]) -> None:
        for alert in alerts:
            await self._post(alert)

    async def _post(self, alert: Alert) -> None:
        body = alert_body(alert)
        try:
            response = await self._http().post(
                self.url, content=body, headers=self.request_headers(alert, body)
            )
        except ForbiddenDestinationError as exc:
            raise PermanentDeliveryError(str(exc)) from exc
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, httpx.LocalProtocolError) as exc:
            raise PermanentDeliveryError(f"webhook request invalid: {exc}") from exc
        except httpx.TransportError as exc:
            raise TransientDeliveryError(f"webhook {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        detail = f"webhook answered HTTP {status}"
        if status >= 500 or status in TRANSIENT_STATUSES:
            raise TransientDeliveryError(detail)
        raise PermanentDeliveryError(detail)

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
