"""``agent-auth mcp``: a stdio MCP server that forwards every request to the daemon over HTTP.

Clients that launch a command (Claude Code's stdio entries, Codex) talk to this process; it holds only a
token — from ``AGENT_AUTH_TOKEN``/``AGENT_AUTH_URL`` or the stored client credentials, refreshed as needed —
and the daemon decides everything. stdout carries only the protocol; diagnostics go to stderr.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import ListenNotSupportedError, SubscriptionLost
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions, Server
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp.types import (
    CallToolRequestParams,
    CallToolResult,
    JSONRPCNotification,
    ListToolsResult,
    PaginatedRequestParams,
    TextContent,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from mcp_server.mcp.refusals import TOKEN_REFUSED_ERROR_CODE

log = logging.getLogger(__name__)

TokenProvider = Callable[[], str]


def _error(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


@dataclass
class ClientEra:
    """Whether the stdio client speaks a handshake-era version (then it takes list_changed on the wire)."""

    handshake: bool = False

    def saw(self, ctx: ServerRequestContext[Any]) -> None:
        self.handshake = ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS


def build_proxy(upstream: Client, *, version: str = "", era: ClientEra | None = None) -> Server[Any]:
    seen = era if era is not None else ClientEra()

    async def list_tools(ctx: ServerRequestContext[Any], params: PaginatedRequestParams | None) -> ListToolsResult:
        seen.saw(ctx)
        return await upstream.list_tools(cursor=params.cursor if params else None)

    async def call_tool(ctx: ServerRequestContext[Any], params: CallToolRequestParams) -> CallToolResult:
        class Progress:
            async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
                await ctx.session.report_progress(progress, total, message)

        progress = Progress()

        try:
            return await upstream.call_tool(params.name, params.arguments or {}, progress_callback=progress)
        except MCPError as exc:
            # The daemon's 403 arrives as a JSON-RPC error whose data names the missing scope; over stdio the
            # model gets it as a tool error it can act on. Other protocol errors go to the host as they are.
            data = exc.data if isinstance(exc.data, dict) else {}
            if data.get("error") != "insufficient_scope":
                raise
            needed = data.get("scope")
            return _error(
                f"This token is not allowed to use {params.name}"
                + (f" (it needs scope {needed})" if isinstance(needed, str) else "")
                + ". Ask the person who runs agent-auth to grant it; do not retry."
            )
        except httpx2.TransportError:
            return _error("The agent-auth daemon is not reachable; ask the user to start it ('agent-auth serve').")

    return Server(
        "agent-auth",
        version=version,
        instructions=upstream.instructions,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


@asynccontextmanager
async def upstream_client(
    url: str, token_provider: TokenProvider, *, ca_cert: str | None = None
) -> AsyncIterator[Client]:
    last: list[str] = []

    async def add_token(request: httpx2.Request) -> None:
        # An exception here would tear down the whole upstream connection. When no fresh token can be had
        # (a refused refresh), send the last one: the daemon refuses it and the client reads why.
        try:
            token = await anyio.to_thread.run_sync(token_provider)
        except Exception as exc:
            log.warning("no fresh access token (%s); the daemon will refuse the stale one", type(exc).__name__)
            token = last[0] if last else ""
        else:
            last[:] = [token]
        if token:
            request.headers["Authorization"] = f"Bearer {token}"

    verify: Any = ca_cert if ca_cert else True
    async with (
        httpx2.AsyncClient(
            event_hooks={"request": [add_token]}, verify=verify, timeout=httpx2.Timeout(30.0, read=600.0)
        ) as http_client,
        Client(streamable_http_client(f"{url}/mcp", http_client=http_client)) as client,
    ):
        yield client


def build_refusing_proxy(error: MCPError, *, version: str = "") -> Server[Any]:
    """A stdio server for a token the daemon refused: it connects, then answers every request with that error.

    The client (Claude Code, an SDK) shows the daemon's own words — which say to run ``agent-auth login`` —
    instead of "Connection closed".
    """

    async def refuse_list(ctx: ServerRequestContext[Any], params: PaginatedRequestParams | None) -> ListToolsResult:
        raise MCPError(error.error.code, error.error.message, error.error.data)

    async def refuse_call(ctx: ServerRequestContext[Any], params: CallToolRequestParams) -> CallToolResult:
        raise MCPError(error.error.code, error.error.message, error.error.data)

    return Server("agent-auth", version=version, on_list_tools=refuse_list, on_call_tool=refuse_call)


def _token_refusal(group: BaseExceptionGroup[MCPError]) -> MCPError | None:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            found = _token_refusal(exc)
            if found is not None:
                return found
        elif isinstance(exc, MCPError) and exc.error.code == TOKEN_REFUSED_ERROR_CODE:
            return exc
    return None


async def relay_tools_list_changed(upstream: Client, write_stream: Any, era: ClientEra) -> None:
    """The daemon's tools/list_changed (on a 2026 listen stream) to a handshake-era stdio client."""
    try:
        async with upstream.listen(tools_list_changed=True) as subscription:
            async for _event in subscription:
                if era.handshake:
                    notification = JSONRPCNotification(jsonrpc="2.0", method="notifications/tools/list_changed")
                    await write_stream.send(SessionMessage(notification))
    except (ListenNotSupportedError, SubscriptionLost, MCPError, httpx2.TransportError) as exc:
        log.debug("no tools/list_changed relay: %s", type(exc).__name__)


