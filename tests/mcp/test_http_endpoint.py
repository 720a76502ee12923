"""``/mcp`` on a real daemon (uvicorn on 127.0.0.1:0) with the SDK client over HTTP, in both protocol eras."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp_types.jsonrpc import HEADER_MISMATCH

from auth.families import IssuedTokens
from auth.scopes import Tier
from mcp_server.mcp import enforcement
from mcp_server.mcp.registry import PROMPT_NOTE
from tests.mcp.conftest import StartDaemon
from tests.mcp.mcp_test_support import (
    ADMIN_SCOPE,
    FAMILY_SCOPES,
    READ_SCOPE,
    WRITE_SCOPE,
    ToolRuns,
    call_records,
)
from tests.support.approvals import admin_subscriber
from tests.support.daemon import RunningDaemon

pytestmark = pytest.mark.anyio

WAIT_SECONDS = 10.0
JSONRPC_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    """``auto`` speaks 2026-07-28 (what Claude Code uses over HTTP); ``legacy`` the initialize handshake."""
    return str(request.param)


def new_family(daemon: RunningDaemon, scopes: dict[str, str] | None = None, **kwargs: Any) -> IssuedTokens:
    return daemon.create_family(scopes or FAMILY_SCOPES, label="notes-agent", **kwargs)


@asynccontextmanager
async def mcp_client(daemon: RunningDaemon, token: str, mode: str) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
        Client(streamable_http_client(f"{daemon.url}/mcp", http_client=http), mode=mode) as client,
    ):
        yield client


def tools_call(name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments or {}}}


def resource_metadata_url(daemon: RunningDaemon) -> str:
    return f"{daemon.url}/.well-known/oauth-protected-resource/mcp"


def forge(token: str) -> str:
    """The same token id with a signature that does not match (last character changed)."""
    return token[:-1] + ("A" if token[-1] != "A" else "B")


# --- 401 for tokens that cannot be used ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["missing", "malformed", "forged", "expired", "revoked"])
async def test_unusable_tokens_get_401_with_a_bearer_challenge_naming_the_resource_metadata(
    daemon: RunningDaemon, runs: ToolRuns, kind: str
) -> None:
    family = new_family(daemon)
    headers = dict(JSONRPC_HEADERS)
    if kind == "malformed":
        headers["Authorization"] = "Bearer not-an-agent-auth-token"
    elif kind == "forged":
        headers["Authorization"] = f"Bearer {forge(family.access_token)}"
    elif kind == "expired":
        expired = new_family(daemon, now=time.time() - 3600, access_ttl_seconds=60)
        headers["Authorization"] = f"Bearer {expired.access_token}"
    elif kind == "revoked":
        daemon.ctx.authority.revoke_family(family.family_id)
        headers["Authorization"] = f"Bearer {family.access_token}"

    async with httpx2.AsyncClient() as http:
        response = await http.post(f"{daemon.url}/mcp", json=tools_call("read_note", {"title": "a"}), headers=headers)

    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{resource_metadata_url(daemon)}"' in challenge
    if kind != "missing":
        assert 'error="invalid_token"' in challenge
    assert runs.names == []


async def test_the_protected_resource_metadata_document_names_this_resource(daemon: RunningDaemon) -> None:
    async with httpx2.AsyncClient() as http:
        response = await http.get(resource_metadata_url(daemon))

    assert response.status_code == 200
    document = response.json()
    assert document["resource"] == f"{daemon.url}/mcp"
    assert document["authorization_servers"]
    assert "header" in document.get("bearer_methods_supported", ["header"])


# --- per-token tools/list and calls, both eras --------------------------------------------------------


async def test_tools_list_over_http_follows_each_token(daemon: RunningDaemon, mode: str) -> None:
    full = new_family(daemon)
    reader = new_family(daemon, {READ_SCOPE: "allow"})

    async with mcp_client(daemon, full.access_token, mode) as client:
        full_tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    async with mcp_client(daemon, reader.access_token, mode) as client:
        reader_tools = {tool.name for tool in (await client.list_tools()).tools}

    assert set(full_tools) == {"whoami", "read_note", "write_note"}
    assert full_tools["write_note"].description is not None
    assert full_tools["write_note"].description.endswith(PROMPT_NOTE)
    assert not (full_tools["read_note"].description or "").endswith(PROMPT_NOTE)
    assert reader_tools == {"whoami", "read_note"}


async def test_allowed_tool_and_whoami_run_over_http(daemon: RunningDaemon, runs: ToolRuns, mode: str) -> None:
    family = new_family(daemon)
    async with mcp_client(daemon, family.access_token, mode) as client:
        read = await client.call_tool("read_note", {"title": "groceries"})
        who = await client.call_tool("whoami", {})

    assert not read.is_error
    assert runs.names == ["read_note"]
    assert not who.is_error
    assert who.structured_content is not None
    assert who.structured_content["family_id"] == family.family_id
    assert who.structured_content["tools_needing_approval"] == ["write_note"]


@pytest.mark.parametrize("tool", ["purge_notes", "export_notes"])
async def test_a_denied_or_absent_tool_call_is_refused_with_403_insufficient_scope_and_never_runs(
    daemon: RunningDaemon, runs: ToolRuns, tool: str
) -> None:
    family = new_family(daemon)
    needed = {"purge_notes": ADMIN_SCOPE, "export_notes": "notes:export"}[tool]
    headers = {**JSONRPC_HEADERS, "Authorization": f"Bearer {family.access_token}"}

    async with httpx2.AsyncClient() as http:
        response = await http.post(f"{daemon.url}/mcp", json=tools_call(tool), headers=headers)

    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="insufficient_scope"')
    assert f'scope="{needed}"' in challenge
    assert f'resource_metadata="{resource_metadata_url(daemon)}"' in challenge
    error = response.json()["error"]  # a JSON-RPC error for the refused request, which MCP clients surface
    assert response.json()["id"] == 1
    assert error["data"] == {"error": "insufficient_scope", "scope": needed, "tool": tool}
    assert runs.names == []
    [entry] = call_records(daemon.ctx.authority.audit)
    assert (entry["tool"], entry["outcome"], entry["result"]) == (tool, "deny", "scope_denied")


def modern_call(name: str, arguments: dict[str, Any], request_id: int = 7) -> dict[str, Any]:
    """A 2026-07-28 ``tools/call`` body: the envelope travels in ``_meta``, no session."""
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    params = {"name": name, "arguments": arguments, "_meta": meta}
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


def modern_headers(token: str, method: str, name: str) -> dict[str, str]:
    return {
        **JSONRPC_HEADERS,
        "Authorization": f"Bearer {token}",
        "Mcp-Protocol-Version": "2026-07-28",
        "Mcp-Method": method,
        "Mcp-Name": name,
    }


async def test_a_2026_call_of_a_denied_tool_is_refused_with_403_and_the_id_of_its_request(
    daemon: RunningDaemon, runs: ToolRuns
) -> None:
    family = new_family(daemon)
    async with httpx2.AsyncClient() as http:
        response = await http.post(
            f"{daemon.url}/mcp",
            json=modern_call("purge_notes", {}, request_id=41),
            headers=modern_headers(family.access_token, "tools/call", "purge_notes"),
        )

    assert response.status_code == 403
    assert f'scope="{ADMIN_SCOPE}"' in response.headers["www-authenticate"]
    assert response.json()["id"] == 41
    assert response.json()["error"]["data"] == {
        "error": "insufficient_scope",
        "scope": ADMIN_SCOPE,
        "tool": "purge_notes",
    }
    assert runs.names == []


@pytest.mark.parametrize("header_name", ["read_note", "whoami"])
async def test_a_2026_call_whose_name_header_hides_a_denied_tool_never_runs_it(
    daemon: RunningDaemon, runs: ToolRuns, header_name: str
) -> None:
    """The 403 pre-check of the 2026-07-28 era reads the tool from ``Mcp-Name``; a body naming another tool
    is refused by the SDK (header mismatch), so the headers cannot smuggle a denied call past it."""
    family = new_family(daemon)
    async with httpx2.AsyncClient() as http:
        response = await http.post(
            f"{daemon.url}/mcp",
            json=modern_call("purge_notes", {}),
            headers=modern_headers(family.access_token, "tools/call", header_name),
        )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == HEADER_MISMATCH
    assert runs.names == []
    assert "purge_notes" not in [entry["tool"] for entry in call_records(daemon.ctx.authority.audit)]


async def test_the_sdk_client_calling_a_denied_tool_fails_and_the_tool_never_runs(
    daemon: RunningDaemon, runs: ToolRuns, mode: str
) -> None:
    family = new_family(daemon)
    async with mcp_client(daemon, family.access_token, mode) as client:
        with pytest.raises(MCPError) as refused:  # the SDK client surfaces the HTTP 403 as an error
            await client.call_tool("purge_notes", {})
        # The session survives a refused call.
        still = await client.call_tool("read_note", {"title": "a"})

    assert refused.value.data == {"error": "insufficient_scope", "scope": ADMIN_SCOPE, "tool": "purge_notes"}
    assert not still.is_error
    assert runs.names == ["read_note"]


# --- prompt tier: a person decides on the admin socket ---------------------------------------------------


async def test_a_prompt_tool_runs_after_approval_on_the_admin_socket_with_progress_during_the_wait(
    daemon: RunningDaemon, runs: ToolRuns, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(enforcement, "PROGRESS_INTERVAL_SECONDS", 0.05)
    family = new_family(daemon)
    progress: list[tuple[float, str | None]] = []
    two_progress_updates = anyio.Event()

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message))
        if len(progress) >= 2:
            two_progress_updates.set()

    async with (
        admin_subscriber(daemon.admin_socket) as approver,
        mcp_client(daemon, family.access_token, mode) as client,
        anyio.create_task_group() as tg,
    ):
        result: dict[str, Any] = {}

        async def call() -> None:
            result["value"] = await client.call_tool(
                "write_note", {"title": "plan", "body": "x"}, progress_callback=on_progress
            )

        tg.start_soon(call)
        created = await approver.next_event("approval.created")
        assert created["scope"] == WRITE_SCOPE
        assert created["summary"] == "write note 'plan'"
        with anyio.fail_after(WAIT_SECONDS):
            await two_progress_updates.wait()
        assert runs.names == []  # nothing runs before the decision
        await approver.decide(created["id"], "approve")

    assert not result["value"].is_error
    assert runs.names == ["write_note"]
    assert [value for value, _ in progress] == sorted(value for value, _ in progress)
    assert all(message and "write_note" in message for _, message in progress)


async def test_a_prompt_tool_denied_on_the_admin_socket_is_a_tool_error_and_never_runs(
    daemon: RunningDaemon, runs: ToolRuns, mode: str
) -> None:
    family = new_family(daemon)
    async with (
        admin_subscriber(daemon.admin_socket) as approver,
        mcp_client(daemon, family.access_token, mode) as client,
        anyio.create_task_group() as tg,
    ):
        result: dict[str, Any] = {}

        async def call() -> None:
            result["value"] = await client.call_tool("write_note", {"title": "plan", "body": "x"})

        tg.start_soon(call)
        created = await approver.next_event("approval.created")
        await approver.decide(created["id"], "deny")

    assert result["value"].is_error
    assert runs.names == []
    entries = call_records(daemon.ctx.authority.audit)
    assert [(e["outcome"], e["result"]) for e in entries] == [("deny", "denied")]


async def test_a_prompt_nobody_decides_times_out_as_a_declined_tool_error(
    start_daemon: StartDaemon, runs: ToolRuns, mode: str
) -> None:
    daemon = start_daemon(approval_timeout_seconds=0.3)
    family = new_family(daemon)
    async with mcp_client(daemon, family.access_token, mode) as client:
        with anyio.fail_after(WAIT_SECONDS):
            result = await client.call_tool("write_note", {"title": "plan", "body": "x"})

    assert result.is_error
    assert runs.names == []
    entries = call_records(daemon.ctx.authority.audit)
    assert [(e["outcome"], e["result"]) for e in entries] == [("deny", "timeout")]


# --- revocation mid-session -------------------------------------------------------------------------------


async def test_revoking_the_family_mid_session_makes_the_next_call_fail(
    daemon: RunningDaemon, runs: ToolRuns, mode: str
) -> None:
    family = new_family(daemon)
    async with mcp_client(daemon, family.access_token, mode) as client:
        first = await client.call_tool("read_note", {"title": "a"})
        daemon.ctx.authority.revoke_family(family.family_id)
        with pytest.raises(MCPError):  # the HTTP 401 surfaces as an error
            await client.call_tool("read_note", {"title": "b"})

    assert not first.is_error
    assert runs.names == ["read_note"]


async def test_scope_changes_apply_to_the_next_call_without_a_new_token(
    daemon: RunningDaemon, runs: ToolRuns, mode: str
) -> None:
    family = new_family(daemon)
    async with mcp_client(daemon, family.access_token, mode) as client:
        before = {tool.name for tool in (await client.list_tools(cache_mode="refresh")).tools}
        daemon.ctx.authority.modify_family(family.family_id, set_tiers={READ_SCOPE: Tier.DENY})
        after = {tool.name for tool in (await client.list_tools(cache_mode="refresh")).tools}

    assert "read_note" in before
    assert "read_note" not in after
