"""Errors of the DNS intelligence engine."""

from sentinel_domain.common.errors import DomainError, ValidationError


class DnsParseError(DomainError):
    """A DNS message cannot be parsed.

    ``reason`` is a short stable code for metrics (``header``, ``qdcount``, ``label_type``,
    ``name_length``, ``pointer_hops``, ``pointer_header``, ``pointer_direction``, ``rdata``);
    ``offset`` is where in the message the problem was found.
    """

    def __init__(self, reason: str, message: str, offset: int) -> None:
        super().__init__(f"{message} (at offset {offset})")
        self.reason = reason
        self.offset = offset


class DomainNameError(ValidationError):
    """A domain name or blocklist pattern is not valid."""


class DnsConfigError(ValidationError):
    """A DNS cache, blocklist or policy setting is out of range."""
