"""What an MCP client is told when the daemon refuses its token: the same words on every transport.

Over HTTP the daemon answers 401 with the Bearer challenge (so OAuth-aware clients can react) and, in the
body, a JSON-RPC error carrying :func:`token_refused_message`; MCP SDK clients surface that error. The stdio
proxy (``agent-auth mcp``) relays the same error to its client and prints the message as one stderr line.
The message names the refusal's code and the fix; it never contains the token.
"""

from __future__ import annotations

from typing import Any

from mcp_server.errors import JSONRPC_TOKEN_REFUSED, jsonrpc_error

TOKEN_REFUSED_ERROR_CODE = JSONRPC_TOKEN_REFUSED  # the registry's number for every refused-token code
TOKEN_REFUSAL_CODES = ("invalid_token", "token_expired", "token_revoked")

_WHY = {
    "invalid_token": "it is not a valid token for this server",
    "token_expired": "it has expired",
    "token_revoked": "it was revoked on the host",
}


def token_refused_message(code: str) -> str:
    why = _WHY.get(code, _WHY["invalid_token"])
    shown = code if code in _WHY else "invalid_token"
    return (
        f"agent-auth refused the access token ({shown}): {why}. Get a new token from the person who runs "
        "agent-auth, store it with 'agent-auth login' (or set AGENT_AUTH_TOKEN), then reconnect."
    )


def token_refused_error(code: str, request_id: Any = None) -> dict[str, Any]:
    """The JSON-RPC error response for a refused token (the body of the HTTP 401)."""
    shown = code if code in _WHY else "invalid_token"
    return jsonrpc_error(request_id, shown, token_refused_message(shown))
