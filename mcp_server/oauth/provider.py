"""The SDK's ``OAuthAuthorizationServerProvider`` over agent-auth's store.

The SDK's handlers speak the protocol (metadata, registration, authorize, token, revoke; PKCE S256 is
checked by its token handler). This provider decides what they may do: redirect URIs are loopback ``http``
or ``https`` and match exactly; ``resource`` must name this daemon's ``/mcp``; ``authorize`` never issues a
code itself — it files a consent and sends the browser to a page that waits for a person's decision on the
admin socket; a code becomes an ordinary token family (access + refresh, rotation, reuse detection) through
the authority; revoking either token revokes the family.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    RegistrationError,
    TokenError,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyUrl

from auth import tokens
from auth.errors import AuthError
from auth.errors import TokenError as AgentAuthTokenError
from auth.families import IssuedTokens
from auth.oauth_store import (
    MAX_REDIRECT_URIS,
    InvalidGrantError,
    InvalidRedirectUriError,
    OAuthStore,
    TooManyClientsError,
    TooManyConsentsError,
    validate_redirect_uri,
)
from auth.scopes import Tier
from auth.tokens import TokenKind
from auth.untrusted import clip

log = logging.getLogger(__name__)

MAX_CLIENT_NAME_LENGTH = 80


class FamilyAccessToken(AccessToken):
    family_id: str


class FamilyRefreshToken(RefreshToken):
    family_id: str


class FamilyAuthorizationCode(AuthorizationCode):
    authorization_id: str


def granted_scopes(scopes: dict[str, Tier]) -> list[str]:
    return [name for name, tier in sorted(scopes.items()) if tier is not Tier.DENY]


def client_display_name(info: OAuthClientInformationFull | dict[str, Any]) -> str:
    raw = info.get("client_name") if isinstance(info, dict) else info.client_name
    return clip(str(raw or "unnamed client").strip() or "unnamed client", MAX_CLIENT_NAME_LENGTH)


class AgentAuthProvider:
    """Implements ``mcp.server.auth.provider.OAuthAuthorizationServerProvider``."""

    def __init__(
        self, store: OAuthStore, *, issuer: str, resource: str, consent_url: str, on_revoke: Any = None
    ) -> None:
        self.store = store
        self.issuer = issuer
        self.resource = resource
        self.consent_url = consent_url.rstrip("/")
        self.on_revoke = on_revoke  # called with a family id after an OAuth revocation (drops timed grants)

    # --- clients --------------------------------------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        if not client_id or len(client_id) > 64:
            return None
        info = await anyio.to_thread.run_sync(self.store.get_client, client_id)
        return None if info is None else OAuthClientInformationFull.model_validate(info)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        uris = [str(uri) for uri in client_info.redirect_uris or []]
        if not uris or len(uris) > MAX_REDIRECT_URIS:
            raise RegistrationError("invalid_redirect_uri", f"register 1 to {MAX_REDIRECT_URIS} redirect URIs")
        try:
            for uri in uris:
                validate_redirect_uri(uri)
        except InvalidRedirectUriError as exc:
            raise RegistrationError("invalid_redirect_uri", exc.message) from None
        client_info.client_name = client_display_name(client_info)
        try:
            await anyio.to_thread.run_sync(
                self.store.register_client,
                client_info.client_id,
                client_info.model_dump(mode="json", exclude_none=True),
            )
        except TooManyClientsError as exc:
            raise RegistrationError("invalid_client_metadata", exc.message) from None

    # --- authorization --------------------------------------------------------------------------

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        resource = params.resource if params.resource is not None else self.resource
        if resource.rstrip("/") != self.resource:
            raise AuthorizeError("invalid_target", "this authorization server issues tokens for its own /mcp only")
        redirect_uri = str(params.redirect_uri)
        try:
            validate_redirect_uri(redirect_uri)
        except InvalidRedirectUriError as exc:
            raise AuthorizeError("invalid_request", exc.message) from None
        scopes = params.scopes if params.scopes is not None else (client.scope or "").split()
        scopes = sorted({s for s in scopes if s})
        if not scopes:
            raise AuthorizeError("invalid_scope", "ask for at least one scope")
        try:
            consent = await anyio.to_thread.run_sync(
                lambda: self.store.create_consent(
                    client.client_id,
                    client_display_name(client),
                    redirect_uri=redirect_uri,
                    explicit_redirect=params.redirect_uri_provided_explicitly,
                    code_challenge=params.code_challenge,
                    state=params.state,
                    scopes=scopes,
                    resource=self.resource,
                )
            )
        except TooManyConsentsError as exc:
            raise AuthorizeError("temporarily_unavailable", exc.message) from None
        return f"{self.consent_url}/{consent.id}"

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> FamilyAuthorizationCode | None:
        if not authorization_code or len(authorization_code) > 128:
            return None
        grant = await anyio.to_thread.run_sync(self.store.load_code, authorization_code)
        if grant is None or grant.client_id != client.client_id:
            return None
        return FamilyAuthorizationCode(
            code=authorization_code,
            scopes=granted_scopes(grant.scopes),
            expires_at=grant.expires_at,
            client_id=grant.client_id,
            code_challenge=grant.code_challenge,
            redirect_uri=AnyUrl(grant.redirect_uri),
            redirect_uri_provided_explicitly=grant.explicit_redirect,
            resource=grant.resource,
            authorization_id=grant.authorization_id,
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: FamilyAuthorizationCode
    ) -> OAuthToken:
        try:
            issued = await anyio.to_thread.run_sync(self.store.exchange_code, authorization_code.code, client.client_id)
        except InvalidGrantError as exc:
            log.warning("OAuth code exchange refused for client %s: %s", client.client_id, exc.message)
            raise TokenError("invalid_grant", exc.message) from None
        return self._oauth_token(issued)

    # --- refresh --------------------------------------------------------------------------------

    def _family_of(self, token: str, kind: TokenKind) -> tuple[str, float, str] | None:
        """(family id, expiry, client id) of a valid-looking token issued to an OAuth client, else None."""
        try:
            parsed = tokens.verify(token, self.store.authority.keys.signing, kind)
        except AgentAuthTokenError:
            return None
        state = self.store.authority.lookup_token(parsed.token_id)
        if state is None:
            return None
        client_id = self.store.family_client(state.family_id)
        return None if client_id is None else (state.family_id, state.expires_at, client_id)

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> FamilyRefreshToken | None:
        found = await anyio.to_thread.run_sync(self._family_of, refresh_token, TokenKind.REFRESH)
        if found is None or found[2] != client.client_id:
            return None
        family = await anyio.to_thread.run_sync(self.store.authority.lookup_family_row, found[0])
        if family is None:
            return None
        return FamilyRefreshToken(
            token=refresh_token,
            client_id=found[2],
            scopes=granted_scopes(family.scopes),
            expires_at=int(found[1]),
            resource=self.resource,
            family_id=found[0],
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: FamilyRefreshToken, scopes: list[str]
    ) -> OAuthToken:
        try:
            issued = await anyio.to_thread.run_sync(self.store.authority.refresh, refresh_token.token)
        except AuthError as exc:
            log.warning("OAuth refresh refused for client %s: %s", client.client_id, exc.code)
            raise TokenError("invalid_grant", f"the refresh token cannot be used ({exc.code})") from None
        return self._oauth_token(issued)

    # --- access tokens and revocation -----------------------------------------------------------

    async def load_access_token(self, token: str) -> FamilyAccessToken | None:
        found = await anyio.to_thread.run_sync(self._family_of, token, TokenKind.ACCESS)
        if found is None:
            return None
        return FamilyAccessToken(
            token=token,
            client_id=found[2],
            scopes=[],
            expires_at=int(found[1]),
            resource=self.resource,
            family_id=found[0],
        )

    async def revoke_token(self, token: FamilyAccessToken | FamilyRefreshToken) -> None:
        actor = f"oauth:{token.client_id}"
        await anyio.to_thread.run_sync(
            lambda: self.store.authority.revoke_family(token.family_id, reason="oauth_revoked", actor=actor)
        )
        if self.on_revoke is not None:
            self.on_revoke(token.family_id)

    async def exchange_identity_assertion(self, client: OAuthClientInformationFull, params: Any) -> OAuthToken:
        raise TokenError("unsupported_grant_type", "the JWT bearer grant is not supported")

    # --- helpers --------------------------------------------------------------------------------

    def _oauth_token(self, issued: IssuedTokens) -> OAuthToken:
        return OAuthToken(
            access_token=issued.access_token,
            refresh_token=issued.refresh_token,
            expires_in=max(1, int(issued.access_expires_at - time.time())),
            scope=" ".join(granted_scopes(issued.scopes)),
        )
