"""Wiring of the tool packages (``tools/*``) into the daemon: MCP tool specs, REST bridges, settings."""
