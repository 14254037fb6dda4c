"""Token provider for Bearer credentials, API keys for ``X-API-Key`` (contract §9)."""

from sentinel_domain.access import Principal
from sentinel_ports.authenticator import AuthenticationError, Authenticator, Credentials

REQUIRED = "authentication required: provide Bearer token or X-API-Key"


class CompositeAuthenticator(Authenticator):
    """A Bearer token goes to the token provider only (no fallback to API keys, contract §2.0);
    otherwise an API key goes to the key provider. A missing provider rejects its credential."""

    def __init__(self, tokens: Authenticator | None, api_keys: Authenticator | None) -> None:
        self.tokens = tokens
        self.api_keys = api_keys

    def authenticate(self, credentials: Credentials) -> Principal:
        if credentials.bearer is not None:
            if self.tokens is None:
                raise AuthenticationError("Bearer tokens are not accepted: no jwt or oidc is configured")
            return self.tokens.authenticate(credentials)
        if credentials.api_key is not None:
            if self.api_keys is None:
                raise AuthenticationError("API keys are not accepted: no auth.api_keys are configured")
            return self.api_keys.authenticate(credentials)
        raise AuthenticationError(REQUIRED)
