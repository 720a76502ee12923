"""The gate around MCP tools through the SDK's in-memory client: filtering, tiers, approvals, audit."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server import MCPServer
from mcp.types import CallToolResult, TextContent

from auth.approvals import PendingApproval
from auth.families import IssuedTokens
from auth.scopes import Tier
from mcp_server.daemon.context import DaemonContext
from mcp_server.mcp.registry import PROMPT_NOTE, ToolRegistry
from mcp_server.mcp.server import build_mcp_server, whoami_tool
from tests.mcp.mcp_test_support import (
    ADMIN_SCOPE,
    READ_SCOPE,
    SECRET,
    WRITE_SCOPE,
    ToolRuns,
    audit_entries,
    call_records,
    notes_tools,
)
from tests.support.hostile_text import raw_controls

pytestmark = pytest.mark.anyio

WAIT_SECONDS = 10.0


def serve(context: DaemonContext, runs: ToolRuns, token: str | None) -> MCPServer:
    """whoami plus the test tools behind the gate, every request speaking with ``token``."""
    registry = ToolRegistry()
    registry.add(whoami_tool(registry))
    for spec in notes_tools(runs):
        registry.add(spec)
    server, _ = build_mcp_server(context.gate, registry, token_source=lambda ctx: token)
    return server


def text(result: CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, TextContent))


async def next_pending(context: DaemonContext) -> PendingApproval:
    """The first pending approval, waited for on the broker's own change feed (bounded)."""
    arrived = anyio.Event()
    unsubscribe = context.broker.subscribe(lambda kind, data: arrived.set() if kind == "approval.created" else None)
    try:
        with anyio.fail_after(WAIT_SECONDS):
            while not context.broker.pending():
                await arrived.wait()
    finally:
        unsubscribe()
    return context.broker.pending()[0]


async def test_tools_list_shows_allowed_and_prompt_tools_and_hides_denied_and_absent_ones(
    context: DaemonContext, runs: ToolRuns, family: IssuedTokens
) -> None:
    async with Client(serve(context, runs, family.access_token)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}

    assert set(tools) == {"whoami", "read_note", "write_note"}
    assert tools["write_note"].description is not None
    assert tools["write_note"].description.endswith(PROMPT_NOTE)
    assert not (tools["read_note"].description or "").endswith(PROMPT_NOTE)


async def test_tools_list_follows_each_token_scopes(context: DaemonContext, runs: ToolRuns) -> None:
    reader = context.authority.create_family({READ_SCOPE: Tier.ALLOW})
    admin = context.authority.create_family({ADMIN_SCOPE: Tier.ALLOW, WRITE_SCOPE: Tier.DENY})

    async with Client(serve(context, runs, reader.access_token)) as client:
        reader_tools = {tool.name for tool in (await client.list_tools()).tools}
    async with Client(serve(context, runs, admin.access_token)) as client:
        admin_tools = {tool.name for tool in (await client.list_tools()).tools}

    assert reader_tools == {"whoami", "read_note"}
    assert admin_tools == {"whoami", "purge_notes"}


async def test_tools_list_without_a_token_lists_nothing(context: DaemonContext, runs: ToolRuns) -> None:
    async with Client(serve(context, runs, None)) as client:
        assert (await client.list_tools()).tools == []


async def test_tools_list_with_a_revoked_token_lists_only_whoami_and_no_scoped_tools(
    context: DaemonContext, runs: ToolRuns, family: IssuedTokens
) -> None:
    context.authority.revoke_family(family.family_id)
    async with Client(serve(context, runs, family.access_token)) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert names <= {"whoami"}


async def test_allowed_tool_runs_at_once(context: DaemonContext, runs: ToolRuns, family: IssuedTokens) -> None:
    async with Client(serve(context, runs, family.access_token)) as client:
        result = await client.call_tool("read_note", {"title": "groceries"})
    assert not result.is_error
    assert text(result) == "note groceries"
    assert runs.names == ["read_note"]


async def test_denied_tool_call_is_a_tool_error_and_the_body_never_runs(
    context: DaemonContext, runs: ToolRuns, family: IssuedTokens
) -> None:
    async with Client(serve(context, runs, family.access_token)) as client:
        denied = await client.call_tool("purge_notes", {})
        absent = await client.call_tool("export_notes", {})
    assert denied.is_error
    assert absent.is_error
    assert runs.names == []
    results = [e["result"] for e in call_records(context.authority.audit)]
    assert results == ["scope_denied", "scope_denied"]


async def test_prompt_tool_runs_after_a_person_approves(
    context: DaemonContext, runs: ToolRuns, family: IssuedTokens
) -> None:
    seen: dict[str, Any] = {}

    async def approve() -> None:
        pending = await next_pending(context)
        seen.update(pending.to_json())
        context.broker.decide(pending.id, approved=True, decided_by="test")

    async with Client(serve(context, runs, family.access_token)) as client, anyio.create_task_group() as tg:
        tg.start_soon(approve)
        with anyio.fail_after(WAIT_SECONDS):
            result = await client.call_tool("write_note", {"title": "plan", "body": "x", "passphrase": SECRET})

    assert not result.is_error
    assert text(result) == "wrote plan"
    assert runs.names == ["write_note"]
    assert seen["scope"] == WRITE_SCOPE
    assert seen["summary"] == "write note 'plan'"


async def test_prompt_tool_declined_is_a_tool_error_and_never_runs(
    context: DaemonContext, runs: ToolRuns, family: IssuedTokens
) -> None:
    async def decline() -> None:
        pending = await next_pending(context)
        context.broker.decide(pending.id, approved=False, decided_by="test")

    async with Client(serve(context, runs, family.access_token)) as client, anyio.create_task_group() as tg:
        tg.start_soon(decline)
        with anyio.fail_after(WAIT_SECONDS):
            result = await client.call_tool("write_note", {"title": "plan", "body": "x"})

    assert result.is_error
    assert runs.names == []
    [entry] = call_records(context.authority.audit)
    assert (entry["outcome"], entry["result"]) == ("deny", "denied")


