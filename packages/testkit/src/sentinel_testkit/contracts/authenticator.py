"""What every Authenticator must do, checked only through the port (contract §9).

A subclass provides ``make(principals)``: an authenticator that knows exactly these principals,
and for each subject the Credentials that prove it.
"""

from collections.abc import Sequence

import pytest

from sentinel_domain.access import Principal, Role
from sentinel_ports.authenticator import AuthenticationError, Authenticator, Credentials

PRINCIPALS = (
    Principal("root-admin", Role.ADMIN),
    Principal("team-a-operator", Role.OPERATOR, frozenset({"team-a", "shared"})),
    Principal("auditor", Role.VIEWER),
)


def _tamper(value: str) -> str:
    """Flip one character in the middle (for a JWT: inside the signature or payload)."""
    i = len(value) - 5 if len(value) > 8 else len(value) // 2
    return value[:i] + ("A" if value[i] != "A" else "B") + value[i + 1 :]


class AuthenticatorContract:
    def make(self, principals: Sequence[Principal]) -> tuple[Authenticator, dict[str, Credentials]]:
        raise NotImplementedError

    @pytest.fixture
    def subject(self) -> tuple[Authenticator, dict[str, Credentials]]:
        return self.make(PRINCIPALS)

    def test_each_credential_yields_its_principal(
        self, subject: tuple[Authenticator, dict[str, Credentials]]
    ) -> None:
        auth, creds = subject
        for principal in PRINCIPALS:
            assert auth.authenticate(creds[principal.subject]) == principal

    def test_no_credentials_is_rejected(self, subject: tuple[Authenticator, dict[str, Credentials]]) -> None:
        auth, _ = subject
        with pytest.raises(AuthenticationError):
            auth.authenticate(Credentials())

    def test_altered_credentials_are_rejected_without_echoing_them(
        self, subject: tuple[Authenticator, dict[str, Credentials]]
    ) -> None:
        auth, creds = subject
        for cred in creds.values():
            bad = Credentials(
                bearer=_tamper(cred.bearer) if cred.bearer else None,
                api_key=_tamper(cred.api_key) if cred.api_key else None,
            )
            with pytest.raises(AuthenticationError) as info:
                auth.authenticate(bad)
            secret = bad.bearer or bad.api_key or ""
            assert secret not in str(info.value)

    def test_credentials_of_another_authenticator_are_rejected(
        self, subject: tuple[Authenticator, dict[str, Credentials]]
    ) -> None:
        auth, _ = subject
        _, foreign = self.make(PRINCIPALS)
        for cred in foreign.values():
            with pytest.raises(AuthenticationError):
                auth.authenticate(cred)
