"""gRPC metadata → Credentials (contract §3, same rules as REST §2.0).

``authorization: Bearer <jwt>`` first: the token must have exactly two dots (JWT shape), and a
malformed one is refused without falling back to the API key. Otherwise ``x-api-key``. Nothing
usable → the contract's "authentication required" message.
"""

from collections.abc import Iterable

from sentinel_ports.authenticator import Credentials

MISSING = "authentication required: provide Bearer token or x-api-key"
MALFORMED = "malformed Bearer token"


class CredentialsError(Exception):
    """The request carries no usable credentials; the message is the status detail."""


def credentials_from_metadata(metadata: Iterable[tuple[str, str | bytes]] | None) -> Credentials:
    values: dict[str, str] = {}
    for key, value in metadata or ():
        if isinstance(value, str):  # binary (-bin) metadata never carries credentials
            values.setdefault(key.lower(), value)
    authorization = values.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer":
        token = token.strip()
        if token.count(".") != 2:
            raise CredentialsError(MALFORMED)
        return Credentials(bearer=token)
    api_key = values.get("x-api-key", "").strip()
    if api_key:
        return Credentials(api_key=api_key)
    raise CredentialsError(MISSING)