async def test_prompt_tool_nobody_decides_times_out_as_a_tool_error(
    context: DaemonContext, runs: ToolRuns, family: IssuedTokens
) -> None:
    context.broker.timeout_seconds = 0.2
    async with Client(serve(context, runs, family.access_token)) as client:
        with anyio.fail_after(WAIT_SECONDS):
            result = await client.call_tool("write_note", {"title": "plan", "body": "x"})

    assert result.is_error
    assert runs.names == []
    assert context.broker.pending() == []
    [entry] = call_records(context.authority.audit)
    assert (entry["outcome"], entry["result"]) == ("deny", "timeout")


async def test_each_call_writes_one_decision_record_with_digest_and_latency_and_no_argument_values(
    context: DaemonContext, runs: ToolRuns, family: IssuedTokens
) -> None:
    async def approve() -> None:
        pending = await next_pending(context)
        context.broker.decide(pending.id, approved=True, decided_by="test")

    async with Client(serve(context, runs, family.access_token)) as client:
        await client.call_tool("read_note", {"title": "groceries"})
        async with anyio.create_task_group() as tg:
            tg.start_soon(approve)
            with anyio.fail_after(WAIT_SECONDS):
                await client.call_tool("write_note", {"title": "plan", "body": "the body text", "passphrase": SECRET})
        await client.call_tool("purge_notes", {})
        await client.call_tool("whoami", {})

    entries = call_records(context.authority.audit)
    assert [e["tool"] for e in entries] == ["read_note", "write_note", "purge_notes", "whoami"]
    assert [(e["outcome"], e["result"]) for e in entries] == [
        ("allow", "ok"),
        ("allow", "ok"),
        ("deny", "scope_denied"),
        ("allow", "ok"),
    ]
    assert [e["scope"] for e in entries] == [READ_SCOPE, WRITE_SCOPE, ADMIN_SCOPE, None]
    digests = [e["digest"] for e in entries]
    assert digests[0] and digests[1] and digests[0] != digests[1], "each call that may run names its request"
    assert digests[2:] == [None, None], "a refused call prepares nothing; whoami has nothing to prepare"
    [asked] = audit_entries(context.authority.audit, "approval.requested")
    assert asked["summary"] == "write note 'plan'"
    assert all(isinstance(e["latency_ms"], float) and e["latency_ms"] >= 0 for e in entries)
    raw = context.authority.audit.path.read_text(encoding="utf-8")
    assert SECRET not in raw
    assert "the body text" not in raw
    assert "groceries" not in raw


async def test_whoami_tells_the_agent_its_label_scopes_and_tiers(
    context: DaemonContext, runs: ToolRuns, family: IssuedTokens
) -> None:
    async with Client(serve(context, runs, family.access_token)) as client:
        result = await client.call_tool("whoami", {})

    assert not result.is_error
    data = result.structured_content or json.loads(text(result))
    assert data["family_id"] == family.family_id
    assert data["label"] == "notes-agent"
    assert {s["scope"]: s["tier"] for s in data["scopes"]} == {
        READ_SCOPE: "allow",
        WRITE_SCOPE: "prompt",
        ADMIN_SCOPE: "deny",
    }
    assert data["tools_allowed"] == ["read_note", "whoami"]
    assert data["tools_needing_approval"] == ["write_note"]


async def test_whoami_with_a_revoked_token_is_a_tool_error(
    context: DaemonContext, runs: ToolRuns, family: IssuedTokens
) -> None:
    context.authority.revoke_family(family.family_id)
    async with Client(serve(context, runs, family.access_token)) as client:
        result = await client.call_tool("whoami", {})
    assert result.is_error
    [entry] = call_records(context.authority.audit)
    assert entry["result"] == "token_revoked"


async def test_a_call_after_the_family_is_revoked_fails_without_running(
    context: DaemonContext, runs: ToolRuns, family: IssuedTokens
) -> None:
    async with Client(serve(context, runs, family.access_token)) as client:
        first = await client.call_tool("read_note", {"title": "a"})
        context.authority.revoke_family(family.family_id)
        second = await client.call_tool("read_note", {"title": "b"})
    assert not first.is_error
    assert second.is_error
    assert runs.names == ["read_note"]


async def test_a_call_with_invalid_arguments_is_refused_before_it_runs(
    context: DaemonContext, runs: ToolRuns, family: IssuedTokens
) -> None:
    async with Client(serve(context, runs, family.access_token)) as client:
        result = await client.call_tool("read_note", {})  # "title" is required

    assert result.is_error
    [entry] = call_records(context.authority.audit)
    assert (entry["outcome"], entry["result"]) == ("deny", "invalid_arguments")
    assert runs.names == []


async def test_a_hostile_argument_name_reaches_the_audit_log_only_neutralised(
    context: DaemonContext, runs: ToolRuns, family: IssuedTokens
) -> None:
    """The report: an argument *name* passed to whoami retitled the terminal via the audit screen."""
    hostile = "\x1b]0;pwned\x07\x1b]52;c;Y3VybA==\x07\x9b2J\u202e"
    async with Client(serve(context, runs, family.access_token)) as client:
        await client.call_tool("whoami", {hostile: 1})
        await client.call_tool("read_note", {"title": hostile})
    raw = context.authority.audit.path.read_text(encoding="utf-8")
    assert raw_controls(raw) == []
    assert not any(ch in raw for ch in "\x1b\x07\x9b\u202e")
