"""Protocol detection by byte signatures (contract §7.7), first match wins, in this order:
TLS, SMB, gRPC (HTTP/2 preface), SMTP, FTP, HTTP.

Only the six protocols the L7 rules cover are detected; anything else (SSH, Redis, ...) is
``None``. Verbs are matched case-insensitively and must be followed by SP, CR, LF or the end of
the buffer, so ``USERNAME`` is not FTP's ``USER``. A verb both protocols share (QUIT, NOOP...)
is SMTP, because SMTP is tried first.
"""

from sentinel_domain.l7._grpc import PREFACE
from sentinel_domain.l7.entity import L7Protocol

_SMTP_VERBS = (b"EHLO", b"HELO", b"MAIL", b"RCPT", b"DATA", b"QUIT", b"RSET", b"NOOP", b"VRFY", b"EXPN")
_FTP_VERBS = (b"USER", b"PASS", b"LIST", b"RETR", b"STOR", b"DELE", b"CWD", b"PWD", b"TYPE", b"PORT", b"PASV")
_HTTP_METHODS = (b"GET", b"POST", b"PUT", b"DELETE", b"HEAD", b"OPTIONS", b"PATCH", b"CONNECT", b"TRACE")
_GREETING_SCAN = 512


def _starts_with_verb(buf: bytes, verbs: tuple[bytes, ...]) -> bool:
    head = buf[:8].upper()
    for verb in verbs:
        if head.startswith(verb):
            rest = head[len(verb) : len(verb) + 1]
            if rest in (b"", b" ", b"\r", b"\n"):
                return True
    return False


def _greeting_line(buf: bytes) -> bytes | None:
    """The first line of a ``220 `` greeting, or None."""
    if not buf.startswith(b"220 "):
        return None
    return buf[:_GREETING_SCAN].split(b"\n", 1)[0]


def detect_protocol(data: bytes | bytearray | memoryview) -> L7Protocol | None:
    """The L7 protocol the first bytes look like, or None.

    Never raises. Short buffers may give None where more bytes would give an answer.
    """
    buf = bytes(data[:_GREETING_SCAN])
    if len(buf) >= 3 and buf[0] == 0x16 and buf[1] == 0x03 and 0x01 <= buf[2] <= 0x04:
        return L7Protocol.TLS
    if buf[4:8] in (b"\xffSMB", b"\xfeSMB"):
        return L7Protocol.SMB
    if buf.startswith(PREFACE):
        return L7Protocol.GRPC
    greeting = _greeting_line(buf)
    if _starts_with_verb(buf, _SMTP_VERBS) or (greeting is not None and b"FTP" not in greeting.upper()):
        return L7Protocol.SMTP
    if _starts_with_verb(buf, _FTP_VERBS) or greeting is not None:
        return L7Protocol.FTP
    # An HTTP request line: a method then SP (case-insensitive, as the contract specifies).
    head = buf[:8].upper()
    if any(head.startswith(method + b" ") for method in _HTTP_METHODS):
        return L7Protocol.HTTP
    return None
