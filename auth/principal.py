"""Who a request speaks for: established once at the edge of a surface and carried to every later step.

The edge (the daemon's HTTP middleware for ``/mcp`` and the bridges, the route that reads a token from
a body) turns a presented token into either a :class:`Principal` or an :class:`Unauthenticated`
refusal, once per request. Later steps — the SDK's token verifier, ``tools/list`` filtering, the
decision for a ``tools/call``, the ``whoami`` tool — read that result instead of authenticating again.
"""

from __future__ import annotations

from dataclasses import dataclass

from auth.scopes import Tier, tier_of


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid access token speaks for."""

    token_id: str
    family_id: str
    label: str | None
    scopes: dict[str, Tier]
    expires_at: float

    def tier(self, scope: str) -> Tier:
        """The tier of ``scope`` for this principal (the one tier lookup: :func:`auth.scopes.tier_of`)."""
        return tier_of(self.scopes, scope)


@dataclass(frozen=True, slots=True)
class Unauthenticated:
    """Why the edge could not establish a principal (a stable error code, and a detail for the log)."""

    code: str
    detail: str | None = None


EdgeIdentity = Principal | Unauthenticated
