"""Ready-to-paste setup for a newly issued token family: an ``agent-auth login`` line and ``.mcp.json``."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any


def login_command(issued: Mapping[str, Any], daemon_url: str | None) -> str:
    """The command that stores the new tokens on the agent's side."""
    parts = ["agent-auth", "login"]
    if daemon_url:
        parts += ["--url", daemon_url]
    parts += ["--access-token", str(issued["access_token"]), "--refresh-token", str(issued["refresh_token"])]
    return shlex.join(parts)


def mcp_json(daemon_url: str | None) -> str:
    """A Claude Code ``.mcp.json`` entry that fetches the bearer token through ``agent-auth token header``."""
    url = (daemon_url or "http://127.0.0.1:9100").rstrip("/") + "/mcp"
    config = {
        "mcpServers": {
            "agent-auth": {"type": "http", "url": url, "headersHelper": "agent-auth token header"},
        }
    }
    return json.dumps(config, indent=2)
