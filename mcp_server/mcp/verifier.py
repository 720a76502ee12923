"""The SDK's bearer authentication of ``/mcp``, answered from the identity the daemon's edge established.

No second authentication: the edge (``mcp_server.daemon.edge``) checked the request's token once and left a
:class:`~auth.principal.Principal` (or the reason there is none) in the ASGI scope. The SDK wraps ``/mcp`` in
its ``AuthenticationMiddleware`` with a ``BearerAuthBackend`` around our :class:`GateTokenVerifier`;
:func:`answer_bearer_from_edge` swaps that backend for :class:`EdgeBearerBackend`, which reads the scope
instead of the headers and hands back the same ``AuthenticatedUser`` for the same principal: O(1) per request.
A request the edge did not see is refused (fail closed). ``client_id`` and ``subject`` are the family id,
which stays the same across refreshes, so an MCP session survives access-token rotation.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, BearerAuthBackend
from mcp.server.auth.provider import AccessToken
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection

from auth.principal import Principal
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


class EdgeBearerBackend(BearerAuthBackend):
    """``BearerAuthBackend`` reading the edge's identity from the scope (see the module docstring)."""

    def __init__(self, verifier: GateTokenVerifier) -> None:
        super().__init__(verifier)
        self.resource = verifier.resource
        # token id -> (the principal it was built for, what the SDK middleware puts in the scope)
        self._users: dict[str, tuple[Principal, Authenticated]] = {}

    async def authenticate(self, conn: HTTPConnection) -> Authenticated | None:
        identity = conn.scope.get(IDENTITY_KEY)
        if not isinstance(identity, Principal):
            log.info("MCP bearer refused: %s", "not seen by the edge" if identity is None else identity.code)
            return None
        if identity.expires_at < int(time.time()):  # the SDK's own expiry check, kept
            return None
        known = self._users.get(identity.token_id)
        if known is not None and known[0] is identity:  # the gate hands out one principal per token state
            return known[1]
        token = bearer_from_headers(conn.scope.get("headers", []))
        if token is None:  # the edge identified this request from its header: cannot happen; fail closed
            return None
        access = access_token_for(identity, token, self.resource)
        answer = (AuthCredentials(access.scopes), AuthenticatedUser(access))
        while len(self._users) >= MAX_CACHED_USERS:
            del self._users[next(iter(self._users))]
        self._users[identity.token_id] = (identity, answer)
        return answer


def answer_bearer_from_edge(sdk_app: Starlette, verifier: GateTokenVerifier) -> None:
    """Swap the SDK's bearer backend of ``sdk_app`` (built with ``verifier``) for :class:`EdgeBearerBackend`.

    Raises if the SDK app does not authenticate the way this module expects: better no ``/mcp`` than one
    whose authentication nobody checked.
    """
    if sdk_app.middleware_stack is not None:
        raise RuntimeError("the MCP SDK app already serves requests; its authentication can no longer change")
    for index, middleware in enumerate(sdk_app.user_middleware):
        backend: Any = middleware.kwargs.get("backend")
        factory: Any = middleware.cls
        if factory is AuthenticationMiddleware and isinstance(backend, BearerAuthBackend):
            if backend.token_verifier is not verifier:
                break
            sdk_app.user_middleware[index] = Middleware(AuthenticationMiddleware, backend=EdgeBearerBackend(verifier))
            return
    raise RuntimeError("the MCP SDK app does not authenticate bearer tokens with the daemon's verifier")
