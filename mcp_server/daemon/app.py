"""The daemon's ASGI app: the token service, optional management routes, and (later) /mcp."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import sqlalchemy.exc
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth.errors import AuditError, StoreError
from mcp_server.daemon import management_routes, token_routes
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.edge import EdgeAuthentication
from mcp_server.daemon.http import BodyLimitMiddleware, RequestError
from mcp_server.errors import code_for_http_exception, http_error
from mcp_server.integration import refuse_duplicate_paths

log = logging.getLogger(__name__)

MAINTENANCE_INTERVAL_SECONDS = 1.0
PRUNE_INTERVAL_SECONDS = 600.0


# Label values come from fixed sets so no request can mint a new time series (memory that never returns).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class TimingMiddleware:
    """Request duration by route template and status, without leaking raw paths into label values."""

    def __init__(self, app: ASGIApp, ctx: DaemonContext) -> None:
        self.app = app
        self.ctx = ctx
        self._children: dict[tuple[str, str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            # The router records the matched route in the scope; its template is a bounded label.
            route = str(getattr(scope.get("route"), "path", "unmatched"))
            method = scope.get("method", "")
            key = (method if method in KNOWN_METHODS else "other", route, str(status))
            child = self._children.get(key)
            if child is None:
                child = self._children[key] = self.ctx.metrics.request_duration.labels(*key)
            child.observe(time.perf_counter() - started)


async def _request_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestError)
    return http_error(exc.code, exc.detail, **exc.extra)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return http_error(code_for_http_exception(exc.status_code), status=exc.status_code, headers=dict(exc.headers or {}))


async def _unavailable(request: Request, exc: Exception) -> Response:
    """The audit log or the store cannot be written: nothing was issued or granted (fail closed)."""
    code = "audit_unavailable" if isinstance(exc, AuditError) else "store_unavailable"
    log.error("%s on %s %s: %s", code, request.method, request.url.path, exc)
    return http_error(code, "the daemon cannot record this operation right now; nothing was changed")


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return http_error("internal_error", "the daemon hit an unexpected error; see its log")


async def maintenance(ctx: DaemonContext) -> None:
    """Batch last-use times and audit checkpoints off the hot path; prune dead tokens now and then."""
    last_prune = 0.0
    last_head = ctx.authority.audit.head
    while True:
        await anyio.sleep(MAINTENANCE_INTERVAL_SECONDS)
        try:
            await anyio.to_thread.run_sync(ctx.gate.flush_last_used)
            head = ctx.authority.audit.head
            if head != last_head:
                await anyio.to_thread.run_sync(ctx.authority.checkpoint_audit)
                last_head = head
            if time.monotonic() - last_prune > PRUNE_INTERVAL_SECONDS:
                await anyio.to_thread.run_sync(ctx.authority.prune)
                last_prune = time.monotonic()
        except Exception:  # maintenance must keep running; failures are logged
            log.exception("maintenance step failed")


def build_app(
    ctx: DaemonContext,
    *,
    extra_routes: list[BaseRoute] | None = None,
    lifespan_hooks: list[Callable[[anyio.abc.TaskGroup], Any]] | None = None,
) -> Starlette:
    routes: list[BaseRoute] = [*token_routes.routes(ctx)]
    if ctx.settings.management_endpoints_enabled:
        routes += management_routes.routes(ctx)
    routes += extra_routes or []
    refuse_duplicate_paths(routes)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            tg.start_soon(maintenance, ctx)
            async with contextlib.AsyncExitStack() as stack:
                for hook in lifespan_hooks or []:
                    result = hook(tg)
                    if result is not None and hasattr(result, "__aenter__"):
                        await stack.enter_async_context(result)
                yield
            tg.cancel_scope.cancel()
        with contextlib.suppress(Exception):
            await anyio.to_thread.run_sync(ctx.gate.flush_last_used)
            await anyio.to_thread.run_sync(ctx.authority.checkpoint_audit)

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            RequestError: _request_error,
            HTTPException: _http_error,
            AuditError: _unavailable,
            StoreError: _unavailable,
            sqlalchemy.exc.OperationalError: _unavailable,
            sqlite3.OperationalError: _unavailable,
            Exception: _internal_error,
        },
    )
    app.add_middleware(EdgeAuthentication, gate=ctx.gate)
    app.add_middleware(BodyLimitMiddleware, skip_prefixes=("/mcp",))
    app.add_middleware(TimingMiddleware, ctx=ctx)
    return app
