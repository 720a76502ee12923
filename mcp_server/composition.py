"""Which host integrations the daemon serves: one line each.

Adding an integration means one new package under ``mcp_server/integrations/`` (with its domain code under
``tools/``) whose class follows :class:`mcp_server.integration.Integration`, and one line here.
"""

from __future__ import annotations

from mcp_server.integration import Integration


def integrations() -> list[Integration]:
    """The integrations ``agent-auth serve`` and the demo attach, in the order their tools are listed."""
    from mcp_server.integrations.gpg import Gpg
    from mcp_server.integrations.things import Things

    return [
        Things(),  # Things 3: to-dos, projects, areas (MCP tools, /things-bridge/v1)
        Gpg(),  # GPG: sign and verify git commits and tags (MCP tools, /gpg-bridge/v1)
    ]
