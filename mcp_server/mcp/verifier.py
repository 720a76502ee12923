"""The SDK's bearer authentication of ``/mcp``, answered from the identity the daemon's edge established.

No second authentication: the edge (``mcp_server.daemon.edge``) checked the request's token once and left a
:class:`~auth.principal.Principal` (or the reason there is none) in the ASGI scope. :func:`sdk_mcp_endpoint`
puts the SDK's ``/mcp`` handler behind the SDK's own authorization layers with :class:`EdgeUser` in place of
its ``AuthenticationMiddleware``: the scope's principal, not the headers, and the same ``AuthenticatedUser``
for the same principal — O(1) per request. A request the edge did not see is refused (fail closed).
:class:`GateTokenVerifier` is the ``TokenVerifier`` the SDK is configured with (its protected-resource
metadata route needs one); it too only answers from the edge. ``client_id`` and ``subject`` are the family id,
which stays the same across refreshes, so an MCP session survives access-token rotation.
"""

from __future__ import annotations

import logging
import time

from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, RequireAuthMiddleware
from mcp.server.auth.provider import AccessToken
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from pydantic import AnyHttpUrl
from starlette.authentication import AuthCredentials, UnauthenticatedUser
from starlette.types import ASGIApp, Receive, Scope, Send

from auth.principal import Principal, Unauthenticated
from auth.scopes import Tier
from mcp_server.daemon.edge import IDENTITY_KEY, bearer_from_headers, edge_identity_for

log = logging.getLogger(__name__)

MAX_CACHED_USERS = 10_000  # one per live access token at most; the oldest go first

Authenticated = tuple[AuthCredentials, AuthenticatedUser]


def access_token_for(principal: Principal, token: str, resource: str) -> AccessToken:
    """The SDK's view of ``principal``: an access token bound to this resource, scopes it may use."""
    return AccessToken(
        token=token,
        client_id=principal.family_id,
        scopes=[s for s, t in sorted(principal.scopes.items()) if t is not Tier.DENY],
        expires_at=int(principal.expires_at),
        resource=resource,
        subject=principal.family_id,
    )


class GateTokenVerifier:
    """The SDK's ``TokenVerifier``: the edge's principal for this request's token, never a new check."""

    def __init__(self, resource: str) -> None:
        self.resource = resource

    async def verify_token(self, token: str) -> AccessToken | None:
        identity = edge_identity_for(token)
        if not isinstance(identity, Principal):
            log.info("MCP bearer refused: %s", "not seen by the edge" if identity is None else identity.code)
            return None
        return access_token_for(identity, token, self.resource)


class EdgeUser:
    """Pure ASGI, around the SDK's ``/mcp`` handler: what the SDK's ``AuthenticationMiddleware`` with its
    ``BearerAuthBackend`` would put in the scope (``auth``, ``user``), taken from the edge's principal.

    The same principal gets the same ``AuthenticatedUser`` back (the gate hands out one principal per
    token state), so a request costs a dict lookup. No principal, or an expired one: the SDK's
    ``UnauthenticatedUser``, which its ``RequireAuthMiddleware`` answers with 401 (fail closed).
    """

    def __init__(self, app: ASGIApp, resource: str) -> None:
        self.app = app
        self.resource = resource
        # token id -> (the principal it was built for, what goes in the scope)
        self._users: dict[str, tuple[Principal, Authenticated]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["auth"], scope["user"] = self.authenticated(scope) or _UNAUTHENTICATED
        await self.app(scope, receive, send)

    def authenticated(self, scope: Scope) -> Authenticated | None:
        identity = scope.get(IDENTITY_KEY)
        if not isinstance(identity, Principal):
            why = identity.code if isinstance(identity, Unauthenticated) else "not seen by the edge"
            log.info("MCP bearer refused: %s", why)
            return None
        if identity.expires_at < int(time.time()):  # the SDK backend's own expiry check, kept
            return None
        known = self._users.get(identity.token_id)
        if known is not None and known[0] is identity:
            return known[1]
        token = bearer_from_headers(scope.get("headers", []))
        if token is None:  # the edge identified this request from its header: cannot happen; fail closed
            return None
        access = access_token_for(identity, token, self.resource)
        answer = (AuthCredentials(access.scopes), AuthenticatedUser(access))
        while len(self._users) >= MAX_CACHED_USERS:
            del self._users[next(iter(self._users))]
        self._users[identity.token_id] = (identity, answer)
        return answer


_UNAUTHENTICATED = (AuthCredentials(), UnauthenticatedUser())


def sdk_mcp_endpoint(
    session_manager: StreamableHTTPSessionManager, resource: str, resource_metadata_url: str
) -> ASGIApp:
    """The SDK's ``/mcp`` handler behind the SDK's own authorization layers, bearer identity from the edge.

    The SDK's app wraps the same handler in a Starlette app (error and exception middleware, a router,
    ``AuthenticationMiddleware``); in the daemon those jobs are done by its own app and the edge, so the
    request goes straight to the layers that matter: the user in the scope (:class:`EdgeUser`), the
    access token in the SDK's context (``AuthContextMiddleware``), 401 without a user
    (``RequireAuthMiddleware``, with the resource metadata URL in its challenge).
    """
    handler = StreamableHTTPASGIApp(session_manager)
    required = RequireAuthMiddleware(handler, [], AnyHttpUrl(resource_metadata_url))
    return EdgeUser(AuthContextMiddleware(required), resource)
