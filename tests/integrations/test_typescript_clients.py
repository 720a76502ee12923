"""Every Things and GPG tool through clients built on the TypeScript MCP SDK (heavy suite).

The TypeScript SDK validates each result's structuredContent against the tool's outputSchema with ajv and
ajv-formats; a result that does not match is a ``-32602`` error, not a result. Here a real daemon (Things
sample data, real gpg) is driven by the SDK's client over streamable HTTP and through ``agent-auth mcp``
over stdio, and by the MCP Inspector CLI over HTTP. The SDK is installed by npm into a cache outside the
repository on first use (``tests/support/node_clients.py``).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mcp_server.composition import integrations
from mcp_server.integrations.things.source import local_zone
from tests.gpg.gpg_support import commit_payload
from tests.integrations.gpg_fixtures import GpgKeys, gpg_keys, gpg_settings
from tests.support.daemon import RunningDaemon, isolated_env, start_daemon
from tests.support.node_clients import run_inspector, run_ts_client
from tools.things.dates import local_today
from tools.things.sample import SampleDatabase, generate

pytestmark = pytest.mark.heavy

ALL_SCOPES = {"things:read": "allow", "things:write": "allow", "gpg:sign": "allow", "gpg:verify": "allow"}
AGENT_AUTH = Path(sys.executable).parent / "agent-auth"


@pytest.fixture(scope="module")
def keys() -> Iterator[GpgKeys]:
    with gpg_keys() as made:
        yield made


@pytest.fixture
def served(tmp_path: Path, keys: GpgKeys) -> Iterator[tuple[RunningDaemon, SampleDatabase]]:
    from datetime import UTC, datetime

    sample = generate(tmp_path / "things.sqlite", todos=120, today=local_today(datetime.now(UTC), local_zone()))
    with isolated_env(tmp_path / "home") as env:
        settings = gpg_settings(env, keys, things_database=sample.path)
        running = start_daemon(settings=settings, integrations=integrations())
        try:
            yield running, sample
        finally:
            running.stop()


def detached_signature(keys: GpgKeys, payload: str) -> str:
    done = subprocess.run(
        ["gpg", "--homedir", str(keys.home), "--batch", "--armor", "--detach-sign", "--local-user", keys.alice],
        input=payload.encode(),
        capture_output=True,
        check=True,
    )
    return done.stdout.decode()


def every_tool_call(sample: SampleDatabase, keys: GpgKeys) -> list[tuple[str, dict[str, Any]]]:
    """Each tool at least once, on items that carry reminders, deadlines, headings, areas, completions."""
    payload = commit_payload("Check the TypeScript client").decode()
    signature = detached_signature(keys, payload)
    return [
        ("whoami", {}),
        ("things_list_todos", {}),
        ("things_list_todos", {"list": "today", "limit": 500}),
        ("things_list_todos", {"list": "logbook", "limit": 500}),
        *[
            ("things_get_todo", {"todo_id": sample.ids[title]})
            for title in ("Read a chapter", "Pay rent", "File taxes", "Pick a domain", "Renew passport")
        ],
        ("things_list_projects", {"limit": 500}),
        ("things_list_projects", {"status": "completed"}),
        ("things_get_project", {"project_id": sample.ids["Write a novel"]}),
        ("things_get_project", {"project_id": sample.ids["Launch website"]}),
        ("things_list_areas", {}),
        ("things_list_tags", {}),
        ("things_search", {"query": "e", "limit": 500}),
        ("things_add_todo", {"title": "From TypeScript", "when": "today", "tags": ["Errand"]}),
        ("things_add_project", {"title": "TypeScript project", "todos": ["one"]}),
        ("things_update_todo", {"todo_id": sample.ids["Buy milk"], "append_notes": "from TypeScript"}),
        ("things_logbook", {"limit": 500}),
        ("things_deadlines", {"limit": 500}),
        ("things_recent", {"since": "2000-01-01", "limit": 500}),
        ("things_list_headings", {}),
        ("things_get_area", {"area_id": sample.ids["area:Work"]}),
        ("things_tag_usage", {}),
        ("things_update_project", {"project_id": sample.ids["Launch website"], "append_notes": "from TypeScript"}),
        ("things_show", {"id": "today"}),
        ("gpg_list_keys", {}),
        ("gpg_sign", {"payload": payload, "key": keys.alice}),
        ("gpg_verify", {"signature": signature, "payload": payload}),
    ]


def assert_every_call_accepted(lines: list[dict[str, Any]], calls: list[tuple[str, dict[str, Any]]]) -> None:
    header, results = lines[0], lines[1:]
    assert header["server"]["name"] == "agent-auth" and header["server"]["version"]
    assert {name for name, _ in calls} <= set(header["listed"])
    assert len(results) == len(calls)
    refused = [r for r in results if not r["ok"] or r["isError"]]
    assert not refused, json.dumps(refused, indent=1)[:3000]
    assert all(r["structuredContent"] is not None for r in results)


def test_the_typescript_sdk_accepts_every_tool_result_over_http(
    served: tuple[RunningDaemon, SampleDatabase], keys: GpgKeys
) -> None:
    daemon, sample = served
    token = daemon.create_family(ALL_SCOPES, label="typescript").access_token
    calls = every_tool_call(sample, keys)

    lines = run_ts_client({"transport": "http", "url": f"{daemon.url}/mcp", "token": token, "calls": calls})

    assert_every_call_accepted(lines, calls)


def test_the_typescript_sdk_accepts_every_tool_result_over_the_stdio_proxy(
    served: tuple[RunningDaemon, SampleDatabase], keys: GpgKeys, tmp_path: Path
) -> None:
    daemon, sample = served
    token = daemon.create_family(ALL_SCOPES, label="typescript-stdio").access_token
    calls = every_tool_call(sample, keys)
    env = {
        "PATH": f"{AGENT_AUTH.parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "AGENT_AUTH_CREDENTIALS_STORE": "file",
        "AGENT_AUTH_URL": daemon.url,
        "AGENT_AUTH_TOKEN": token,
    }

    lines = run_ts_client(
        {"transport": "stdio", "command": str(AGENT_AUTH), "args": ["mcp"], "env": env, "calls": calls}
    )

    assert_every_call_accepted(lines, calls)


def test_the_mcp_inspector_cli_calls_every_tool(served: tuple[RunningDaemon, SampleDatabase], keys: GpgKeys) -> None:
    daemon, sample = served
    token = daemon.create_family(ALL_SCOPES, label="inspector").access_token
    url = f"{daemon.url}/mcp"
    listed = run_inspector(url, token, "--method", "tools/list")
    names = {tool["name"] for tool in listed["tools"]}
    called: set[str] = set()
    for name, arguments in every_tool_call(sample, keys):
        if name in called:
            continue
        result = run_inspector(
            url, token, "--method", "tools/call", "--tool-name", name, "--tool-args-json", json.dumps(arguments)
        )
        assert result.get("isError") is not True, (name, result)
        assert result.get("structuredContent") is not None, (name, result)
        called.add(name)
    assert called == names


def test_a_default_typescript_client_receives_the_daemons_own_answer_when_nobody_approves(
    tmp_path: Path, keys: GpgKeys
) -> None:
    """The SDK's 60 s default request timeout, no progress reset: the 45 s approval timeout answers first."""
    from datetime import UTC, datetime

    from mcp_server.settings import Settings

    sample = generate(tmp_path / "things.sqlite", todos=20, today=local_today(datetime.now(UTC), local_zone()))
    with isolated_env(tmp_path / "home") as env:
        env.pop("AGENT_AUTH_APPROVAL_TIMEOUT_SECONDS")  # the shipped default
        settings = gpg_settings(env, keys, things_database=sample.path)
        default = next(f.default for f in dataclasses.fields(Settings) if f.name == "approval_timeout_seconds")
        assert settings.approval_timeout_seconds == default
        running = start_daemon(settings=settings, integrations=integrations())
        try:
            token = running.create_family({"things:write": "prompt"}, label="unanswered").access_token
            lines = run_ts_client(
                {
                    "transport": "http",
                    "url": f"{running.url}/mcp",
                    "token": token,
                    "calls": [["things_add_todo", {"title": "Nobody approves this"}]],
                }
            )
        finally:
            running.stop()

    [result] = lines[1:]
    assert result["ok"], result  # not the SDK's -32001 "Request timed out"
    assert result["isError"] and "approved" in result["text"]
