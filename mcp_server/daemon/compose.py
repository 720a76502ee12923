"""The daemon's composition: settings → context, channels, the integrations' contributions, the MCP endpoint.

Each integration is attached once (:meth:`Integration.attach`); its tools, routes, scopes and announce lines
are collected here, then the MCP endpoint is mounted with exactly those tools. The order is explicit: nothing
registers itself into a shared bag for a later surface to find.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from starlette.routing import BaseRoute

from mcp_server.daemon import serve
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.home_lock import serving
from mcp_server.daemon.notifier import HttpNotifierChannel
from mcp_server.integration import CompositionError, Integration, LifespanHook
from mcp_server.mcp.registry import ToolSpec
from mcp_server.notifier_protocol import create_secret
from mcp_server.settings import Settings

log = logging.getLogger(__name__)

Announce = Callable[[str, list[str]], None]


def compose(ctx: DaemonContext, integrations: Sequence[Integration], *, mcp: bool = True) -> dict[str, Any]:
    """Attach ``integrations`` in order, gather their tools into ``ctx.tool_registry``, then (``mcp``) mount
    ``/mcp`` serving exactly that registry."""
    routes: list[BaseRoute] = []
    hooks: list[LifespanHook] = []
    tools: list[ToolSpec] = []
    owners: dict[str, str] = {}  # tool or path → the integration that contributed it
    for integration in integrations:
        if any(attached.name == integration.name for attached in ctx.integrations):
            raise CompositionError(f"two integrations are named {integration.name!r}")
        contribution = integration.attach(ctx)
        ctx.integrations.append(integration)
        for claim in [*(spec.name for spec in contribution.tools), *_paths(contribution.routes)]:
            if claim in owners:
                raise CompositionError(f"{owners[claim]!r} and {integration.name!r} both offer {claim}")
            owners[claim] = integration.name
        tools += contribution.tools
        routes += contribution.routes
        hooks += contribution.lifespan_hooks
        ctx.announce_lines += contribution.announce
        for scope, description in contribution.scopes.items():
            ctx.known_scopes.setdefault(
                scope, {"scope": scope, "description": description, "tools": [], "system": False}
            )
    from mcp_server.mcp.server import default_registry, mcp_surface

    ctx.tool_registry = registry = default_registry(tools)
    ctx.known_scopes.update(registry.known_scopes())
    if mcp:
        mounted = mcp_surface(ctx, registry)
        routes += mounted["routes"]
        hooks += mounted["lifespan_hooks"]
    return {"routes": routes, "lifespan_hooks": hooks}


def _paths(routes: Sequence[BaseRoute]) -> list[str]:
    return [path for path in (getattr(route, "path", None) for route in routes) if isinstance(path, str)]


async def serve_forever(
    settings: Settings, announce: Announce | None, integrations: Sequence[Integration], *, mcp: bool = True
) -> None:
    """``agent-auth serve``: the token service, ``integrations`` and (``mcp``) the MCP endpoint, until a signal."""
    with serving(settings.data_dir, settings.daemon_state_path):
        ctx = serve.open_context(settings)
        if settings.notification_plugin_url:
            secret = create_secret(settings.notifier_secret_path)
            ctx.broker.add_channel(
                HttpNotifierChannel(
                    settings.notification_plugin_url,
                    secret=secret,
                    timeout_seconds=settings.notification_timeout_seconds,
                )
            )

        def ready(ctx: DaemonContext) -> None:
            if announce is not None:
                assert ctx.url is not None
                lines = [
                    f"admin socket {settings.admin_socket_path}",
                    f"token store  {settings.database_path}",
                    f"audit log    {settings.audit_log_path}",
                    *ctx.announce_lines,
                ]
                announce(ctx.url, lines)

        await serve.run(settings, ctx=ctx, on_ready=ready, customize=lambda c: compose(c, integrations, mcp=mcp))
