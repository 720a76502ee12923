"""The edge of the daemon's HTTP surfaces: one authentication per request.

:class:`EdgeAuthentication` (pure ASGI, in front of ``/mcp`` and the bridges) reads the bearer token once,
asks the gate who it speaks for, and leaves the answer — a :class:`~auth.principal.Principal` or an
:class:`~auth.principal.Unauthenticated` refusal — in the request scope. Everything later reads it from
there: the SDK's bearer layers of ``/mcp`` (``mcp_server.mcp.verifier.EdgeUser``; its token verifier through
:func:`edge_identity_for`), ``tools/list`` filtering, the
decision of a ``tools/call``, the bridge routes. A route whose token arrives in the body (``/validate``)
is its own edge and calls ``gate.identify`` itself, once.
"""

from __future__ import annotations

import hmac
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from auth.gate import Gate
from auth.principal import EdgeIdentity, Principal, Unauthenticated

IDENTITY_KEY = "agent_auth.identity"
GATED_PREFIXES = ("/mcp", "/things-bridge/", "/gpg-bridge/")

# The identity of the request being handled, for the SDK's TokenVerifier (which only sees the token).
_edge: ContextVar[tuple[str, EdgeIdentity] | None] = ContextVar("agent_auth_edge", default=None)


def bearer_from_headers(headers: Any) -> str | None:
    """The bearer token of raw ASGI headers, or None."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, rest = value.decode("latin-1").partition(" ")
            token: str = rest.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


def identity_of(scope: Scope, gate: Gate) -> EdgeIdentity:
    """The identity the edge established for this request (established here, once, if no edge ran)."""
    identity = scope.get(IDENTITY_KEY)
    if identity is None:
        identity = scope[IDENTITY_KEY] = gate.identify(bearer_from_headers(scope.get("headers", [])))
    assert isinstance(identity, Principal | Unauthenticated)
    return identity


def edge_identity_for(token: str) -> EdgeIdentity | None:
    """The identity the edge established for ``token`` in this request, or None if no edge saw it."""
    seen = _edge.get()
    if seen is None or not hmac.compare_digest(seen[0].encode(), token.encode()):
        return None
    return seen[1]


class EdgeAuthentication:
    def __init__(self, app: ASGIApp, gate: Gate, prefixes: tuple[str, ...] = GATED_PREFIXES) -> None:
        self.app = app
        self.gate = gate
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        token = bearer_from_headers(scope.get("headers", []))
        identity = scope[IDENTITY_KEY] = self.gate.identify(token)
        reset = _edge.set((token, identity)) if token is not None else None
        try:
            await self.app(scope, receive, send)
        finally:
            if reset is not None:
                _edge.reset(reset)
