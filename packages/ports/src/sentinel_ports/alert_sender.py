"""AlertSender: delivers batches of alerts to one destination (a mail server, a webhook, a file)."""

from abc import ABC, abstractmethod
from collections.abc import Sequence

from sentinel_domain.alert import Alert


class DeliveryError(Exception):
    """A send failed; ``permanent`` says whether sending the same alerts again can ever succeed."""

    permanent = False


class TransientDeliveryError(DeliveryError):
    """The destination is unreachable or busy (timeout, refused, 4xx SMTP, 5xx HTTP): retry later."""


class PermanentDeliveryError(DeliveryError):
    """The destination refused these alerts for good (5xx SMTP, 4xx HTTP, a forbidden address)."""

    permanent = True


class AlertSender(ABC):
    kind: str  # the contract's destination label: "log", "email", "webhook" or "otlp"

    @property
    @abstractmethod
    def max_batch(self) -> int:
        """The largest number of alerts one ``send`` accepts (1 = one alert per request)."""

    @property
    @abstractmethod
    def batch_interval(self) -> float:
        """Seconds to wait for more alerts before sending a batch smaller than ``max_batch``."""

    @abstractmethod
    async def send(self, alerts: Sequence[Alert]) -> None:
        """Deliver every alert of ``alerts`` (at most ``max_batch``) or raise a DeliveryError."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release connections and files; idempotent. A closed sender may be used again."""
