"""The MCP face of the daemon: tool registry, enforcement, the MCPServer, the stdio proxy."""
