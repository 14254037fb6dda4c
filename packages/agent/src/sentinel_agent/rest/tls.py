"""TLS for the REST listener (``agent.tls``, contract §1.1): certificate and key from the config,
TLS 1.3 minimum unless ``allow_tls12``.

``pq_mode``: Python's ssl module (3.11) has no API to offer the X25519MLKEM768 hybrid group, so
``prefer`` behaves like ``disable`` (classical groups only) and ``require`` is refused when the
configuration is validated (deviation, docs/deviations.md).
"""

import ssl
from pathlib import Path

from hypercorn.config import Config as HypercornConfig

from sentinel_infrastructure.config.agent_checks import tls_path
from sentinel_infrastructure.config.model import TlsSection


class RestServerConfig(HypercornConfig):
    """Hypercorn settings whose TLS context refuses versions below ``tls_minimum``."""

    tls_minimum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3

    def create_ssl_context(self) -> ssl.SSLContext | None:
        context = super().create_ssl_context()
        if context is not None:
            context.minimum_version = self.tls_minimum
        return context


def configure_tls(config: RestServerConfig, tls: TlsSection, base_dir: Path) -> None:
    """Serve HTTPS when ``tls.enabled`` (paths relative to the configuration's folder)."""
    if not tls.enabled:
        return
    config.certfile = str(tls_path(base_dir, tls.cert_path))
    config.keyfile = str(tls_path(base_dir, tls.key_path))
    config.tls_minimum = ssl.TLSVersion.TLSv1_2 if tls.allow_tls12 else ssl.TLSVersion.TLSv1_3
