"""The role matrix of contract §9 as pure functions that raise AccessDeniedError with the error code."""

from sentinel_domain.access.entity import Principal, Role
from sentinel_domain.common.errors import DomainError


class AccessDeniedError(DomainError):
    """403; ``code`` is the contract's machine code (INSUFFICIENT_ROLE, NAMESPACE_FORBIDDEN)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_write(principal: Principal | None) -> None:
    """Any write except firewall rules: admin and operator. ``None`` = auth disabled: allowed."""
    if principal is not None and principal.role is Role.VIEWER:
        raise AccessDeniedError("INSUFFICIENT_ROLE", "this operation needs the operator or admin role")


def check_firewall_write(principal: Principal | None, scope: str) -> None:
    """Firewall rule create/delete: admin anywhere; operator only for ``namespace:<ns>`` scopes
    with ``ns`` among its namespaces; viewer never."""
    if principal is None or principal.role is Role.ADMIN:
        return
    if principal.role is Role.VIEWER:
        raise AccessDeniedError("INSUFFICIENT_ROLE", "this operation needs the operator or admin role")
    if not scope.startswith("namespace:"):
        raise AccessDeniedError("INSUFFICIENT_ROLE", f"only admin may change rules with scope '{scope}'")
    namespace = scope.removeprefix("namespace:")
    if namespace not in principal.namespaces:
        raise AccessDeniedError(
            "NAMESPACE_FORBIDDEN", f"not allowed to change rules in namespace '{namespace}'"
        )
