"""The alert e-mail: headers and body built with the standard ``email`` package.

Subject (contract §8.3): ``[eBPFsentinel] <Severity> alert: <rule_id> (<component>)`` for one
alert; for a batch, ``[eBPFsentinel] <n> alerts, highest <Severity>: <rule_id> (<component>) and
<n-1> more``, naming the most severe (first on ties). Body: the alert's domain JSON pretty-printed,
or a JSON array of them for a batch; text/plain, UTF-8, quoted-printable (so no line exceeds
SMTP's limit and no line can be a lone ``.``).

Header injection is impossible by construction: alert text reaches only the Subject, and every
control or line-separator character (``\\r``, ``\\n``, NUL, U+2028, ...) is replaced by a space
before the header is set; addresses come from validated configuration.
"""

import io
import json
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from sentinel_domain.alert import Alert

MAX_SUBJECT_FIELD = 120
# Headers are written unfolded up to SMTP's hard limit (998): the stdlib folds a long Subject by
# moving all of it to a continuation line, which some readers show with a leading space.
_WIRE = SMTP.clone(max_line_length=998)


def header_text(value: str, limit: int = MAX_SUBJECT_FIELD) -> str:
    """``value`` safe for a header: no control/format/separator characters, at most ``limit`` chars."""
    cleaned = "".join(" " if unicodedata.category(ch)[0] in "CZ" and ch != " " else ch for ch in value)
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def subject(alerts: Sequence[Alert]) -> str:
    top = max(alerts, key=lambda a: a.severity)  # max() keeps the first of equals
    what = f"{header_text(top.rule_id)} ({header_text(top.component.value)})"
    severity = top.severity.label.capitalize()
    if len(alerts) == 1:
        return f"[eBPFsentinel] {severity} alert: {what}"
    return f"[eBPFsentinel] {len(alerts)} alerts, highest {severity}: {what} and {len(alerts) - 1} more"


def body(alerts: Sequence[Alert]) -> str:
    records = [a.to_dict() for a in alerts]
    return json.dumps(records[0] if len(records) == 1 else records, indent=2, ensure_ascii=False) + "\n"


def build_message(
    alerts: Sequence[Alert], from_address: str, to_addresses: Sequence[str], now: datetime | None = None
) -> EmailMessage:
    """The message for ``alerts`` (at least one)."""
    if not alerts:
        raise ValueError("an alert e-mail needs at least one alert")
    message = EmailMessage(policy=SMTP)
    message["From"] = from_address
    message["To"] = ", ".join(to_addresses)
    message["Subject"] = subject(alerts)
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="ebpfsentinel.invalid")
    message.set_content(body(alerts), subtype="plain", charset="utf-8", cte="quoted-printable")
    return message


def message_bytes(message: EmailMessage) -> bytes:
    """The message as sent: CRLF line ends, headers unfolded, body as encoded (lines <= 76)."""
    out = io.BytesIO()
    BytesGenerator(out, policy=_WIRE).flatten(message)
    return out.getvalue()
