"""Errors of the IPS engine."""

from sentinel_domain.common.errors import DomainError, ValidationError


class IpsError(DomainError):
    """Base of the IPS engine's errors."""


class IpsConfigError(IpsError, ValidationError):
    """The ``ips`` section or a manual entry is invalid; the message names the value and the range."""


class BlacklistRefusedError(IpsError):
    """A manual blacklist add was refused; ``reason`` is ``whitelisted``, ``exists`` or ``full``."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class WhitelistedError(BlacklistRefusedError):
    """The address (or part of the network) is whitelisted: it is never blocked."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "whitelisted")


class AlreadyBlacklistedError(BlacklistRefusedError):
    """The exact address or network is already on the blacklist."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "exists")


class BlacklistFullError(BlacklistRefusedError):
    """The blacklist holds ``max_blacklist_size`` live entries; nothing is evicted."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "full")


class NotBlacklistedError(IpsError, LookupError):
    """A removal named an address or network that is not on the blacklist."""
