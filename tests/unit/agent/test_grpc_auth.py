"""gRPC metadata → Credentials (contract §3): Bearer first (exactly two dots, no fallback when
malformed), then x-api-key, else the contract's "authentication required" message."""

import pytest

from sentinel_agent.grpc_api.auth import MALFORMED, MISSING, CredentialsError, credentials_from_metadata
from sentinel_ports.authenticator import Credentials


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ([("authorization", "Bearer a.b.c")], Credentials(bearer="a.b.c")),
        ([("authorization", "bearer  a.b.c ")], Credentials(bearer="a.b.c")),  # scheme is case-insensitive
        ([("authorization", "Bearer a.b.c"), ("x-api-key", "k")], Credentials(bearer="a.b.c")),
        ([("x-api-key", "sk-1")], Credentials(api_key="sk-1")),
        ([("X-Api-Key", " sk-1 ")], Credentials(api_key="sk-1")),
        ([("authorization", "Basic dTpw"), ("x-api-key", "sk-1")], Credentials(api_key="sk-1")),
        ([("x-api-key", "sk-1"), ("x-api-key", "sk-2")], Credentials(api_key="sk-1")),  # first wins
    ],
)
def test_credentials_are_extracted_in_the_contract_order(
    metadata: list[tuple[str, str]], expected: Credentials
) -> None:
    assert credentials_from_metadata(metadata) == expected


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        (None, MISSING),
        ([], MISSING),
        ([("x-api-key", "  ")], MISSING),
        ([("authorization", "Basic dTpw")], MISSING),
        ([("x-api-key-bin", b"sk-1")], MISSING),  # binary metadata never carries credentials
        ([("authorization", "Bearer")], MALFORMED),
        ([("authorization", "Bearer a.b")], MALFORMED),
        ([("authorization", "Bearer a.b.c.d")], MALFORMED),
        ([("authorization", "Bearer sk-1"), ("x-api-key", "sk-1")], MALFORMED),  # no fallback
    ],
)
def test_missing_or_malformed_credentials_are_refused(
    metadata: list[tuple[str, str | bytes]] | None, message: str
) -> None:
    with pytest.raises(CredentialsError) as err:
        credentials_from_metadata(metadata)
    assert str(err.value) == message
    assert message in (
        "authentication required: provide Bearer token or x-api-key",
        "malformed Bearer token",
    )
