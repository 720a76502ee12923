"""A Things database that is locked, missing or from an older schema, through the real daemon.

Each fault is injected into a real SQLite file that a real daemon serves (``things_database``), then every
Things MCP tool (over ``/mcp`` with the SDK client) and every REST bridge route is called: each answers the
fault's documented code — a tool error, never data, never a crash — within a bounded time; nothing is written;
the daemon keeps answering ``whoami`` and ``/validate``; and once the fault is removed the next calls work.

Locks: the sample database uses a rollback journal, where ``BEGIN EXCLUSIVE`` keeps readers out. Things itself
uses WAL, where it does not (readers see the last snapshot); there only ``PRAGMA locking_mode=EXCLUSIVE`` plus a
write keeps them out, so that is the WAL variant. Each lock test first proves a plain reader is blocked.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from mcp_server.integrations.things.source import local_zone
from tests.reliability.conftest import StartFull
from tools.things.database import BUSY_TIMEOUT_SECONDS
from tools.things.dates import local_today
from tools.things.sample import SampleDatabase, generate

pytestmark = pytest.mark.anyio

# Every call of a batch must be answered within this; SQLite's default busy timeout (5 s) would not be.
LOCKED_BOUND_SECONDS = BUSY_TIMEOUT_SECONDS + 3.0
BOUND_SECONDS = 10.0
PROBE_TITLE = "fault probe"
BRIDGE = "/things-bridge/v1"

Remove = Callable[[], None]


@dataclass(frozen=True)
class Fault:
    """How to break the database, what every call must answer meanwhile, and when to break it."""

    name: str
    inject: Callable[[Path], Remove]
    tool_code: str
    route_answer: tuple[int, str]
    before_first_read: bool = False  # the schema check runs once, on the first read
    spares_areas_and_tags: bool = False  # calls that never read the broken table still answer with data
    bound_seconds: float = BOUND_SECONDS


def _write(path: Path, *statements: str) -> None:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for statement in statements:
            conn.execute(statement)


def _assert_a_plain_reader_is_blocked(path: Path) -> None:
    with closing(sqlite3.connect(path, timeout=0)) as probe, pytest.raises(sqlite3.OperationalError) as info:
        probe.execute("SELECT COUNT(*) FROM TMTask").fetchone()
    assert info.value.sqlite_errorcode == sqlite3.SQLITE_BUSY, info.value


def _hold_exclusive_transaction(path: Path) -> Remove:
    _write(path, "PRAGMA journal_mode=DELETE")  # the sample is in WAL mode, as Things keeps it
    locker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    assert locker.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # in WAL this would not block readers
    locker.execute("BEGIN EXCLUSIVE")
    _assert_a_plain_reader_is_blocked(path)

    def release() -> None:
        locker.execute("ROLLBACK")
        locker.close()

    return release


def _hold_exclusive_wal_lock(path: Path) -> Remove:
    _write(path, "PRAGMA journal_mode=WAL")
    locker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    assert locker.execute("PRAGMA locking_mode=EXCLUSIVE").fetchone()[0] == "exclusive"
    locker.execute("BEGIN IMMEDIATE")
    locker.execute("UPDATE TMTask SET title = title WHERE 0")  # a write takes the lock; it is then kept
    locker.execute("COMMIT")
    _assert_a_plain_reader_is_blocked(path)
    return locker.close


def _move_away(path: Path) -> Remove:
    aside = path.with_name(path.name + ".aside")
    path.rename(aside)
    return lambda: aside.rename(path)


def _set_old_version(path: Path) -> Remove:
    with closing(sqlite3.connect(path)) as conn:
        [(version,)] = conn.execute("SELECT value FROM Meta WHERE key = 'databaseVersion'").fetchall()
    _write(path, "UPDATE Meta SET value = '<plist><integer>19</integer></plist>' WHERE key = 'databaseVersion'")

    def restore() -> None:
        with closing(sqlite3.connect(path)) as conn, conn:
            conn.execute("UPDATE Meta SET value = ? WHERE key = 'databaseVersion'", (version,))

    return restore


def _rename_task_type_column(path: Path) -> Remove:
    _write(path, "ALTER TABLE TMTask RENAME COLUMN type TO kind")
    return lambda: _write(path, "ALTER TABLE TMTask RENAME COLUMN kind TO type")


FAULTS = [
    Fault(
        "locked, rollback journal",
        _hold_exclusive_transaction,
        "database_locked",
        (503, "things_database_locked"),
        bound_seconds=LOCKED_BOUND_SECONDS,
    ),
    Fault(
        "locked, WAL exclusive mode",
        _hold_exclusive_wal_lock,
        "database_locked",
        (503, "things_database_locked"),
        bound_seconds=LOCKED_BOUND_SECONDS,
    ),
    Fault("deleted after start", _move_away, "database_not_found", (502, "things_unavailable")),
    Fault(
        "older databaseVersion",
        _set_old_version,
        "unsupported_schema",
        (502, "things_unavailable"),
        before_first_read=True,
    ),
    Fault(
        "TMTask column missing at start",
        _rename_task_type_column,
        "unsupported_schema",
        (502, "things_unavailable"),
        before_first_read=True,
    ),
    Fault(
        "TMTask column gone while serving",
        _rename_task_type_column,
        "unsupported_schema",
        (502, "things_unavailable"),
        spares_areas_and_tags=True,
    ),
]


@dataclass(frozen=True)
class Call:
    """One Things MCP tool call or one bridge route; ``tasks`` says whether it reads ``TMTask``."""

    tool: str | None
    arguments: dict[str, Any] | str  # tool arguments, or the route's path
    tasks: bool = True
    write: bool = False


def calls_for(sample: SampleDatabase) -> list[Call]:
    todo, project, area = sample.ids["Buy milk"], sample.ids["Launch website"], sample.ids["area:Work"]
    return [
        Call("things_list_todos", {}),
        Call("things_get_todo", {"todo_id": todo}),
        Call("things_list_projects", {}),
        Call("things_get_project", {"project_id": project}),
        Call("things_list_areas", {}, tasks=False),
        Call("things_list_tags", {}, tasks=False),
        Call("things_search", {"query": "milk"}),
        Call("things_add_todo", {"title": PROBE_TITLE}, write=True),
        Call("things_add_project", {"title": PROBE_TITLE}, write=True),
        Call("things_update_todo", {"todo_id": todo, "title": PROBE_TITLE}, write=True),
        Call(None, f"{BRIDGE}/todos"),
        Call(None, f"{BRIDGE}/todos/{todo}"),
        Call(None, f"{BRIDGE}/projects"),
        Call(None, f"{BRIDGE}/projects/{project}"),
        Call(None, f"{BRIDGE}/areas", tasks=False),
        Call(None, f"{BRIDGE}/areas/{area}", tasks=False),
    ]


@dataclass
class Answer:
    call: Call
    tool_result: CallToolResult | None = None
    status: int | None = None
    body: Any = None

    @property
    def ok(self) -> bool:
        if self.tool_result is not None:
            return not self.tool_result.is_error and self.tool_result.structured_content is not None
        return self.status == 200

    @property
    def tool_text(self) -> str:
        assert self.tool_result is not None
        return " ".join(getattr(part, "text", "") for part in self.tool_result.content)


@asynccontextmanager
async def clients(url: str, token: str) -> AsyncIterator[tuple[Client, httpx2.AsyncClient]]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=BOUND_SECONDS) as mcp_http,
        Client(streamable_http_client(f"{url}/mcp", http_client=mcp_http)) as mcp,
        httpx2.AsyncClient(base_url=url, headers=headers, timeout=BOUND_SECONDS) as http,
    ):
        yield mcp, http


async def call_all(mcp: Client, http: httpx2.AsyncClient, calls: list[Call], bound_seconds: float) -> list[Answer]:
    """Every call at once (the bridge and the tools run in worker threads), all answered within the bound."""
    answers = [Answer(call) for call in calls]

    async def one(answer: Answer) -> None:
        call = answer.call
        if call.tool is not None:
            assert isinstance(call.arguments, dict)
            answer.tool_result = await mcp.call_tool(call.tool, call.arguments)
        else:
            assert isinstance(call.arguments, str)
            reply = await http.get(call.arguments)
            answer.status, answer.body = reply.status_code, reply.json()

    with anyio.fail_after(bound_seconds):
        async with anyio.create_task_group() as group:
            for answer in answers:
                group.start_soon(one, answer)
    return answers


async def assert_the_daemon_still_answers(mcp: Client, http: httpx2.AsyncClient, token: str) -> None:
    whoami = await mcp.call_tool("whoami", {})
    assert not whoami.is_error, whoami.content
    reply = await http.post("/agent-auth/v1/validate", json={"token": token, "required_scope": "things:read"})
    assert reply.status_code == 200 and reply.json()["valid"] is True, reply.text


def probes_written(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM TMTask WHERE title = ?", (PROBE_TITLE,)).fetchone()[0])


@pytest.mark.parametrize("fault", FAULTS, ids=lambda fault: fault.name)
async def test_every_things_tool_and_route_answers_the_fault_s_documented_code_and_works_once_it_is_fixed(
    start_full: StartFull, tmp_path: Path, fault: Fault
) -> None:
    """Locked, missing or older-schema database: a coded error per call, never data, and recovery after."""
    sample = generate(tmp_path / "things.sqlite", todos=40, today=local_today(datetime.now(UTC), local_zone()), seed=3)
    daemon = start_full(things_database=sample.path)
    token = daemon.create_family({"things:read": "allow", "things:write": "allow"}, label="faults").access_token
    calls = calls_for(sample)
    reads = [call for call in calls if not call.write]

    async with clients(daemon.url, token) as (mcp, http):
        if not fault.before_first_read:
            healthy = await call_all(mcp, http, reads, BOUND_SECONDS)
            assert all(answer.ok for answer in healthy), [a for a in healthy if not a.ok]
        remove = fault.inject(sample.path)
        try:
            answers = await call_all(mcp, http, calls, fault.bound_seconds)
            await assert_the_daemon_still_answers(mcp, http, token)
        finally:
            remove()
        recovered = await call_all(mcp, http, reads, BOUND_SECONDS)

    for answer in answers:
        if fault.spares_areas_and_tags and not answer.call.tasks:
            assert answer.ok, answer  # nothing it reads is broken, so it answers correctly
        elif answer.tool_result is not None:
            assert answer.tool_result.is_error, answer
            assert answer.tool_result.structured_content is None, answer
            assert f"[{fault.tool_code}]" in answer.tool_text, answer.tool_text
        else:
            assert (answer.status, answer.body) == (fault.route_answer[0], {"error": fault.route_answer[1]})
    assert all(answer.ok for answer in recovered), [a for a in recovered if not a.ok]
    assert probes_written(sample.path) == 0  # no write went through while the database was broken
    assert daemon.ctx.broker.grants() == [] and daemon.ctx.broker.pending() == []
