"""The composition root of the daemon: settings → context, channels, surfaces, serve loop."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from mcp_server.daemon import serve
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.home_lock import serving
from mcp_server.daemon.notifier import HttpNotifierChannel
from mcp_server.notifier_protocol import create_secret
from mcp_server.settings import Settings

log = logging.getLogger(__name__)

Announce = Callable[[str, list[str]], None]
Surface = Callable[[DaemonContext], dict[str, Any]]


def compose_surfaces(ctx: DaemonContext, surfaces: list[Surface]) -> dict[str, Any]:
    routes: list[Any] = []
    hooks: list[Any] = []
    for surface in surfaces:
        extra = surface(ctx)
        routes += extra.get("routes", [])
        hooks += extra.get("lifespan_hooks", [])
    return {"routes": routes, "lifespan_hooks": hooks}


def default_surfaces() -> list[Surface]:
    """Surfaces beyond the token service (the MCP endpoint and bridges register here)."""
    from mcp_server.integrations import gpg, things
    from mcp_server.mcp.server import mcp_surface

    # Integrations first: they register tool providers that the MCP surface turns into tools.
    return [things.surface, gpg.surface, mcp_surface]


async def serve_forever(
    settings: Settings, announce: Announce | None = None, surfaces: list[Surface] | None = None
) -> None:
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
                ]
                lines += ctx.extras.get("announce_lines", [])
                announce(ctx.url, lines)

        chosen = default_surfaces() if surfaces is None else surfaces
        await serve.run(settings, ctx=ctx, on_ready=ready, customize=lambda c: compose_surfaces(c, chosen))
