"""The OAuth 2.1 authorization server for MCP clients, built from the SDK's ``mcp.server.auth`` handlers."""
