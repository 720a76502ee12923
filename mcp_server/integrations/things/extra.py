"""The Things MCP tools beyond the seed's: Logbook by period, deadlines, recent items, headings, an area,
tag usage, updating a project and showing an item in Things.

Each tool wraps one ``ThingsService`` method; its text content is the terse rendering of
``tools.things.render`` and its structuredContent the full model. ``read`` and ``write`` come from
``tool_specs`` in ``things.py`` so every Things tool is registered the same way (scope, annotations,
approval summary).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from mcp_server.errors import tool_error_text
from mcp_server.mcp.registry import ToolSpec
from tools.things import Area, Page, ThingsError, ThingsService, WriteResult, render
from tools.things.models import Heading, ListItem, TagUsage

SpecFactory = Callable[..., ToolSpec]

Day = Annotated[str | None, Field(description="A date YYYY-MM-DD (whole days in the host's time zone).")]
Limit = Annotated[int, Field(ge=1, le=500, description="Page size (1-500).")]
Offset = Annotated[int, Field(ge=0, description="How many matches to skip; page on with offset += limit.")]


class HeadingList(BaseModel):
    headings: list[Heading]


class TagUsageList(BaseModel):
    tags: list[TagUsage]


def answer(model: BaseModel, text: str) -> CallToolResult:
    """The full model as structuredContent and a terse rendering as the text agents read."""
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=model.model_dump(mode="json")
    )


def tool_error(exc: ThingsError) -> ToolError:
    return ToolError(tool_error_text(exc.code, str(exc)))


def extra_tool_specs(service: ThingsService, read: SpecFactory, write: SpecFactory) -> list[ToolSpec]:
    def things_logbook(
        since: Day = None,
        until: Day = None,
        project_id: Annotated[str | None, Field(description="Only this project's items.")] = None,
        area_id: Annotated[str | None, Field(description="Only this area's items.")] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Annotated[CallToolResult, Page[ListItem]]:
        """What was completed or canceled, newest first: to-dos and projects (type tells them apart).

        Give since/until for a period, e.g. this week: since=<Monday>, until=<today>; both days included.
        """
        try:
            page = service.logbook(
                since=since, until=until, project_id=project_id, area_id=area_id, limit=limit, offset=offset
            )
            return answer(page, render.page_text("Logbook", page))
        except ThingsError as exc:
            raise tool_error(exc) from None

    def things_deadlines(
        until: Annotated[str | None, Field(description="Only deadlines on or before this date YYYY-MM-DD.")] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Annotated[CallToolResult, Page[ListItem]]:
        """Open to-dos and projects that have a deadline, soonest (and overdue) first."""
        try:
            page = service.deadlines(until=until, limit=limit, offset=offset)
            return answer(page, render.page_text("Deadlines", page))
        except ThingsError as exc:
            raise tool_error(exc) from None

    def things_recent(
        since: Annotated[
            str | None, Field(description="On or after this date YYYY-MM-DD (default: 7 days ago).")
        ] = None,
        changed: Annotated[bool, Field(description="Recently modified instead of recently created.")] = False,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Annotated[CallToolResult, Page[ListItem]]:
        """To-dos and projects created (or changed) recently, newest first, any status."""
        try:
            page = service.recent(since=since, changed=changed, limit=limit, offset=offset)
            return answer(page, render.page_text("Recently " + ("changed" if changed else "created"), page))
        except ThingsError as exc:
            raise tool_error(exc) from None

    def things_list_headings(
        project_id: Annotated[str | None, Field(description="Only this project's headings (a project id).")] = None,
    ) -> Annotated[CallToolResult, HeadingList]:
        """Headings of open projects with their open to-do counts; move a to-do under one with
        things_update_todo(heading=<title>)."""
        try:
            headings = service.list_headings(project_id)
            return answer(HeadingList(headings=headings), render.headings_text(headings))
        except ThingsError as exc:
            raise tool_error(exc) from None

    def things_get_area(
        area_id: Annotated[str, Field(description="The area's id, as things_list_areas shows it.")],
    ) -> Annotated[CallToolResult, Area]:
        """Read one area; list its items with things_list_todos(area_id=...) or things_list_projects(area_id=...)."""
        try:
            area = service.get_area(area_id)
            return answer(area, render.areas_text([area]))
        except ThingsError as exc:
            raise tool_error(exc) from None

    def things_tag_usage() -> Annotated[CallToolResult, TagUsageList]:
        """Every tag with how many open and how many (not trashed) to-dos and projects carry it, most used first."""
        try:
            usage = service.tag_usage()
            return answer(TagUsageList(tags=usage), render.tag_usage_text(usage))
        except ThingsError as exc:
            raise tool_error(exc) from None

    def things_update_project(
        project_id: Annotated[str, Field(description="The id of the project to change.")],
        title: Annotated[str | None, Field(description="A new title.")] = None,
        append_notes: Annotated[str | None, Field(description="Text to append to the notes (never replaces).")] = None,
        when: Annotated[
            str | None, Field(description="today, tomorrow, evening, anytime, someday, or YYYY-MM-DD[@HH:MM].")
        ] = None,
        deadline: Annotated[str | None, Field(description="Deadline date YYYY-MM-DD.")] = None,
        add_tags: Annotated[list[str] | None, Field(description="Existing tag titles to add.")] = None,
        area_id: Annotated[str | None, Field(description="Move the project to this area.")] = None,
        completed: Annotated[bool, Field(description="Mark it completed (all its to-dos must be done).")] = False,
        canceled: Annotated[bool, Field(description="Mark it canceled (all its to-dos must be done).")] = False,
    ) -> Annotated[CallToolResult, WriteResult]:
        """Change a project: rename, append notes, reschedule, set a deadline, add tags, move, complete or cancel.

        Nothing is removed or replaced. Completing or canceling is refused while the project has open
        to-dos (Things ignores it then); complete, cancel or move them first.
        """
        try:
            result = service.update_project(
                project_id,
                title=title,
                append_notes=append_notes,
                when=when,
                deadline=deadline,
                add_tags=add_tags,
                area_id=area_id,
                completed=completed,
                canceled=canceled,
            )
            return answer(result, render.write_text(result))
        except ThingsError as exc:
            raise tool_error(exc) from None

    def things_show(
        id: Annotated[
            str,
            Field(description="An item id (to-do, project, area, tag) or a list: inbox, today, upcoming, someday …"),
        ],
    ) -> Annotated[CallToolResult, WriteResult]:
        """Show an item or a built-in list in the Things app on the host (nothing in Things changes)."""
        try:
            result = service.show(id)
            return answer(result, render.write_text(result))
        except ThingsError as exc:
            raise tool_error(exc) from None

    specs: list[Any] = [
        read(things_logbook, "Things Logbook over a period"),
        read(things_deadlines, "Things deadlines"),
        read(things_recent, "Recent Things items"),
        read(things_list_headings, "List Things headings"),
        read(things_get_area, "Read a Things area"),
        read(things_tag_usage, "Things tag usage"),
        write(things_update_project, "Update a Things project", destructive=True),
        write(things_show, "Show in Things"),
    ]
    return specs
