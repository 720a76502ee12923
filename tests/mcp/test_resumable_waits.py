"""Long approval waits survive a dropped stream: SSE events carry ids and ``retry``, and ``Last-Event-ID`` resumes.

Raw HTTP on a real daemon, as a client that loses its connection would see it: the call's POST stream is
closed after the first progress event, a person approves on the admin socket, and a ``GET /mcp`` with
``Last-Event-ID`` delivers the result. Another session (even of the same family) cannot replay the events.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx2
import pytest

from mcp_server.mcp import enforcement
from mcp_server.mcp.event_store import BoundedEventStore
from tests.mcp.mcp_test_support import FAMILY_SCOPES, ToolRuns
from tests.support.approvals import admin_subscriber
from tests.support.daemon import RunningDaemon

pytestmark = pytest.mark.anyio

WAIT_SECONDS = 30.0
VERSION = "2025-11-25"


async def sse_events(response: httpx2.Response) -> AsyncIterator[dict[str, Any]]:
    """SSE events as dicts of their fields (``id``, ``retry``, ``data`` parsed as JSON when present)."""
    event: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if not line:
            if event:
                if event.get("data"):
                    event["data"] = json.loads(event["data"])
                yield event
            event = {}
            continue
        field, _, value = line.partition(":")
        event[field] = value[1:] if value.startswith(" ") else value


async def open_session(http: httpx2.AsyncClient, url: str, token: str) -> dict[str, str]:
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
    }
    hello = {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}
    init = await http.post(
        url, json={"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello}, headers=headers
    )
    assert init.status_code == 200, init.text
    headers = {**headers, "mcp-session-id": init.headers["mcp-session-id"], "mcp-protocol-version": VERSION}
    await http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    return headers


def write_call(request_id: int) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": "write_note", "arguments": {"title": "plan", "body": "x"}, "_meta": {"progressToken": 1}},
    }


async def test_a_stream_dropped_during_an_approval_wait_resumes_with_last_event_id_and_delivers_the_result(
    daemon: RunningDaemon, runs: ToolRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(enforcement, "PROGRESS_INTERVAL_SECONDS", 0.05)
    family = daemon.create_family(FAMILY_SCOPES)
    url = f"{daemon.url}/mcp"
    before_drop: list[dict[str, Any]] = []
    resumed: list[dict[str, Any]] = []
    with anyio.fail_after(WAIT_SECONDS):
        async with httpx2.AsyncClient(timeout=WAIT_SECONDS) as http, admin_subscriber(daemon.admin_socket) as approver:
            headers = await open_session(http, url, family.access_token)
            other = await open_session(http, url, family.access_token)  # same family, another session
            async with http.stream("POST", url, json=write_call(5), headers=headers) as response:
                async for event in sse_events(response):
                    before_drop.append(event)
                    if (event.get("data") or {}).get("method") == "notifications/progress":
                        break  # the connection drops mid-wait
            created = await approver.next_event("approval.created")
            last_id = before_drop[-1]["id"]
            stolen = await http.get(url, headers={**other, "Last-Event-ID": last_id})
            result: dict[str, Any] | None = None
            decided = False
            while result is None:  # an SSE client reconnects with the last id it saw until it has the answer
                async with http.stream("GET", url, headers={**headers, "Last-Event-ID": last_id}) as again:
                    assert again.status_code == 200
                    async for event in sse_events(again):
                        resumed.append(event)
                        last_id = event.get("id") or last_id
                        if event.get("retry") and not decided:
                            # The resumed stream is live (the server has let go of the dropped one): decide now.
                            await approver.decide(created["id"], "approve")
                            decided = True
                        if (event.get("data") or {}).get("id") == 5:
                            result = event["data"]["result"]
                            break

    priming = before_drop[0]
    assert priming.get("retry") and priming.get("id")  # the client learns how soon to reconnect
    assert all(event.get("id") for event in before_drop + resumed)
    assert result["isError"] is False
    assert runs.names == ["write_note"]
    assert b'"id":5' not in stolen.content.replace(b" ", b"")  # another session gets none of it


async def test_the_event_store_is_bounded() -> None:
    store = BoundedEventStore(max_events=3)
    for _ in range(10):
        await store.store_event("1", None)
    assert store.size == 3
