"""The gated server speaks each negotiated protocol version exactly as an ungated server on the same SDK.

Raw JSON-RPC over the SDK's in-memory transport (the wire form, before any client parses it): a handshake-era
session never receives 2026 fields; a 2026 session gets ``resultType`` and the ``serverInfo`` stamp on our own
refusals too; an unknown prompt is ``-32602`` without a logged traceback; the server names its version on
every transport.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client._memory import InMemoryTransport
from mcp.client.streamable_http import streamable_http_client
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.message import SessionMessage
from mcp.types import JSONRPCNotification, JSONRPCRequest

from auth.families import IssuedTokens
from mcp_server.daemon.context import DaemonContext
from mcp_server.mcp.registry import ToolRegistry
from mcp_server.mcp.server import build_mcp_server
from tests.mcp.mcp_test_support import ToolRuns, notes_tools
from tests.mcp.test_stdio_proxy import proxy
from tests.support.daemon import RunningDaemon

pytestmark = pytest.mark.anyio

HANDSHAKE_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]
MODERN_ONLY_KEYS = {"ttlMs", "cacheScope", "resultType", "io.modelcontextprotocol/serverInfo"}
WAIT_SECONDS = 20.0


def keys_anywhere(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, sub in value.items():
            yield key
            yield from keys_anywhere(sub)
    elif isinstance(value, list):
        for item in value:
            yield from keys_anywhere(item)


async def raw_session(server: Any, version: str, requests: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Handshake at ``version``, then each request; the raw JSON-RPC responses in order."""
    answers: list[dict[str, Any]] = []
    with anyio.fail_after(WAIT_SECONDS):
        async with InMemoryTransport(server) as (read, write):

            async def ask(request_id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
                request = JSONRPCRequest(jsonrpc="2.0", id=request_id, method=method, params=params)
                await write.send(SessionMessage(request))
                while True:
                    message = await read.receive()
                    assert isinstance(message, SessionMessage)
                    dumped = message.message.model_dump(by_alias=True, exclude_unset=True)
                    if dumped.get("id") == request_id:
                        return dumped

            hello = {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}
            initialized = await ask(0, "initialize", hello)
            assert initialized["result"]["protocolVersion"] == version
            await write.send(SessionMessage(JSONRPCNotification(jsonrpc="2.0", method="notifications/initialized")))
            for number, (method, params) in enumerate(requests, 1):
                answers.append(await ask(number, method, params))
    return answers


def ungated_server() -> MCPServer:
    """The same tools with no gate, plus one that fails the way a gate refusal does (a tool error)."""
    server = MCPServer("ungated")
    for spec in notes_tools(ToolRuns()):
        server.add_tool(spec.fn, name=spec.name)

    def refused() -> str:
        raise ToolError("refused")

    server.add_tool(refused, name="refused")
    return server


def gated_server(context: DaemonContext, family: IssuedTokens) -> MCPServer:
    registry = ToolRegistry(notes_tools(ToolRuns()))
    server, _ = build_mcp_server(context.gate, registry, token_source=lambda _ctx: family.access_token)
    return server


def requests(refused_tool: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("tools/list", {}),
        ("tools/call", {"name": "read_note", "arguments": {"title": "a"}}),
        ("tools/call", {"name": refused_tool, "arguments": {}}),
    ]


@pytest.mark.parametrize("version", HANDSHAKE_VERSIONS)
async def test_a_handshake_era_session_gets_only_its_own_fields_as_an_ungated_server_sends(
    context: DaemonContext, family: IssuedTokens, version: str
) -> None:
    gated = await raw_session(gated_server(context, family), version, requests("purge_notes"))
    ungated = await raw_session(ungated_server(), version, requests("refused"))

    for ours, theirs in zip(gated, ungated, strict=True):
        assert "result" in ours, ours
        assert set(ours["result"]) == set(theirs["result"])
        assert not MODERN_ONLY_KEYS & set(keys_anywhere(ours))
    assert gated[2]["result"]["isError"] is True  # the gate's refusal, shaped like the SDK's tool error


async def test_a_2026_session_gets_result_type_and_the_server_stamp_on_gate_refusals_too(
    context: DaemonContext, family: IssuedTokens
) -> None:
    async with Client(gated_server(context, family)) as gated, Client(ungated_server()) as ungated:
        ours = await gated.call_tool("purge_notes", {})
        theirs = await ungated.call_tool("refused", {})
        listed, plain_list = await gated.list_tools(), await ungated.list_tools()

    assert ours.is_error and theirs.is_error
    assert ours.model_fields_set == theirs.model_fields_set
    assert listed.model_fields_set == plain_list.model_fields_set
    assert (ours.meta or {})["io.modelcontextprotocol/serverInfo"]["name"] == "agent-auth"


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_an_unknown_prompt_is_invalid_params_without_a_logged_traceback(
    context: DaemonContext, family: IssuedTokens, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    caplog.set_level(logging.WARNING)
    async with Client(gated_server(context, family), mode=mode) as client:  # type: ignore[arg-type]
        with pytest.raises(MCPError) as raised:
            await client.get_prompt("no-such-prompt")

    assert raised.value.error.code == -32602
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_the_server_names_itself_and_its_version_over_http_and_stdio(
    daemon: RunningDaemon, tmp_path: Path
) -> None:
    family = daemon.create_family({"notes:read": "allow"})
    version = importlib.metadata.version("agent-auth")
    with anyio.fail_after(WAIT_SECONDS):
        async with Client(proxy(tmp_path, daemon.url, family.access_token), mode="legacy") as over_stdio:
            stdio_info = over_stdio.server_info
        headers = {"Authorization": f"Bearer {family.access_token}"}
        async with (
            httpx2.AsyncClient(headers=headers) as http,
            Client(streamable_http_client(f"{daemon.url}/mcp", http_client=http), mode="legacy") as over_http,
        ):
            http_info = over_http.server_info

    assert stdio_info is not None and http_info is not None
    assert (stdio_info.name, stdio_info.version) == ("agent-auth", version)
    assert (http_info.name, http_info.version) == ("agent-auth", version)