async def serve_stdio(url: str, token_provider: TokenProvider, *, ca_cert: str | None = None) -> int:
    refused: MCPError | None = None
    async with contextlib.AsyncExitStack() as stack:
        try:
            upstream = await stack.enter_async_context(upstream_client(url, token_provider, ca_cert=ca_cert))
        except* MCPError as group:
            refused = _token_refusal(group)
            if refused is None:
                raise
        if refused is None:
            era = ClientEra()
            server = build_proxy(upstream, version=_version(), era=era)
            options = server.create_initialization_options(NotificationOptions(tools_changed=True))
            async with stdio_server() as (read_stream, write_stream), anyio.create_task_group() as tg:
                tg.start_soon(relay_tools_list_changed, upstream, write_stream, era)
                await server.run(read_stream, write_stream, options)
                tg.cancel_scope.cancel()
            return 0
    assert refused is not None
    sys.stderr.write(f"agent-auth mcp: {refused.error.message}\n")
    sys.stderr.flush()
    refusing = build_refusing_proxy(refused, version=_version())
    async with stdio_server() as (read_stream, write_stream):
        await refusing.run(read_stream, write_stream, refusing.create_initialization_options())
    return 1


def run_refusal(code: str, reason: str) -> int:
    """No token could be had at start (not logged in, refresh refused): say so to the client, not a crash."""
    message = (
        f"agent-auth mcp has no usable token: {reason}. Store a new token with 'agent-auth login', then reconnect."
    )
    error = MCPError(TOKEN_REFUSED_ERROR_CODE, message, {"error": code})
    sys.stderr.write(f"agent-auth mcp: {message}\n")
    sys.stderr.flush()

    async def main() -> None:
        refusing = build_refusing_proxy(error, version=_version())
        async with stdio_server() as (read_stream, write_stream):
            await refusing.run(read_stream, write_stream, refusing.create_initialization_options())

    anyio.run(main)
    return 1


def run(url: str, token_provider: TokenProvider, *, ca_cert: str | None = None) -> int:
    outcome = {"code": 0}

    async def main() -> None:
        try:
            outcome["code"] = await serve_stdio(url, token_provider, ca_cert=ca_cert)
        except* httpx2.HTTPStatusError as group:
            first = group.exceptions[0]
            status = first.response.status_code if isinstance(first, httpx2.HTTPStatusError) else 0
            sys.stderr.write(f"agent-auth mcp: the daemon refused the token (HTTP {status}); log in again\n")
            outcome["code"] = 1
        except* (httpx2.TransportError, OSError):
            sys.stderr.write(
                f"agent-auth mcp: cannot reach the agent-auth daemon at {url}. Start it on the host with "
                "'agent-auth serve' (or 'agent-auth demo'), or set AGENT_AUTH_URL.\n"
            )
            outcome["code"] = 5

    anyio.run(main)
    return outcome["code"]


def _version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("agent-auth")
    except importlib.metadata.PackageNotFoundError:
        return ""
