"""From the ``alerting`` section to the adapters the pipeline needs: one sender per route, the spool.

Nothing connects here: senders open connections and files on first use. The composition root
wires ``AlertingAdapters.reopen_logs`` to SIGUSR1 (logrotate's ``postrotate``).
"""

import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from sentinel_adapters.alerting.eve_file_sender import EveFileAlertSender, EveFileWriter
from sentinel_adapters.alerting.lmdb_spool import LmdbAlertSpool
from sentinel_adapters.alerting.otlp_sender import OtlpAlertSender
from sentinel_adapters.alerting.smtp_sender import SmtpAlertSender, SmtpTls
from sentinel_adapters.alerting.webhook_sender import WebhookAlertSender
from sentinel_infrastructure.config.alerting import (
    AlertingSection,
    RouteSection,
    email_recipients,
    smtp_tls_mode,
)
from sentinel_infrastructure.net.ssrf import parse_networks
from sentinel_ports.alert_sender import AlertSender
from sentinel_ports.alert_spool import AlertSpool

log = structlog.get_logger("ebpfsentinel.alerting")
SPOOL_DIR = "alert-spool"


@dataclass
class AlertingAdapters:
    senders: dict[str, AlertSender]  # route name -> sender
    spool: AlertSpool
    log_writers: list[EveFileWriter] = field(default_factory=list)

    def reopen_logs(self) -> None:
        """Reopen every EVE file before its next write (safe to call from a signal handler)."""
        for writer in self.log_writers:
            writer.request_reopen()


def _ssl_context(ca_file: str | None) -> ssl.SSLContext | None:
    return ssl.create_default_context(cafile=ca_file) if ca_file else None


def build_alert_senders(
    section: AlertingSection, data_dir: str | Path = "/var/lib/ebpfsentinel"
) -> tuple[dict[str, AlertSender], list[EveFileWriter]]:
    """One sender per route (routes writing the same EVE file share its writer).

    An EVE route without a ``log_file`` (route or section) writes ``<data_dir>/eve.json``.
    """
    default_log = str(Path(data_dir) / "eve.json")
    writers: dict[str, EveFileWriter] = {}
    senders: dict[str, AlertSender] = {}
    builders: dict[str, Callable[[RouteSection], AlertSender]] = {
        "log": lambda r: _log(section, r, writers, default_log),
        "webhook": lambda r: _webhook(section, r),
        "email": lambda r: _email(section, r),
        "otlp": lambda r: _otlp(section),
    }
    for route in section.routes:
        senders[route.name] = builders[route.destination](route)
    return senders, list(writers.values())


def _log(
    section: AlertingSection, route: RouteSection, writers: dict[str, EveFileWriter], default: str
) -> AlertSender:
    path = route.log_file or section.log_file or default
    if path not in writers:
        writers[path] = EveFileWriter(path)
    return EveFileAlertSender(writers[path])


def _webhook(section: AlertingSection, route: RouteSection) -> AlertSender:
    if route.webhook_url is None:
        raise ValueError(f"route {route.name}: webhook_url is required")
    return WebhookAlertSender(
        route.webhook_url,
        headers=route.webhook_headers,
        hmac_secret=route.webhook_hmac_secret,
        timeout=section.webhook.timeout_secs,
        allow_networks=parse_networks(section.webhook.allow_networks),
        ssl_context=_ssl_context(section.webhook.ca_file),
    )


def _email(section: AlertingSection, route: RouteSection) -> AlertSender:
    smtp = section.smtp
    if smtp is None:
        raise ValueError(f"route {route.name}: an email route needs alerting.smtp")
    tls = SmtpTls(smtp_tls_mode(smtp.tls))
    if tls is SmtpTls.PLAIN:
        log.warning(
            "SMTP without TLS: alert e-mail and credentials travel in clear", host=smtp.host, route=route.name
        )
    return SmtpAlertSender(
        smtp.host,
        smtp.port,
        smtp.from_address,
        email_recipients(route.email_to),
        tls=tls,
        username=smtp.username,
        password=smtp.password,
        timeout=smtp.timeout_secs,
        max_batch=smtp.batch_max,
        batch_interval=smtp.batch_interval_secs,
        ssl_context=_ssl_context(smtp.ca_file),
    )


def _otlp(section: AlertingSection) -> AlertSender:
    otlp = section.otlp
    if otlp is None:
        raise ValueError("an otlp route needs alerting.otlp")
    return OtlpAlertSender(
        otlp.endpoint,
        headers=otlp.headers,
        timeout=otlp.timeout_ms / 1000,
        max_batch=otlp.batch_max,
        batch_interval=otlp.batch_interval_secs,
    )


def open_alert_spool(section: AlertingSection, data_dir: str | Path) -> LmdbAlertSpool:
    """The spool at ``alerting.spool.path`` (default ``<data_dir>/alert-spool``)."""
    spool = section.spool
    path = Path(spool.path) if spool.path else Path(data_dir) / SPOOL_DIR
    return LmdbAlertSpool.open(path, spool.max_alerts_per_destination, spool.map_size_mb * 1024 * 1024)


def build_alert_adapters(section: AlertingSection, data_dir: str | Path) -> AlertingAdapters:
    """Every adapter of the ``alerting`` section (``section`` must have passed validation)."""
    senders, writers = build_alert_senders(section, data_dir)
    return AlertingAdapters(senders, open_alert_spool(section, data_dir), writers)
