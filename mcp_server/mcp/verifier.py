"""The SDK's TokenVerifier, answered from the identity the daemon's edge already established."""

from __future__ import annotations

import logging

from mcp.server.auth.provider import AccessToken

from auth.principal import Principal
from auth.scopes import Tier
from mcp_server.daemon.edge import edge_identity_for

log = logging.getLogger(__name__)


class GateTokenVerifier:
    """The edge's principal for this request becomes an AccessToken bound to this resource.

    No second authentication: the edge (``mcp_server.daemon.edge``) checked the token once for this
    request. A token the edge did not see (the SDK app reached some other way) is refused: fail closed.
    ``client_id`` and ``subject`` are the family id, which stays the same across refreshes, so an MCP
    session survives access-token rotation.
    """

    def __init__(self, resource: str) -> None:
        self.resource = resource

    async def verify_token(self, token: str) -> AccessToken | None:
        identity = edge_identity_for(token)
        if not isinstance(identity, Principal):
            log.info("MCP bearer refused: %s", "not seen by the edge" if identity is None else identity.code)
            return None
        return AccessToken(
            token=token,
            client_id=identity.family_id,
            scopes=[s for s, t in sorted(identity.scopes.items()) if t is not Tier.DENY],
            expires_at=int(identity.expires_at),
            resource=self.resource,
            subject=identity.family_id,
        )
