"""Ready-to-paste setup for a newly issued token family: the ``agent-auth login`` line and ``.mcp.json``.

``agent-auth login`` reads the tokens at hidden prompts (or stdin), never from its arguments, so the
command carries only the daemon URL; the person pastes the two tokens when asked. The ``.mcp.json``
entry matches ``agent-auth mcp-config``.
"""

from __future__ import annotations

import json
import shlex

DEFAULT_URL = "http://127.0.0.1:9100"
# Prompt-tier calls wait for a person; the client must not give up first (milliseconds).
MCP_TIMEOUT_MS = 600_000


def login_command(daemon_url: str | None) -> str:
    return shlex.join(["agent-auth", "login", "--url", daemon_url or DEFAULT_URL])


def mcp_json(daemon_url: str | None) -> str:
    """A Claude Code ``.mcp.json`` entry that fetches the bearer token through ``agent-auth token header``."""
    url = (daemon_url or DEFAULT_URL).rstrip("/") + "/mcp"
    entry = {"type": "http", "url": url, "headersHelper": "agent-auth token header", "timeout": MCP_TIMEOUT_MS}
    return json.dumps({"mcpServers": {"agent-auth": entry}}, indent=2)
