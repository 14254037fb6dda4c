"""Who is calling and what they may do (contract §9): principals, roles and the RBAC decisions.

Pure decisions over already-verified identities; verifying credentials (API keys, JWT, OIDC)
is the auth adapters' job.
"""

from sentinel_domain.access.entity import Principal, Role, parse_role
from sentinel_domain.access.policy import AccessDeniedError, check_firewall_write, check_write

__all__ = ["AccessDeniedError", "Principal", "Role", "check_firewall_write", "check_write", "parse_role"]
