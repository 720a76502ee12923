"""The Things 3 integration as the composition root attaches it: its data source, MCP tools and REST routes."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from mcp_server.daemon.bridge_http import ops_routes, ops_scopes
from mcp_server.daemon.context import DaemonContext
from mcp_server.integration import Contribution
from mcp_server.integrations.things.bridge_routes import bridge_routes
from mcp_server.integrations.things.mcp_tools import tool_specs
from mcp_server.integrations.things.source import ThingsSource, build_source

log = logging.getLogger(__name__)


# --- the surface -------------------------------------------------------------------------------


@dataclass
class Things:
    """The Things 3 integration: its MCP tools and the seed's ``/things-bridge/v1`` routes.

    ``source`` is the Things data being served (set by :meth:`attach`, or given to serve a prepared one).
    """

    source: ThingsSource | None = None
    name: str = "things"

    def attach(self, ctx: DaemonContext) -> Contribution:
        if self.source is None:
            self.source = build_source(ctx.settings.things_database, ctx.settings.data_dir)
        source = self.source
        log.info("%s", source.description)
        return Contribution(
            tools=tool_specs(source.service),
            routes=[
                *bridge_routes(ctx, source.service),
                *ops_routes(ctx, "things-bridge", lambda: isinstance(source.service.list_areas(), list)),
            ],
            scopes=ops_scopes("things-bridge"),
            announce=[source.description],
        )
