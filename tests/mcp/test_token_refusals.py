"""A token the daemon refuses reads the same, and says what to do, on every transport.

Over stdio (``agent-auth mcp`` driven by the real SDK stdio client) an invalid, expired or revoked token is
a JSON-RPC error naming ``agent-auth login`` and one line on stderr — no traceback, no bare "Connection
closed". Over HTTP the 401 keeps its Bearer challenge and carries the same words as a JSON-RPC error.
"""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from mcp_server.mcp.refusals import TOKEN_REFUSED_ERROR_CODE, token_refused_message
from mcp_server.mcp.stdio_proxy import upstream_client
from tests.mcp.mcp_test_support import FAMILY_SCOPES, ToolRuns
from tests.mcp.test_stdio_proxy import proxy
from tests.support.daemon import RunningDaemon

pytestmark = pytest.mark.anyio

WAIT_SECONDS = 30.0
CODES = {"invalid": "invalid_token", "expired": "token_expired", "revoked": "token_revoked"}


def leaves(group: BaseExceptionGroup[MCPError]) -> list[MCPError]:
    found: list[MCPError] = []
    for exc in group.exceptions:
        found += leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
    return found


def unusable_token(daemon: RunningDaemon, kind: str) -> str:
    if kind == "invalid":
        family = daemon.create_family(FAMILY_SCOPES)
        return family.access_token[:-1] + ("A" if family.access_token[-1] != "A" else "B")
    if kind == "expired":
        return daemon.create_family(FAMILY_SCOPES, now=time.time() - 3600, access_ttl_seconds=60).access_token
    family = daemon.create_family(FAMILY_SCOPES)
    daemon.ctx.authority.revoke_family(family.family_id)
    return family.access_token


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("kind", sorted(CODES))
async def test_an_unusable_token_over_stdio_is_a_json_rpc_error_naming_login_and_one_stderr_line(
    daemon: RunningDaemon, runs: ToolRuns, tmp_path: Path, kind: str, mode: str
) -> None:
    token = unusable_token(daemon, kind)
    errlog = tmp_path / "stderr.txt"
    with anyio.fail_after(WAIT_SECONDS), errlog.open("w") as sink:
        async with Client(stdio_client(proxy(tmp_path, daemon.url, token), errlog=sink), mode=mode) as client:  # type: ignore[arg-type]
            with pytest.raises(MCPError) as raised:
                await client.list_tools()
            with pytest.raises(MCPError) as called:
                await client.call_tool("read_note", {"title": "a"})

    assert called.value.error == raised.value.error
    assert raised.value.error.code == TOKEN_REFUSED_ERROR_CODE
    assert raised.value.error.message == token_refused_message(CODES[kind])
    assert "agent-auth login" in raised.value.error.message
    assert (raised.value.error.data or {}).get("error") == CODES[kind]
    lines = [line for line in errlog.read_text().splitlines() if line.strip()]
    assert "Traceback" not in errlog.read_text()
    assert len(lines) == 1, lines
    assert "agent-auth login" in lines[0]
    assert token not in errlog.read_text()
    assert runs.names == []


async def test_revoking_the_family_mid_session_over_stdio_answers_the_next_call_with_the_same_words(
    daemon: RunningDaemon, runs: ToolRuns, tmp_path: Path
) -> None:
    family = daemon.create_family(FAMILY_SCOPES)
    with anyio.fail_after(WAIT_SECONDS):
        async with Client(proxy(tmp_path, daemon.url, family.access_token)) as client:
            first = await client.call_tool("read_note", {"title": "a"})
            daemon.ctx.authority.revoke_family(family.family_id)
            with pytest.raises(MCPError) as raised:
                await client.call_tool("read_note", {"title": "b"})

    assert not first.is_error
    assert raised.value.error.message == token_refused_message("token_revoked")
    assert runs.names == ["read_note"]


@pytest.mark.parametrize("kind", sorted(CODES))
async def test_over_http_the_401_keeps_its_challenge_and_says_the_same(daemon: RunningDaemon, kind: str) -> None:
    """A raw POST gets the 401 with its challenge and the JSON-RPC error; the SDK's HTTP client shows its words."""
    token = unusable_token(daemon, kind)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"}
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {}}
    async with httpx2.AsyncClient() as http:
        response = await http.post(f"{daemon.url}/mcp", json=body, headers=headers)
    refused: list[MCPError] = []
    client_http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"})
    try:
        async with client_http, Client(streamable_http_client(f"{daemon.url}/mcp", http_client=client_http)) as c:
            await c.list_tools()
    except* MCPError as group:  # the SDK client raises while connecting, inside its task group
        refused += leaves(group)

    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge and "resource_metadata=" in challenge
    error = response.json()["error"]
    assert response.json()["id"] == 7
    assert error["message"] == token_refused_message(CODES[kind])
    assert error["data"]["error"] == CODES[kind]
    assert refused and refused[0].error.message == token_refused_message(CODES[kind])


async def test_without_any_stored_login_the_stdio_proxy_refuses_with_the_fix_not_a_closed_connection(
    tmp_path: Path,
) -> None:
    params = proxy(tmp_path, "http://127.0.0.1:9", "")
    params.env = {k: v for k, v in (params.env or {}).items() if k != "AGENT_AUTH_TOKEN"}
    errlog = tmp_path / "stderr.txt"
    with anyio.fail_after(WAIT_SECONDS), errlog.open("w") as sink:
        async with Client(stdio_client(params, errlog=sink), mode="legacy") as client:
            with pytest.raises(MCPError) as raised:
                await client.list_tools()

    assert raised.value.error.code == TOKEN_REFUSED_ERROR_CODE
    assert (raised.value.error.data or {}).get("error") == "not_logged_in"
    assert "agent-auth login" in raised.value.error.message
    lines = [line for line in errlog.read_text().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in lines[0]


async def test_a_token_provider_that_fails_mid_session_gives_the_refusal_not_a_dead_connection(
    daemon: RunningDaemon,
) -> None:
    """Stored credentials whose refresh is refused: the proxy's upstream reports the daemon's refusal."""
    family = daemon.create_family(FAMILY_SCOPES)
    refused = {"now": False}

    def provider() -> str:
        if refused["now"]:
            raise RuntimeError("cannot refresh the access token (family_revoked)")
        return family.access_token

    with anyio.fail_after(WAIT_SECONDS):
        async with upstream_client(daemon.url, provider) as upstream:
            first = await upstream.call_tool("read_note", {"title": "a"})
            daemon.ctx.authority.revoke_family(family.family_id)
            refused["now"] = True
            with pytest.raises(MCPError) as raised:
                await upstream.call_tool("read_note", {"title": "b"})
            with pytest.raises(MCPError) as again:  # the connection is still there
                await upstream.list_tools()

    assert not first.is_error
    assert raised.value.error.message == token_refused_message("token_revoked")
    assert again.value.error.code == TOKEN_REFUSED_ERROR_CODE
