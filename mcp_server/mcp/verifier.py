"""The SDK's TokenVerifier for our access tokens, answered from the gate's cache."""

from __future__ import annotations

import logging

from mcp.server.auth.provider import AccessToken

from auth.errors import TokenError
from auth.gate import Gate
from auth.scopes import Tier

log = logging.getLogger(__name__)


class GateTokenVerifier:
    """Valid, unexpired, unrevoked access tokens become an AccessToken bound to this resource.

    ``client_id`` and ``subject`` are the family id, which stays the same across refreshes, so an MCP
    session survives access-token rotation.
    """

    def __init__(self, gate: Gate, resource: str) -> None:
        self.gate = gate
        self.resource = resource

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            principal = self.gate.authenticate(token)
        except TokenError as exc:
            log.info("MCP bearer refused: %s (%s)", exc.code, exc.detail)
            return None
        return AccessToken(
            token=token,
            client_id=principal.family_id,
            scopes=[s for s, t in sorted(principal.scopes.items()) if t is not Tier.DENY],
            expires_at=int(principal.expires_at),
            resource=self.resource,
            subject=principal.family_id,
        )
