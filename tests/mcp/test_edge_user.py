"""The SDK's bearer layers of ``/mcp`` take the user from the edge's principal, and fail closed without it."""

from __future__ import annotations

import time
from typing import Any

import pytest
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from starlette.authentication import UnauthenticatedUser
from starlette.types import Receive, Scope, Send

from auth.principal import Principal, Unauthenticated
from auth.scopes import Tier
from mcp_server.daemon.edge import IDENTITY_KEY
from mcp_server.mcp.verifier import EdgeUser

pytestmark = pytest.mark.anyio

RESOURCE = "http://127.0.0.1:1/mcp"
TOKEN = "aa_" + "0" * 32 + "_" + "1" * 64


def principal(expires_at: float | None = None) -> Principal:
    scopes = {"notes:read": Tier.ALLOW, "notes:write": Tier.PROMPT, "notes:admin": Tier.DENY}
    return Principal("t1", "f1", "label", scopes, time.time() + 600 if expires_at is None else expires_at)


async def users_of(*identities: Any) -> list[Any]:
    seen: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["user"])

    layer = EdgeUser(app, RESOURCE)
    for identity in identities:
        scope: dict[str, Any] = {"type": "http", "headers": [(b"authorization", f"Bearer {TOKEN}".encode())]}
        if identity is not None:
            scope[IDENTITY_KEY] = identity
        await layer(scope, None, None)  # type: ignore[arg-type]
    return seen


async def test_the_user_is_the_edges_principal_with_its_usable_scopes_bound_to_this_resource() -> None:
    [user] = await users_of(principal())
    assert isinstance(user, AuthenticatedUser)
    token = user.access_token
    assert (token.client_id, token.subject, token.resource, token.token) == ("f1", "f1", RESOURCE, TOKEN)
    assert token.scopes == ["notes:read", "notes:write"]  # a scope held at deny is not the token's


async def test_the_same_principal_gets_the_same_user_and_a_new_principal_a_new_one() -> None:
    first = principal()
    a, b, c = await users_of(first, first, principal())
    assert a is b
    assert c is not a


@pytest.mark.parametrize(
    "identity", [None, Unauthenticated("invalid_token"), "not a principal", principal(expires_at=time.time() - 5)]
)
async def test_no_principal_or_an_expired_one_is_an_unauthenticated_user(identity: Any) -> None:
    [user] = await users_of(identity)
    assert isinstance(user, UnauthenticatedUser)
