"""The root of every domain exception family."""


class DomainError(Exception):
    """Base class of all errors raised by the domain package."""


class ValidationError(DomainError, ValueError):
    """A value failed validation; the message names the bad value and what is allowed.

    ``field`` is the dotted path of the offending field when known (e.g. ``rules[3].src_ip``).
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def __str__(self) -> str:
        base = super().__str__()
        return f"{self.field}: {base}" if self.field else base
