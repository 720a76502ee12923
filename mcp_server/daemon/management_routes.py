"""The seed's HTTP management endpoints (``agent-auth:manage`` bearer), off unless enabled.

Unlike the seed, the management credential is an ordinary token family holding ``agent-auth:manage`` at
the allow tier: it expires and refreshes like any other, instead of a single-use token stored once.
"""

from __future__ import annotations

from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auth.authority import validate_family_id
from auth.errors import AuthError, FamilyAlreadyRevokedError, FamilyNotFoundError
from auth.families import DEFAULT_ACCESS_TTL_SECONDS, DEFAULT_REFRESH_TTL_SECONDS
from auth.scopes import validate_scope, validate_scope_map
from mcp_server.admin_ops import LocalAdmin
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.http import RequestError, bearer_token, field_str, read_json_object
from mcp_server.daemon.token_routes import decision_response
from mcp_server.errors import http_error

MANAGE_SCOPE = "agent-auth:manage"


_WIRE_CODES = {"invalid_tier": "invalid_tier", "no_scopes": "no_scopes", "no_modifications": "no_modifications"}


def _wire_code(exc: AuthError) -> str:
    """The original's 400 codes: a precise code of ours that its clients do not know is ``malformed_request``."""
    return _WIRE_CODES.get(exc.code, "malformed_request")


def family_id_of(data: dict[str, Any]) -> str:
    """A non-empty string, or 400; an id that cannot name a family is 404 ``family_not_found``, as unknown ones."""
    family_id = data.get("family_id")
    if not isinstance(family_id, str) or not family_id:
        raise RequestError("malformed_request", "field 'family_id' must be a non-empty string")
    try:
        return validate_family_id(family_id)
    except AuthError:
        raise FamilyNotFoundError("no such token family") from None


def routes(ctx: DaemonContext) -> list[Route]:
    admin = LocalAdmin(ctx.authority, actor="http-manage")

    def guarded(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            token = bearer_token(request)
            if token is None:
                return http_error("missing_token", headers={"WWW-Authenticate": "Bearer"})
            decision = ctx.gate.check(token, MANAGE_SCOPE, operation=request.url.path)
            if not decision.allowed:
                if decision.needs_approval:
                    return http_error("scope_denied")
                return decision_response(decision)
            try:
                result: Response = await handler(request)
            except FamilyNotFoundError:
                return http_error("family_not_found")
            except FamilyAlreadyRevokedError:
                return http_error("family_revoked", status=409)  # already revoked: a conflict, not a bad token
            except AuthError as exc:
                return http_error(_wire_code(exc), exc.message)
            return result

        return endpoint

    def scopes_from(data: dict[str, Any], name: str) -> dict[str, Any]:
        value = data.get(name) or {}
        if not isinstance(value, dict):
            raise RequestError("malformed_request", f"field '{name}' must be an object of scope: tier")
        try:
            return validate_scope_map(value)
        except AuthError as exc:
            raise RequestError("invalid_tier" if "tier" in exc.message else _wire_code(exc), exc.message) from None

    async def create(request: Request) -> Response:
        data = await read_json_object(request)
        scopes = scopes_from(data, "scopes")
        if not scopes:
            return http_error("no_scopes")
        label = field_str(data, "label", required=False, max_length=100)
        result = await anyio.to_thread.run_sync(
            lambda: admin.create_family(scopes, label, DEFAULT_ACCESS_TTL_SECONDS, DEFAULT_REFRESH_TTL_SECONDS)
        )
        return JSONResponse(result)

    async def list_(request: Request) -> Response:
        families = await anyio.to_thread.run_sync(admin.list_families)
        # The original's items are keyed by ``id``; ``family_id`` stays for our own readers.
        return JSONResponse([{"id": f["family_id"], **f} for f in families if MANAGE_SCOPE not in f["scopes"]])

    async def modify(request: Request) -> Response:
        data = await read_json_object(request)
        family_id = family_id_of(data)
        add, set_tiers = scopes_from(data, "add_scopes"), scopes_from(data, "set_tiers")
        remove = data.get("remove_scopes") or []
        if not isinstance(remove, list) or not all(isinstance(s, str) for s in remove):
            raise RequestError("malformed_request", "field 'remove_scopes' must be a list of scope names")
        removed = [validate_scope(s) for s in remove]
        if not (add or set_tiers or removed):
            return http_error("no_modifications")

        def apply() -> dict[str, Any]:
            # As the original: removing an absent scope, or re-tiering one, is a no-op, not an error.
            current = admin.show_family(family_id)
            if current["revoked"]:
                raise FamilyAlreadyRevokedError(f"family {family_id} is revoked")
            present = set(current["scopes"])
            gone = [s for s in removed if s in present]
            tiers = {s: t for s, t in set_tiers.items() if s in present or s in add}
            if not (add or gone or tiers):
                return current
            return admin.modify_family(family_id, add, gone, tiers)

        result = await anyio.to_thread.run_sync(apply)
        return JSONResponse({"family_id": result["family_id"], "scopes": result["scopes"]})

    async def revoke(request: Request) -> Response:
        data = await read_json_object(request)
        family_id = family_id_of(data)
        await anyio.to_thread.run_sync(lambda: admin.revoke_family(family_id))
        ctx.broker.revoke_grants(family_id)
        return JSONResponse({"family_id": family_id, "revoked": True})

    async def rotate(request: Request) -> Response:
        data = await read_json_object(request)
        family_id = family_id_of(data)
        result = await anyio.to_thread.run_sync(lambda: admin.rotate_family(family_id))
        ctx.broker.revoke_grants(family_id)
        return JSONResponse(
            {
                "old_family_id": family_id,
                "new_family_id": result["family_id"],
                "access_token": result["access_token"],
                "refresh_token": result["refresh_token"],
                "scopes": result["scopes"],
                "expires_in": result["expires_in"],
            }
        )

    return [
        Route("/agent-auth/v1/token/create", guarded(create), methods=["POST"]),
        Route("/agent-auth/v1/token/list", guarded(list_), methods=["GET"]),
        Route("/agent-auth/v1/token/modify", guarded(modify), methods=["POST"]),
        Route("/agent-auth/v1/token/revoke", guarded(revoke), methods=["POST"]),
        Route("/agent-auth/v1/token/rotate", guarded(rotate), methods=["POST"]),
    ]
