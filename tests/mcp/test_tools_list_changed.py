"""``token modify`` tells the family's live sessions to list their tools again, and the next list reflects it.

Real daemon, real admin socket, the SDK client over HTTP in both eras: a handshake-era session receives
``notifications/tools/list_changed``; a 2026-07-28 client receives the event on its ``subscriptions/listen``
stream. Other families' sessions are not told (unit test on the fan-out).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ToolListChangedNotification

from auth.scopes import Tier
from mcp_server.admin_ops import SocketAdmin
from mcp_server.mcp.list_changed import FamilyToolLists
from tests.mcp.mcp_test_support import FAMILY_SCOPES, WRITE_SCOPE
from tests.mcp.test_stdio_proxy import proxy
from tests.support.daemon import RunningDaemon

pytestmark = pytest.mark.anyio

WAIT_SECONDS = 20.0


@asynccontextmanager
async def http_client(daemon: RunningDaemon, token: str, mode: str, **options: Any) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
        Client(streamable_http_client(f"{daemon.url}/mcp", http_client=http), mode=mode, **options) as client,  # type: ignore[arg-type]
    ):
        yield client


async def deny_writes(daemon: RunningDaemon, family_id: str) -> None:
    admin = SocketAdmin(daemon.admin_socket)
    await anyio.to_thread.run_sync(lambda: admin.modify_family(family_id, {}, [], {WRITE_SCOPE: Tier.DENY}))


async def test_a_handshake_era_session_is_told_when_its_family_changes_and_relists(daemon: RunningDaemon) -> None:
    family = daemon.create_family(FAMILY_SCOPES)
    changed = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, ToolListChangedNotification):
            changed.set()

    with anyio.fail_after(WAIT_SECONDS):
        async with http_client(daemon, family.access_token, "legacy", message_handler=on_message) as client:
            assert client.server_capabilities.tools is not None and client.server_capabilities.tools.list_changed
            before = {tool.name for tool in (await client.list_tools()).tools}
            await deny_writes(daemon, family.family_id)
            await changed.wait()
            after = {tool.name for tool in (await client.list_tools()).tools}

    assert "write_note" in before
    assert "write_note" not in after


async def test_a_2026_client_hears_it_on_its_listen_stream(daemon: RunningDaemon) -> None:
    family = daemon.create_family(FAMILY_SCOPES)
    with anyio.fail_after(WAIT_SECONDS):
        async with http_client(daemon, family.access_token, "auto") as client:
            before = {tool.name for tool in (await client.list_tools()).tools}
            async with client.listen(tools_list_changed=True) as subscription:
                await deny_writes(daemon, family.family_id)
                async for _event in subscription:
                    break
            after = {tool.name for tool in (await client.list_tools()).tools}

    assert "write_note" in before
    assert "write_note" not in after


async def test_the_stdio_proxy_relays_it_to_a_handshake_era_client(daemon: RunningDaemon, tmp_path: Path) -> None:
    family = daemon.create_family(FAMILY_SCOPES)
    changed = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, ToolListChangedNotification):
            changed.set()

    with anyio.fail_after(WAIT_SECONDS):
        params = proxy(tmp_path, daemon.url, family.access_token)
        async with Client(params, mode="legacy", message_handler=on_message) as client:
            assert client.server_capabilities.tools is not None and client.server_capabilities.tools.list_changed
            before = {tool.name for tool in (await client.list_tools()).tools}
            await deny_writes(daemon, family.family_id)
            await changed.wait()
            after = {tool.name for tool in (await client.list_tools()).tools}

    assert "write_note" in before
    assert "write_note" not in after


class _Session:
    def __init__(self) -> None:
        self.told = 0

    async def send_tool_list_changed(self) -> None:
        self.told += 1


async def test_only_the_changed_familys_sessions_and_listen_streams_are_told() -> None:
    lists = FamilyToolLists(gate=None, identity_source=lambda _ctx: None)  # type: ignore[arg-type]
    mine, theirs = _Session(), _Session()
    lists._sessions = {"mine": _weak(mine), "theirs": _weak(theirs)}
    heard: list[str] = []
    lists._listeners = {
        "mine": {object(): lambda e: heard.append("mine")},
        "theirs": {object(): lambda e: heard.append("theirs")},
    }

    await lists.family_changed("mine")

    assert (mine.told, theirs.told) == (1, 0)
    assert heard == ["mine"]


def _weak(session: _Session) -> Any:
    import weakref

    found: weakref.WeakSet[Any] = weakref.WeakSet()
    found.add(session)
    return found
