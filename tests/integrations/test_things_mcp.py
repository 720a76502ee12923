"""The Things MCP tools through the SDK's in-memory client, behind the daemon's gate and approvals."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import CallToolResult

from auth.scopes import Tier
from mcp_server.daemon.context import DaemonContext
from mcp_server.integrations.things.mcp_tools import tool_specs
from mcp_server.integrations.things.source import ThingsSource, build_source
from mcp_server.mcp.registry import ToolRegistry
from mcp_server.mcp.server import build_mcp_server
from tests.integrations.conftest import BERLIN, TODAY, noon
from tools.things.sample import SampleDatabase

pytestmark = pytest.mark.anyio

WAIT_SECONDS = 10.0


@pytest.fixture
def source(sample: SampleDatabase, tmp_path: Path) -> ThingsSource:
    """The configured-database path on Linux: reads from the sample, writes through the Linux stand-in."""
    return build_source(sample.path, tmp_path / "data", platform="linux", clock=lambda: noon(TODAY), tz=BERLIN)


@pytest.fixture
def connect(daemon_ctx: DaemonContext, source: ThingsSource) -> Callable[..., Any]:
    """``connect(things_read="allow", ...)``: an in-memory MCP client whose calls carry a new family's token."""
    registry = ToolRegistry(tool_specs(source.service))

    @asynccontextmanager
    async def _connect(**scopes: str) -> AsyncIterator[Client]:
        tiers = {name.replace("_", ":", 1): Tier(tier) for name, tier in scopes.items()}
        token = daemon_ctx.authority.create_family(tiers, label="mcp-test").access_token
        server, _ = build_mcp_server(daemon_ctx.gate, registry, token_source=lambda _ctx: token)
        async with Client(server) as client:
            yield client

    return _connect


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    assert result.is_error
    return " ".join(getattr(part, "text", "") for part in result.content)


async def test_a_read_token_lists_today_in_things_order(connect: Callable[..., Any]) -> None:
    """Today holds the scheduled, started and overdue to-dos; items come back as structured data."""
    async with connect(things_read="allow") as client:
        page = structured(await client.call_tool("things_list_todos", {"list": "today", "limit": 500}))
    titles = [item["title"] for item in page["items"]]
    assert titles.index("Pay rent") < titles.index("Read a chapter")  # todayIndex -10 before the evening item
    assert {"Pay rent", "Read a chapter", "Call the bank", "Renew passport"} <= set(titles)
    assert "Renew licence" not in titles  # overdue but removed from Today
    assert all(item["list"] == "today" for item in page["items"])
    assert page["total"] == len(titles)


async def test_search_finds_to_dos_by_title_and_get_returns_the_same_item(connect: Callable[..., Any]) -> None:
    async with connect(things_read="allow") as client:
        page = structured(await client.call_tool("things_search", {"query": "passport"}))
        [found] = [item for item in page["items"] if item["title"] == "Renew passport"]
        detail = structured(await client.call_tool("things_get_todo", {"todo_id": found["id"]}))
    assert detail == found


async def test_pages_of_a_listing_do_not_overlap_and_share_the_total(connect: Callable[..., Any]) -> None:
    async with connect(things_read="allow") as client:
        first = structured(await client.call_tool("things_list_todos", {"list": "anytime", "limit": 5}))
        second = structured(await client.call_tool("things_list_todos", {"list": "anytime", "limit": 5, "offset": 5}))
    assert first["total"] == second["total"] > 10
    assert len(first["items"]) == len(second["items"]) == 5
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}


async def test_projects_areas_and_tags_are_listed(connect: Callable[..., Any], sample: SampleDatabase) -> None:
    async with connect(things_read="allow") as client:
        areas = structured(await client.call_tool("things_list_areas", {}))["areas"]
        tags = structured(await client.call_tool("things_list_tags", {}))["tags"]
        work = sample.ids["area:Work"]
        projects = structured(await client.call_tool("things_list_projects", {"area_id": work}))["items"]
        project = structured(await client.call_tool("things_get_project", {"project_id": projects[0]["id"]}))
    assert "Work" in {a["title"] for a in areas}
    assert {"Errand", "money"} <= {t["title"] for t in tags}
    assert "Launch website" in {p["title"] for p in projects}
    assert all(p["area"]["id"] == work for p in projects)
    assert project["id"] == projects[0]["id"]


@pytest.mark.parametrize(
    ("tool", "arguments", "code"),
    [
        ("things_get_todo", {"todo_id": "not-an-id"}, "invalid_argument"),
        ("things_get_todo", {"todo_id": "AAAAAAAAAAAAAAAAAAAAAA"}, "not_found"),
        ("things_get_project", {"project_id": "AAAAAAAAAAAAAAAAAAAAAA"}, "not_found"),
        ("things_list_todos", {"project_id": "AAAAAAAAAAAAAAAAAAAAAA"}, "not_found"),
        ("things_search", {"query": "   "}, "invalid_argument"),
    ],
)
async def test_bad_ids_and_arguments_are_tool_errors_with_a_code(
    connect: Callable[..., Any], tool: str, arguments: dict[str, Any], code: str
) -> None:
    async with connect(things_read="allow") as client:
        result = await client.call_tool(tool, arguments)
    assert f"[{code}]" in error_text(result)


