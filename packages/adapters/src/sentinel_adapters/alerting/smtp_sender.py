"""SmtpAlertSender: alert e-mail through an SMTP server (contract §8.3, deviation 15), aiosmtplib.

TLS modes: ``PLAIN`` (no TLS; the factory warns at start), ``STARTTLS`` (required: a server that
does not offer it is an error, never a silent downgrade) and ``IMPLICIT`` (TLS from the first
byte, usually port 465). Authentication only when both username and password are set.

One connection per batch; alerts are batched (``max_batch`` per message, ``batch_interval``
seconds of waiting for more) by the delivery worker. Outcome: 4xx replies, connection problems
and authentication failures (an operator can fix those; the alerts wait) are transient; other 5xx
replies (550, 554, ...) are permanent.
"""

import enum
import ssl
from collections.abc import Sequence

import aiosmtplib

from sentinel_adapters.alerting.email_message import build_message, message_bytes
from sentinel_domain.alert import Alert
from sentinel_ports.alert_sender import AlertSender, PermanentDeliveryError, TransientDeliveryError


class SmtpTls(enum.Enum):
    PLAIN = "plain"
    STARTTLS = "starttls"
    IMPLICIT = "implicit"


def _failure(code: int, detail: str) -> TransientDeliveryError | PermanentDeliveryError:
    message = f"SMTP {code}: {detail}".strip()
    return PermanentDeliveryError(message) if 500 <= code < 600 else TransientDeliveryError(message)


class SmtpAlertSender(AlertSender):
    kind = "email"

    def __init__(
        self,
        host: str,
        port: int,
        from_address: str,
        to_addresses: Sequence[str],
        tls: SmtpTls = SmtpTls.STARTTLS,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        max_batch: int = 100,
        batch_interval: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not to_addresses:
            raise ValueError("an e-mail route needs at least one recipient")
        self.host = host
        self.port = port
        self.from_address = from_address
        self.to_addresses = tuple(to_addresses)
        self.tls = tls
        self._credentials = (username, password) if username and password else (None, None)
        self.timeout = timeout
        self._max_batch = max_batch
        self._batch_interval = batch_interval
        self._ssl_context = ssl_context

    @property
    def max_batch(self) -> int:
        return self._max_batch

    @property
    def batch_interval(self) -> float:
        return self._batch_interval

    async def send(self, alerts: Sequence[Alert]) -> None:
        message = build_message(alerts, self.from_address, self.to_addresses)
        username, password = self._credentials
        try:
            await aiosmtplib.send(
                message_bytes(message),
                sender=self.from_address,
                recipients=list(self.to_addresses),
                hostname=self.host,
                port=self.port,
                username=username,
                password=password,
                timeout=self.timeout,
                use_tls=self.tls is SmtpTls.IMPLICIT,
                start_tls=self.tls is SmtpTls.STARTTLS,
                tls_context=self._ssl_context,
            )
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise TransientDeliveryError(f"SMTP authentication failed ({exc.code}): {exc.message}") from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            worst = min(codes) if codes else 550  # any 4xx among them means "try again later"
            raise _failure(worst, "every recipient refused") from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise _failure(exc.code, exc.message) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise TransientDeliveryError(f"SMTP {type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        """Nothing to release: every batch uses its own connection."""
