"""The seed-compatible token service: validate, refresh, reissue, status, health, metrics."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auth.errors import RefreshTokenStillValidError, TokenError
from auth.gate import Decision
from auth.prepared import Row, prepare
from auth.scopes import Tier
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.http import RequestError, bearer_token, field_str, read_json_object
from mcp_server.daemon.reissue import ReissueGuard, reissue_by_family_id, tokens_body
from mcp_server.errors import http_error

MAX_TOKEN_LENGTH = 512


def decision_response(decision: Decision) -> JSONResponse:
    if decision.allowed:
        tier = decision.tier.value if decision.tier else Tier.ALLOW.value
        return JSONResponse({"valid": True, "tier": tier})
    code = decision.code or "scope_denied"
    headers = None
    if code == "rate_limited" and decision.retry_after_seconds is not None:
        headers = {"Retry-After": str(max(1, math.ceil(decision.retry_after_seconds)))}
    # Why a prompt was declined (denied, timeout, too_many_pending, …) is the caller's to know; other
    # denial details are security reasons and stay in the audit log.
    detail = decision.approval.reason if decision.approval is not None and not decision.approval.approved else None
    return http_error(code, detail, headers=headers, valid=False)


def status_body(status: dict[str, Any]) -> dict[str, Any]:
    """``expires_at`` as the original's ISO-8601 UTC string; the number stays as ``expires_at_unix``."""
    expires_at = float(status["expires_at"])
    return {
        **status,
        "expires_at": datetime.fromtimestamp(expires_at, UTC).isoformat(),
        "expires_at_unix": expires_at,
    }


def routes(ctx: DaemonContext) -> list[Route]:
    guard = ReissueGuard(ctx.settings.reissue_cooldown_seconds)

    async def validate(request: Request) -> Response:
        data = await read_json_object(request)
        token = field_str(data, "token", max_length=MAX_TOKEN_LENGTH)
        scope = field_str(data, "required_scope", max_length=256)
        description = field_str(data, "description", required=False, max_length=2000)
        assert token is not None and scope is not None
        target = "validate"  # the seed's name for POST /agent-auth/v1/validate
        # The headline is the server's; the description is the caller's claim, shown apart as their words.
        prepared = prepare(
            target,
            f"A caller asks to use scope {scope} (a /validate check: agent-auth runs nothing itself)",
            [Row("Scope", scope, keep=True)],
            {"required_scope": scope, "description": description},
            caller_claim=description,
        )
        decision = await ctx.gate.admit(
            ctx.gate.identify(token),  # this route is its own edge: the token arrives in the body
            scope,
            surface="rest",
            target=target,
            prepared=prepared,
        )
        return decision_response(decision)

    async def refresh(request: Request) -> Response:
        data = await read_json_object(request)
        token = field_str(data, "refresh_token", max_length=MAX_TOKEN_LENGTH)
        assert token is not None
        try:
            issued = await anyio.to_thread.run_sync(lambda: ctx.authority.refresh(token))
        except TokenError as exc:
            ctx.metrics.token_operations.labels("refresh", exc.code).inc()
            return http_error(exc.code)
        ctx.metrics.token_operations.labels("refresh", "ok").inc()
        return tokens_body(ctx, issued)

    async def reissue(request: Request) -> Response:
        data = await read_json_object(request)
        token = field_str(data, "refresh_token", required=False, max_length=MAX_TOKEN_LENGTH)
        if token is None:
            if data.get("family_id") is not None and not ctx.settings.reissue_by_family_id_enabled:
                raise RequestError(
                    "malformed_request",
                    "reissue needs the expired 'refresh_token' (family-id-only reissue is disabled)",
                )
            if data.get("family_id") is not None:
                return await reissue_by_family_id(ctx, guard, data.get("family_id"))
            raise RequestError("malformed_request", "field 'refresh_token' is required")
        try:
            family = await anyio.to_thread.run_sync(lambda: ctx.authority.check_reissue(token))
        except RefreshTokenStillValidError as exc:
            return http_error(exc.code)
        except TokenError as exc:
            return http_error(exc.code)
        approval = await ctx.broker.request(
            family_id=family.id,
            label=family.label,
            scope="agent-auth:reissue",
            operation="token.reissue",
            summary=f"Issue new tokens for '{family.label or family.id[:8]}' (its refresh token expired)",
        )
        if not approval.approved:
            ctx.metrics.token_operations.labels("reissue", "denied").inc()
            return http_error("reissue_denied", approval.reason)
        try:
            issued = await anyio.to_thread.run_sync(
                lambda: ctx.authority.reissue(token, approved_by=approval.decided_by or "unknown")
            )
        except TokenError as exc:
            return http_error(exc.code)
        ctx.metrics.token_operations.labels("reissue", "ok").inc()
        return tokens_body(ctx, issued)

    async def status(request: Request) -> Response:
        token = bearer_token(request)
        if token is None:
            return http_error("missing_token", headers={"WWW-Authenticate": "Bearer"})
        live = _cached_status(token)
        if live is not None:
            return JSONResponse(status_body(live))
        try:
            body = await anyio.to_thread.run_sync(lambda: ctx.authority.token_status(token))
        except TokenError as exc:
            return http_error(exc.code)  # every TokenError code the status route meets is a 401
        return JSONResponse(status_body(body))

    def _cached_status(token: str) -> dict[str, Any] | None:
        """A live access token answered from the gate's cache, on the event loop (``agent-auth token header``
        asks on every MCP connection). Anything else — refresh tokens, revoked, expired, unknown — takes the
        store path, which gives the full answer."""
        try:
            principal = ctx.gate.authenticate(token)
        except TokenError:
            return None
        family = ctx.gate.cache.family(principal.family_id)
        if family is None:
            return None
        return {
            "token_id": principal.token_id,
            "family_id": principal.family_id,
            "type": "access",
            "scopes": {k: v.value for k, v in sorted(family.scopes.items())},
            "revoked": False,
            "expires_at": principal.expires_at,
            "expires_in": max(0, int(principal.expires_at - ctx.authority.clock())),
        }

    async def _scoped(request: Request, scope: str) -> Response | None:
        token = bearer_token(request)
        if token is None:
            return http_error("missing_token", headers={"WWW-Authenticate": "Bearer"})
        decision = ctx.gate.check(token, scope, operation=request.url.path)
        if decision.needs_approval:
            return http_error("scope_denied", "this endpoint needs the scope at the allow tier")
        return None if decision.allowed else decision_response(decision)

    async def health(request: Request) -> Response:
        refused = await _scoped(request, "agent-auth:health")
        if refused is not None:
            return refused
        try:
            ok = await anyio.to_thread.run_sync(ctx.authority.db.integrity_check) == "ok"
        except Exception:  # any store failure is "unhealthy", never a 500
            ok = False
        return JSONResponse({"status": "ok" if ok else "unhealthy"}, status_code=200 if ok else 503)

    async def metrics(request: Request) -> Response:
        refused = await _scoped(request, "agent-auth:metrics")
        if refused is not None:
            return refused
        return Response(ctx.metrics.render(), media_type=ctx.metrics.content_type)

    return [
        Route("/agent-auth/v1/validate", validate, methods=["POST"]),
        Route("/agent-auth/v1/token/refresh", refresh, methods=["POST"]),
        Route("/agent-auth/v1/token/reissue", reissue, methods=["POST"]),
        Route("/agent-auth/v1/token/status", status, methods=["GET"]),
        Route("/agent-auth/health", health, methods=["GET"]),
        Route("/agent-auth/metrics", metrics, methods=["GET"]),
    ]