async def test_arguments_outside_the_schema_are_refused_before_the_tool_runs(connect: Callable[..., Any]) -> None:
    async with connect(things_read="allow") as client:
        for arguments in ({"limit": 0}, {"limit": 501}, {"list": "tomorrow"}, {"status": "done"}):
            result = await client.call_tool("things_list_todos", arguments)
            assert result.is_error, arguments


async def test_a_read_only_token_sees_no_write_tools(connect: Callable[..., Any]) -> None:
    async with connect(things_read="allow") as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert names == {
        "things_list_todos",
        "things_get_todo",
        "things_list_projects",
        "things_get_project",
        "things_list_areas",
        "things_list_tags",
        "things_search",
        "things_logbook",
        "things_deadlines",
        "things_recent",
        "things_list_headings",
        "things_get_area",
        "things_tag_usage",
    }


async def test_write_tools_carry_annotations_and_input_schemas(connect: Callable[..., Any]) -> None:
    async with connect(things_read="allow", things_write="allow") as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    add = tools["things_add_todo"]
    assert add.annotations is not None
    assert add.annotations.read_only_hint is False and add.annotations.destructive_hint is False
    assert add.input_schema["required"] == ["title"]
    assert add.output_schema is not None and "status" in add.output_schema["properties"]
    listing = tools["things_list_todos"]
    assert listing.annotations is not None and listing.annotations.read_only_hint is True
    assert "today" in str(listing.input_schema["properties"]["list"])


@asynccontextmanager
async def approver(ctx: DaemonContext, *, approve: bool) -> AsyncIterator[list[str]]:
    """Decide the next approval (as a person in the TUI would); yields the summaries it was shown."""
    send, receive = anyio.create_memory_object_stream[dict[str, Any]](10)
    unsubscribe = ctx.broker.subscribe(
        lambda kind, data: send.send_nowait(data) if kind == "approval.created" else None
    )
    shown: list[str] = []

    async def decide() -> None:
        with anyio.fail_after(WAIT_SECONDS):
            created = await receive.receive()
        shown.append(created["summary"])
        ctx.broker.decide(created["id"], approved=approve, decided_by="test")

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(decide)
            yield shown
    finally:
        unsubscribe()
        send.close()
        receive.close()


async def test_a_prompted_add_waits_for_approval_and_shows_up_in_the_next_read(
    connect: Callable[..., Any], daemon_ctx: DaemonContext
) -> None:
    async with connect(things_read="allow", things_write="prompt") as client:
        async with approver(daemon_ctx, approve=True) as shown:
            with anyio.fail_after(WAIT_SECONDS):
                result = await client.call_tool(
                    "things_add_todo", {"title": "Water the plants", "when": "today", "tags": ["money"]}
                )
        written = structured(result)
        today = structured(await client.call_tool("things_list_todos", {"list": "today", "limit": 500}))
    assert shown == ["Add to-do 'Water the plants' to Today, tags: 'money'"]
    assert written["status"] == "confirmed"
    [added] = [item for item in today["items"] if item["id"] == written["id"]]
    assert added["title"] == "Water the plants" and added["tags"] == ["money"]


async def test_a_declined_add_is_a_tool_error_and_writes_nothing(
    connect: Callable[..., Any], daemon_ctx: DaemonContext
) -> None:
    async with connect(things_read="allow", things_write="prompt") as client:
        async with approver(daemon_ctx, approve=False):
            with anyio.fail_after(WAIT_SECONDS):
                result = await client.call_tool("things_add_todo", {"title": "Sell the car"})
        found = structured(await client.call_tool("things_search", {"query": "Sell the car"}))
    assert "declined" in error_text(result)
    assert found["total"] == 0


async def test_allowed_writes_add_a_project_and_update_a_to_do(
    connect: Callable[..., Any], sample: SampleDatabase
) -> None:
    todo_id = sample.ids["Buy milk"]
    async with connect(things_read="allow", things_write="allow") as client:
        project = structured(
            await client.call_tool("things_add_project", {"title": "Move house", "todos": ["Book van", "Pack"]})
        )
        update = structured(
            await client.call_tool(
                "things_update_todo", {"todo_id": todo_id, "append_notes": "oat milk", "completed": True}
            )
        )
        todo = structured(await client.call_tool("things_get_todo", {"todo_id": todo_id}))
        inside = structured(await client.call_tool("things_list_todos", {"project_id": project["id"]}))
    assert project["status"] == "confirmed"
    assert {i["title"] for i in inside["items"]} == {"Book van", "Pack"}
    assert update["status"] == "confirmed"
    assert todo["status"] == "completed" and todo["notes"].endswith("oat milk")


