"""The role matrix of contract §9."""

import pytest

from sentinel_domain.access import (
    AccessDeniedError,
    Principal,
    Role,
    check_firewall_write,
    check_write,
    parse_role,
)

ADMIN = Principal("a", Role.ADMIN)
OPERATOR = Principal("o", Role.OPERATOR, frozenset({"team-a"}))
VIEWER = Principal("v", Role.VIEWER)


def code(call: object, *args: object) -> str | None:
    try:
        call(*args)  # type: ignore[operator]
    except AccessDeniedError as exc:
        return exc.code
    return None


def test_roles_parse_leniently_to_viewer() -> None:
    assert (
        parse_role("Admin") is Role.ADMIN
        and parse_role("root") is Role.VIEWER
        and parse_role(None) is Role.VIEWER
    )


@pytest.mark.parametrize(
    ("principal", "scope", "expected"),
    [
        (None, "global", None),
        (ADMIN, "global", None),
        (ADMIN, "namespace:x", None),
        (OPERATOR, "namespace:team-a", None),
        (OPERATOR, "namespace:team-b", "NAMESPACE_FORBIDDEN"),
        (OPERATOR, "global", "INSUFFICIENT_ROLE"),
        (OPERATOR, "interface:eth0", "INSUFFICIENT_ROLE"),
        (VIEWER, "namespace:team-a", "INSUFFICIENT_ROLE"),
    ],
)
def test_firewall_rule_writes(principal: Principal | None, scope: str, expected: str | None) -> None:
    assert code(check_firewall_write, principal, scope) == expected


def test_other_writes_need_a_non_viewer() -> None:
    assert [code(check_write, p) for p in (None, ADMIN, OPERATOR, VIEWER)] == [
        None,
        None,
        None,
        "INSUFFICIENT_ROLE",
    ]
