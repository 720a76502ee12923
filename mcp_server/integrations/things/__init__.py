"""Things 3: the MCP tools over ``tools/things`` and the seed's ``/things-bridge/v1`` routes (``wiring``)."""

from mcp_server.integrations.things.wiring import Things

__all__ = ["Things"]
