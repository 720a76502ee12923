"""The seed's ``/things-bridge/v1`` REST routes: each call decided and recorded by ``ctx.gate`` first, then
answered by the framework-free handlers of ``tools.things.bridge``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from auth.gate import Decision, request_digest
from auth.principal import Unauthenticated
from mcp_server.daemon.bridge_http import refusal
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.edge import identity_of
from mcp_server.integrations.bridge_errors import things_bridge_answer
from mcp_server.integrations.things.mcp_tools import READ_SCOPE
from tools.things import (
    ThingsService,
)
from tools.things import bridge as things_bridge

log = logging.getLogger(__name__)


# --- the seed's REST bridge --------------------------------------------------------------------


def _params(request: Request) -> dict[str, list[str]]:
    return {key: request.query_params.getlist(key) for key in request.query_params}


def bridge_routes(ctx: DaemonContext, service: ThingsService) -> list[BaseRoute]:
    """``GET /things-bridge/v1/{todos,projects,areas}[/{id}]``, each call decided by the gate first."""

    def route(path: str, summary_tool: str, call: Callable[[Request], things_bridge.Body]) -> Route:
        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            identity = identity_of(request.scope, ctx.gate)
            if isinstance(identity, Unauthenticated) and identity.code == "missing_token":
                identity = Unauthenticated("invalid_token")  # the seed answers 401 unauthorized
            args: dict[str, Any] = dict(request.path_params)
            args.update({k: v for k, v in request.query_params.items() if k in ("list", "tag", "status")})
            target = f"GET {path}"
            # admit() decides at once for allow/deny and waits for a person at the prompt tier.
            decision = await ctx.gate.admit(
                identity,
                READ_SCOPE,
                surface="rest",
                target=target,
                digest=request_digest(target, {"params": _params(request), "path": dict(request.path_params)}),
                summary=lambda: service.summarize(summary_tool, args),
                started=started,
            )
            if not decision.allowed:
                return refusal(decision)
            status, body = await anyio.to_thread.run_sync(things_bridge_answer, lambda: call(request))
            if not ctx.gate.record_result(decision, "ok" if status < 400 else f"http_{status}", started=started):
                return refusal(Decision(False, "audit_unavailable"))
            return JSONResponse(body, status_code=status)

        return Route(path, endpoint, methods=["GET"])

    prefix = things_bridge.PREFIX
    return [
        route(f"{prefix}/todos", "list_todos", lambda r: things_bridge.list_todos(service, _params(r))),
        route(f"{prefix}/todos/{{id}}", "get_todo", lambda r: things_bridge.get_todo(service, r.path_params["id"])),
        route(f"{prefix}/projects", "list_projects", lambda r: things_bridge.list_projects(service, _params(r))),
        route(
            f"{prefix}/projects/{{id}}",
            "get_project",
            lambda r: things_bridge.get_project(service, r.path_params["id"]),
        ),
        route(f"{prefix}/areas", "list_areas", lambda r: things_bridge.list_areas(service, _params(r))),
        route(f"{prefix}/areas/{{id}}", "get_area", lambda r: things_bridge.get_area(service, r.path_params["id"])),
    ]
