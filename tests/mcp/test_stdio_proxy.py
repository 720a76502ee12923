"""``agent-auth mcp`` — the stdio proxy — as a real subprocess in front of a real daemon."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from auth.families import IssuedTokens
from mcp_server.mcp import enforcement
from tests.mcp.mcp_test_support import FAMILY_SCOPES, ToolRuns
from tests.support.approvals import admin_subscriber
from tests.support.daemon import RunningDaemon
from tests.support.executables import installed_script

pytestmark = pytest.mark.anyio

AGENT_AUTH = installed_script("agent-auth")
WAIT_SECONDS = 30.0


def proxy_env(home: Path, url: str, token: str) -> dict[str, str]:
    """Only what the proxy needs: no keyring, no real home, the daemon URL and token from the environment."""
    return {
        "PATH": str(AGENT_AUTH.parent) + ":/usr/bin:/bin",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_RUNTIME_DIR": str(home / "run"),
        "AGENT_AUTH_CREDENTIALS_STORE": "file",
        "AGENT_AUTH_URL": url,
        "AGENT_AUTH_TOKEN": token,
    }


def proxy(home: Path, url: str, token: str) -> StdioServerParameters:
    return StdioServerParameters(command=str(AGENT_AUTH), args=["mcp"], env=proxy_env(home, url, token))


@pytest.fixture
def family(daemon: RunningDaemon) -> IssuedTokens:
    return daemon.create_family(FAMILY_SCOPES, label="notes-agent")


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_proxy_lists_and_calls_tools_through_the_daemon(
    daemon: RunningDaemon, family: IssuedTokens, runs: ToolRuns, tmp_path: Path, mode: str
) -> None:
    with anyio.fail_after(WAIT_SECONDS):
        async with Client(proxy(tmp_path, daemon.url, family.access_token), mode=mode) as client:  # type: ignore[arg-type]
            names = {tool.name for tool in (await client.list_tools()).tools}
            read = await client.call_tool("read_note", {"title": "groceries"})
            who = await client.call_tool("whoami", {})

    assert names == {"whoami", "read_note", "write_note"}
    assert not read.is_error
    assert runs.names == ["read_note"]
    assert not who.is_error
    assert family.family_id in json.dumps(who.structured_content or [c.model_dump() for c in who.content])


async def test_a_denied_tool_over_stdio_is_a_clear_tool_error_and_never_runs(
    daemon: RunningDaemon, family: IssuedTokens, runs: ToolRuns, tmp_path: Path
) -> None:
    with anyio.fail_after(WAIT_SECONDS):
        async with Client(proxy(tmp_path, daemon.url, family.access_token)) as client:
            result = await client.call_tool("purge_notes", {})

    assert result.is_error
    assert runs.names == []
    text = "".join(getattr(c, "text", "") for c in result.content)
    assert "notes:admin" in text  # the model learns which scope it lacks


async def test_a_prompt_tool_over_stdio_waits_for_approval_with_progress(
    daemon: RunningDaemon,
    family: IssuedTokens,
    runs: ToolRuns,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(enforcement, "PROGRESS_INTERVAL_SECONDS", 0.05)
    progressed = anyio.Event()

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progressed.set()

    result: dict[str, Any] = {}
    with anyio.fail_after(WAIT_SECONDS):
        async with (
            admin_subscriber(daemon.admin_socket) as approver,
            Client(proxy(tmp_path, daemon.url, family.access_token)) as client,
            anyio.create_task_group() as tg,
        ):

            async def call() -> None:
                result["value"] = await client.call_tool(
                    "write_note", {"title": "plan", "body": "x"}, progress_callback=on_progress
                )

            tg.start_soon(call)
            created = await approver.next_event("approval.created")
            await progressed.wait()
            await approver.decide(created["id"], "approve")

    assert not result["value"].is_error
    assert runs.names == ["write_note"]


def _jsonrpc(message_id: int | None, method: str, params: dict[str, Any] | None = None) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params or {}}
    if message_id is not None:
        message["id"] = message_id
    return json.dumps(message).encode() + b"\n"


async def test_stdout_carries_only_protocol_messages(
    daemon: RunningDaemon, family: IssuedTokens, tmp_path: Path
) -> None:
    initialize = {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw-test", "version": "0"},
    }
    lines: list[bytes] = []
    with anyio.fail_after(WAIT_SECONDS):
        async with await anyio.open_process(
            [str(AGENT_AUTH), "mcp"], env=proxy_env(tmp_path, daemon.url, family.access_token)
        ) as process:
            assert process.stdin is not None and process.stdout is not None
            await process.stdin.send(_jsonrpc(1, "initialize", initialize))
            await process.stdin.send(_jsonrpc(None, "notifications/initialized"))
            await process.stdin.send(_jsonrpc(2, "tools/list"))
            buffer = b""
            while not any(json.loads(line).get("id") == 2 for line in lines):
                buffer += await process.stdout.receive()
                *complete, buffer = buffer.split(b"\n")
                lines += [line for line in complete if line.strip()]
            await process.stdin.aclose()
            rest = b"".join([chunk async for chunk in process.stdout])
            await process.wait()

    lines += [line for line in (buffer + rest).split(b"\n") if line.strip()]
    messages = [json.loads(line) for line in lines]  # every line is JSON …
    assert all(m.get("jsonrpc") == "2.0" for m in messages)  # … and JSON-RPC
    listed = next(m for m in messages if m.get("id") == 2)
    assert {tool["name"] for tool in listed["result"]["tools"]} == {"whoami", "read_note", "write_note"}


def test_with_the_daemon_down_the_proxy_exits_non_zero_and_says_how_to_start_it(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    done = subprocess.run(
        [str(AGENT_AUTH), "mcp"],
        env=proxy_env(tmp_path, url, "aa_0123456789abcdef0123456789abcdef_x"),
        input=b"",
        capture_output=True,
        timeout=WAIT_SECONDS,
        check=False,
    )
    assert done.returncode != 0
    assert done.stdout == b""
    assert b"agent-auth serve" in done.stderr
    assert url.encode() in done.stderr
