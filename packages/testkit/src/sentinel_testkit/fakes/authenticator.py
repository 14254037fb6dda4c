"""TableAuthenticator: fixed credentials → principals, for tests of code that needs an Authenticator."""

from collections.abc import Mapping

from sentinel_domain.access import Principal
from sentinel_ports.authenticator import AuthenticationError, Authenticator, Credentials


class TableAuthenticator(Authenticator):
    def __init__(self, bearer: Mapping[str, Principal] = {}, api_keys: Mapping[str, Principal] = {}) -> None:
        self._bearer = dict(bearer)
        self._api_keys = dict(api_keys)

    def authenticate(self, credentials: Credentials) -> Principal:
        if credentials.bearer is not None:
            found = self._bearer.get(credentials.bearer)
        elif credentials.api_key is not None:
            found = self._api_keys.get(credentials.api_key)
        else:
            raise AuthenticationError("authentication required: provide Bearer token or X-API-Key")
        if found is None:
            raise AuthenticationError("invalid credentials")
        return found
