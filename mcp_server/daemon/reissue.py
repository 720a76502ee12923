"""Family-id-only reissue: the original clients' ``POST /agent-auth/v1/token/reissue {"family_id": …}``.

The request carries no secret — a family id is an identifier, printed in listings and logs — so it is
only ever a *request for a person's approval*, fenced so that knowing an id buys nothing more:

* only a live family whose newest refresh token has *expired* qualifies (a revoked, unknown or
  reuse-revoked family is 401 ``family_revoked``; a still-valid refresh token is 400
  ``refresh_token_still_valid``), exactly as the original answered;
* one pending reissue per family: a second request while one waits is 429 ``rate_limited``;
* after a denial or a timeout the family cools down: requests are 429 with ``Retry-After`` until it
  ends, so a stranger cannot keep a person's screen full of prompts;
* the prompt says plainly that the request carries no secret.

The refresh-token-bound reissue (``{"refresh_token": …}``) stays the preferred form for our own clients.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
from starlette.responses import JSONResponse, Response

from auth.authority import validate_family_id
from auth.errors import AuthError, RefreshTokenStillValidError, TokenError
from auth.families import FamilyInfo, IssuedTokens
from auth.untrusted import neutralise
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.http import RequestError
from mcp_server.errors import http_error

REISSUE_SCOPE = "agent-auth:reissue"
MAX_TRACKED_FAMILIES = 10_000


def prompt_summary(family: FamilyInfo) -> str:
    """The approval headline for a family-id reissue; written by the server from stored fields only."""
    name = f"'{neutralise(family.label)}'" if family.label else f"family {family.id[:8]}"
    return (
        f"Issue new tokens for {name} (its refresh token expired). This request carries no secret: "
        "anyone who knows this family id could have sent it. Approve only if you are re-connecting "
        "this client yourself right now."
    )


@dataclass
class ReissueGuard:
    """Per-family state for family-id reissue: one pending request at a time, a cool-down after a refusal."""

    cooldown_seconds: float
    clock: Callable[[], float] = time.monotonic
    _pending: set[str] = field(default_factory=set)
    _cooling_until: dict[str, float] = field(default_factory=dict)

    def refusal(self, family_id: str) -> float | None:
        """Seconds until ``family_id`` may ask again, or None if it may ask now."""
        now = self.clock()
        until = self._cooling_until.get(family_id)
        if until is not None and until <= now:
            del self._cooling_until[family_id]
            until = None
        if until is not None:
            return until - now
        if family_id in self._pending:
            # Nothing useful to wait for: the pending prompt decides within the approval timeout.
            return 1.0
        return None

    def begin(self, family_id: str) -> None:
        self._pending.add(family_id)

    def end(self, family_id: str, *, approved: bool) -> None:
        self._pending.discard(family_id)
        if approved:
            self._cooling_until.pop(family_id, None)
            return
        if len(self._cooling_until) >= MAX_TRACKED_FAMILIES:
            now = self.clock()
            for stale in [f for f, until in self._cooling_until.items() if until <= now]:
                del self._cooling_until[stale]
        if len(self._cooling_until) < MAX_TRACKED_FAMILIES:
            self._cooling_until[family_id] = self.clock() + self.cooldown_seconds


def _retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def tokens_body(ctx: DaemonContext, issued: IssuedTokens) -> JSONResponse:
    """The original's token-pair body: exactly these four fields."""
    body = issued.to_json(ctx.authority.clock())
    return JSONResponse({k: body[k] for k in ("access_token", "refresh_token", "expires_in", "scopes")})


async def reissue_by_family_id(ctx: DaemonContext, guard: ReissueGuard, family_id: object) -> Response:
    """Answer a family-id-only reissue: refuse, or ask a person and issue a new pair on approval."""
    if not isinstance(family_id, str) or not family_id:
        raise RequestError("malformed_request", "field 'family_id' must be a non-empty string")
    try:
        validate_family_id(family_id)
        family = await anyio.to_thread.run_sync(lambda: ctx.authority.get_family(family_id))
        refresh_token = await anyio.to_thread.run_sync(lambda: ctx.authority.latest_refresh_token(family.id))
    except AuthError:
        # Unknown and malformed ids answer as the original did: nothing to reissue.
        return http_error("family_revoked")
    if family.revoked or refresh_token is None:
        return http_error("family_revoked")
    try:
        await anyio.to_thread.run_sync(lambda: ctx.authority.check_reissue(refresh_token))
    except RefreshTokenStillValidError:
        return http_error("refresh_token_still_valid")
    except TokenError:
        return http_error("family_revoked")
    wait = guard.refusal(family.id)
    if wait is not None:
        ctx.metrics.token_operations.labels("reissue", "cooling_down").inc()
        return http_error(
            "rate_limited",
            "a reissue for this family was just refused or is waiting for a decision; try again later",
            headers=_retry_after(wait),
        )
    guard.begin(family.id)
    approved = False
    try:
        approval = await ctx.broker.request(
            family_id=family.id,
            label=family.label,
            scope=REISSUE_SCOPE,
            operation="token.reissue.family_id",
            summary=prompt_summary(family),
        )
        if not approval.approved:
            ctx.metrics.token_operations.labels("reissue", "denied").inc()
            return http_error("reissue_denied", approval.reason)
        try:
            issued = await anyio.to_thread.run_sync(
                lambda: ctx.authority.reissue(refresh_token, approved_by=approval.decided_by or "unknown")
            )
        except TokenError:
            return http_error("family_revoked")
        approved = True
    finally:
        guard.end(family.id, approved=approved)
    ctx.metrics.token_operations.labels("reissue", "ok").inc()
    return tokens_body(ctx, issued)