async def test_a_write_with_an_unknown_tag_is_refused_with_its_code(connect: Callable[..., Any]) -> None:
    async with connect(things_read="allow", things_write="allow") as client:
        result = await client.call_tool("things_add_todo", {"title": "Tagged", "tags": ["no such tag"]})
    assert "[invalid_argument]" in error_text(result)


async def test_today_over_mcp_holds_the_project_scheduled_for_today_typed_as_a_project(
    connect: Callable[..., Any],
) -> None:
    async with connect(things_read="allow") as client:
        page = structured(await client.call_tool("things_list_todos", {"list": "today", "limit": 500}))
        projects = structured(await client.call_tool("things_list_projects", {"list": "someday"}))
    kinds = {item["title"]: item["type"] for item in page["items"]}
    assert kinds["Plan the party"] == "project" and kinds["Pay rent"] == "to-do"
    assert "Write a novel" in [p["title"] for p in projects["items"]]


def text_of(result: CallToolResult) -> str:
    assert not result.is_error, result.content
    return "".join(getattr(part, "text", "") for part in result.content)


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("things_list_todos", {"list": list_id, "limit": 50})
        for list_id in ("inbox", "today", "upcoming", "anytime", "someday", "logbook", "trash")
    ]
    + [
        ("things_list_todos", {"limit": 50}),
        ("things_list_projects", {"limit": 50}),
        ("things_search", {"query": "e", "limit": 50}),
    ],
)
async def test_list_text_is_one_terse_line_per_item_with_its_id(
    connect: Callable[..., Any], tool: str, args: dict[str, Any]
) -> None:
    """The text agents read stays under 300 characters per item; structuredContent keeps every field."""
    async with connect(things_read="allow") as client:
        result = await client.call_tool(tool, args)
    page = structured(result)
    lines = text_of(result).splitlines()
    assert page["items"] and len(lines) == 1 + len(page["items"])
    for line, item in zip(lines[1:], page["items"], strict=True):
        assert item["id"] in line and ("PROJECT" in line) == (item["type"] == "project")
    assert len(text_of(result)) / len(page["items"]) <= 300
    assert all("notes" in item and "created" in item for item in page["items"])


async def test_the_new_reads_over_mcp(connect: Callable[..., Any], sample: SampleDatabase) -> None:
    """Logbook by period, deadlines, recent items, headings, an area and tag usage, each with terse text."""
    async with connect(things_read="allow") as client:
        week = await client.call_tool("things_logbook", {"since": str(TODAY - timedelta(days=6)), "until": str(TODAY)})
        deadlines = await client.call_tool("things_deadlines", {})
        recent = await client.call_tool("things_recent", {"changed": True, "limit": 5})
        headings = await client.call_tool("things_list_headings", {"project_id": sample.ids["Write a novel"]})
        area = await client.call_tool("things_get_area", {"area_id": sample.ids["area:Work"]})
        usage = await client.call_tool("things_tag_usage", {})
        bad = await client.call_tool("things_logbook", {"since": "last week"})
    assert "File taxes" in [i["title"] for i in structured(week)["items"]]
    assert text_of(week).startswith("Logbook: ")
    dated = [i["deadline"] for i in structured(deadlines)["items"]]
    assert dated == sorted(dated)
    assert structured(recent)["items"]
    assert [h["title"] for h in structured(headings)["headings"]] == ["Part one"]
    assert structured(area)["title"] == "Work" and sample.ids["area:Work"] in text_of(area)
    assert {t["title"] for t in structured(usage)["tags"]} >= {"money", "urgent"}
    assert "invalid_argument" in error_text(bad)


async def test_update_a_project_move_under_a_heading_by_title_and_show(
    connect: Callable[..., Any], daemon_ctx: DaemonContext, sample: SampleDatabase
) -> None:
    """The new writes go through the approval prompt with a server-written summary and are read back."""
    async with (
        connect(things_read="allow", things_write="prompt") as client,
        approver(daemon_ctx, approve=True) as shown,
    ):
        with anyio.fail_after(WAIT_SECONDS):
            renamed = await client.call_tool(
                "things_update_project", {"project_id": sample.ids["Write a novel"], "title": "Write two novels"}
            )
    async with connect(things_read="allow", things_write="allow") as client:
        moved = await client.call_tool(
            "things_update_todo", {"todo_id": sample.ids["Outline chapters"], "heading": "Part one"}
        )
        refused = await client.call_tool(
            "things_update_project", {"project_id": sample.ids["Launch website"], "completed": True}
        )
        revealed = await client.call_tool("things_show", {"id": "today"})
        todo = structured(await client.call_tool("things_get_todo", {"todo_id": sample.ids["Outline chapters"]}))
    assert shown == [f"Update project {sample.ids['Write a novel']}: rename to 'Write two novels'"]
    assert structured(renamed)["status"] == "confirmed" and text_of(renamed).startswith("Confirmed: ")
    assert structured(moved)["status"] == "confirmed" and todo["heading"]["title"] == "Part one"
    assert "invalid_argument" in error_text(refused)
    assert structured(revealed)["status"] == "submitted"
