"""What the original ``/things-bridge`` and ``/gpg-bridge`` routes share: their refusals, health and metrics.

The original bridges spoke a small vocabulary of their own (``things-bridge.v1.yaml``,
``gpg-bridge.v1.yaml``): 401 ``unauthorized`` or ``token_expired``, 403 ``scope_denied``, 429
``rate_limited`` with ``Retry-After``, 502 ``authz_unavailable``. Their clients map exactly those, so a
refusal on a bridge route is rendered here, in the registry's ``bridge`` words (``mcp_server.errors``).

Health is unauthenticated (it says ``ok`` or ``unhealthy`` and nothing else); metrics need the bridge's
``<bridge>:metrics`` scope at the allow tier, as the original.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auth.gate import Decision
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.http import bearer_token
from mcp_server.errors import bridge_error

log = logging.getLogger(__name__)


def refusal(decision: Decision, detail: str | None = None) -> JSONResponse:
    """The original bridges' refusal for a gate decision (the registry's ``bridge`` word for its code); any
    other token failure is 401 ``unauthorized``."""
    status, body = bridge_error(decision.code or "", detail, fallback="unauthorized")
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{body["error"]}"'
    if status == 429:
        headers["Retry-After"] = str(max(1, math.ceil(decision.retry_after_seconds or 1)))
    return JSONResponse(body, status_code=status, headers=headers)


def unauthorized() -> JSONResponse:
    """No bearer token at all."""
    return refusal(Decision(False, "invalid_token"))


def ops_scopes(bridge: str) -> dict[str, str]:
    """The scope ``GET /<bridge>/metrics`` needs, with what it allows (an integration declares it)."""
    return {f"{bridge}:metrics": f"read {bridge}'s Prometheus metrics"}


def ops_routes(ctx: DaemonContext, bridge: str, healthy: Callable[[], bool]) -> list[Route]:
    """``GET /<bridge>/health`` (no token) and ``GET /<bridge>/metrics`` (scope ``<bridge>:metrics``)."""
    metrics_scope = f"{bridge}:metrics"

    async def health(request: Request) -> Response:
        try:
            ok = await anyio.to_thread.run_sync(healthy)
        except Exception:  # a health probe reports any failure as "unhealthy", never a 500
            log.warning("%s health check failed", bridge, exc_info=True)
            ok = False
        return JSONResponse({"status": "ok" if ok else "unhealthy"}, status_code=200 if ok else 503)

    async def metrics(request: Request) -> Response:
        token = bearer_token(request)
        if token is None:
            return unauthorized()
        decision = ctx.gate.check(token, metrics_scope, operation=request.url.path)
        if not decision.allowed:
            return refusal(decision)
        return Response(ctx.metrics.render(), media_type=ctx.metrics.content_type)

    return [
        Route(f"/{bridge}/health", health, methods=["GET"]),
        Route(f"/{bridge}/metrics", metrics, methods=["GET"]),
    ]
