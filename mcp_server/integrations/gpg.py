"""Wiring of ``tools/gpg`` into the daemon (MCP tools and the seed's REST bridge, through the gate)."""

from __future__ import annotations

from typing import Any

from mcp_server.daemon.context import DaemonContext


def surface(ctx: DaemonContext) -> dict[str, Any]:
    """Register this integration's tool provider and return its REST routes."""
    return {"routes": [], "lifespan_hooks": []}
