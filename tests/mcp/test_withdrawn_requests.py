"""A request whose caller has gone is withdrawn: approving it does nothing (real daemon, real SDK client)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from auth.admin_client import AdminError
from mcp_server.mcp import caller_presence
from tests.mcp.mcp_test_support import FAMILY_SCOPES, ToolRuns, audit_entries
from tests.mcp.test_stdio_proxy import AGENT_AUTH, proxy_env
from tests.mcp.test_stdio_proxy import _jsonrpc as jsonrpc
from tests.support.approvals import admin_subscriber
from tests.support.daemon import RunningDaemon

pytestmark = pytest.mark.anyio

WAIT_SECONDS = 10.0
CALL = {"name": "write_note", "arguments": {"title": "plan", "body": "x"}}
STREAM_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


async def approving_does_nothing(sub: Any, approval_id: str) -> None:
    with pytest.raises(AdminError) as refused:
        await sub.decide(approval_id, "approve")
    assert "not pending" in refused.value.message


async def test_closing_the_sdk_client_withdraws_its_pending_approval(daemon: RunningDaemon, runs: ToolRuns) -> None:
    family = daemon.create_family(FAMILY_SCOPES, label="notes-agent")
    async with admin_subscriber(daemon.admin_socket) as sub:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {family.access_token}"}) as http,
            Client(streamable_http_client(f"{daemon.url}/mcp", http_client=http)) as client,
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(lambda: client.call_tool("write_note", {"title": "plan", "body": "x"}))
            created = await sub.next_event("approval.created")
            tg.cancel_scope.cancel()  # the person at the client gives up; the client closes
        decided = await sub.next_event("approval.decided")
        assert (decided["id"], decided["status"]) == (created["id"], "withdrawn")
        await approving_does_nothing(sub, created["id"])
    assert runs.names == []
    [entry] = [e for e in audit_entries(daemon.ctx.authority.audit, "approval.decided") if e["approval_id"]]
    assert (entry["approval_id"], entry["reason"], entry["approved"]) == (created["id"], "withdrawn", False)
    assert audit_entries(daemon.ctx.authority.audit, "call.result") == []
    [record] = audit_entries(daemon.ctx.authority.audit, "decision")  # the call's record: cancelled, refused
    assert (record["target"], record["reason"], record["result"]) == ("write_note", "cancelled", "refused")


async def initialize(http: httpx2.AsyncClient) -> dict[str, str]:
    """A session over raw HTTP (as a killed client's would be); the headers later requests need."""
    hello = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    response = await http.post("/mcp", json=hello, headers=STREAM_HEADERS)
    assert response.status_code == 200, response.text
    headers = {**STREAM_HEADERS, "mcp-session-id": response.headers["mcp-session-id"]}
    headers["mcp-protocol-version"] = "2025-06-18"
    done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert (await http.post("/mcp", json=done, headers=headers)).status_code == 202
    return headers


async def drop_a_call_mid_wait(daemon: RunningDaemon, token: str, sub: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Start a prompt-tier tools/call, then drop its stream the way a killed client does."""
    async with httpx2.AsyncClient(
        base_url=daemon.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        headers = await initialize(http)
        body = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": CALL}
        async with http.stream("POST", "/mcp", json=body, headers=headers) as response:
            assert response.status_code == 200
            created = await sub.next_event("approval.created")
        # leaving the block closes the connection mid-stream: no cancellation, no DELETE
    return created, headers


async def test_a_dropped_stream_that_is_not_resumed_is_withdrawn_and_approving_runs_nothing(
    daemon: RunningDaemon, runs: ToolRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(caller_presence, "RESUME_GRACE_SECONDS", 0.2)
    family = daemon.create_family(FAMILY_SCOPES, label="notes-agent")
    async with admin_subscriber(daemon.admin_socket) as sub:
        created, _ = await drop_a_call_mid_wait(daemon, family.access_token, sub)
        decided = await sub.next_event("approval.decided")
        assert (decided["id"], decided["status"]) == (created["id"], "withdrawn")
        await approving_does_nothing(sub, created["id"])
    assert runs.names == []
    assert audit_entries(daemon.ctx.authority.audit, "call.result") == []
    [record] = audit_entries(daemon.ctx.authority.audit, "decision")
    assert (record["approval_id"], record["outcome"], record["reason"], record["result"]) == (
        created["id"],
        "deny",
        "withdrawn",
        "refused",
    )


# A stream that drops and is resumed within the grace is not a departure: tests/mcp/test_resumable_waits.py
# resumes with Last-Event-ID and receives the approved call's result through the same watcher.


async def test_a_stdio_proxy_that_exits_mid_wait_withdraws_its_request(
    daemon: RunningDaemon, runs: ToolRuns, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(caller_presence, "RESUME_GRACE_SECONDS", 0.2)
    family = daemon.create_family(FAMILY_SCOPES, label="notes-agent")
    hello = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}
    async with admin_subscriber(daemon.admin_socket) as sub:
        with anyio.fail_after(WAIT_SECONDS * 3):
            async with await anyio.open_process(
                [str(AGENT_AUTH), "mcp"], env=proxy_env(tmp_path, daemon.url, family.access_token)
            ) as process:
                assert process.stdin is not None
                await process.stdin.send(jsonrpc(1, "initialize", hello))
                await process.stdin.send(jsonrpc(None, "notifications/initialized"))
                await process.stdin.send(jsonrpc(2, "tools/call", CALL))
                created = await sub.next_event("approval.created", timeout_seconds=WAIT_SECONDS * 2)
                process.kill()  # the agent's client (and with it the proxy) is gone: no cancel, no DELETE
                await process.wait()
        decided = await sub.next_event("approval.decided")
        assert (decided["id"], decided["status"]) == (created["id"], "withdrawn")
        await approving_does_nothing(sub, created["id"])
    assert runs.names == []
