"""Errors of the L7 firewall: invalid rules, and one parse-error family per protocol parser.

Every parser raises only its own :class:`L7ParseError` subclass; ``offset`` is the byte offset in
the caller's buffer where the problem was found, when known.
"""

from sentinel_domain.common.errors import DomainError, ValidationError


class L7RuleError(ValidationError):
    """An L7 rule or rule set is invalid (the message names the value and what is allowed)."""


class L7ParseError(DomainError):
    """Bytes that cannot be parsed as the protocol they claim to be."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} (at byte {self.offset})" if self.offset is not None else base


class HttpParseError(L7ParseError):
    """An HTTP/1.x request that violates RFC 9112 in a way that loses the message framing."""


class TlsParseError(L7ParseError):
    """A TLS record or ClientHello whose lengths or structure are invalid."""


class Http2ParseError(L7ParseError):
    """An HTTP/2 connection error (RFC 9113 §5.4.1) seen while looking for gRPC calls."""


class HpackError(Http2ParseError):
    """A header block that cannot be decoded (RFC 7541; COMPRESSION_ERROR in HTTP/2)."""


class SmtpParseError(L7ParseError):
    """SMTP client bytes that cannot be split into commands (line too long, bad BDAT size)."""


class FtpParseError(L7ParseError):
    """FTP control-connection bytes that cannot be split into commands (line too long)."""


class SmbParseError(L7ParseError):
    """A NetBIOS session frame or SMB header that is invalid."""
