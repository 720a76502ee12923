"""``ThingsService``: the Things operations the MCP layer and the REST bridge wrap one to one.

Synchronous by design (the MCP layer calls it from a worker thread). Each call opens a fresh
read-only connection: opening one costs well under a millisecond, far below the queries themselves
(see ``benchmarks/bench_things_reader.py``), and no connection is shared between threads. "Today" is
computed per call from the injected clock in the injected time zone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from datetime import datetime, timedelta, tzinfo
from typing import Any

from tools.things import catalog, project_writes
from tools.things.datefilter import DateFilter
from tools.things.dates import local_today
from tools.things.errors import InvalidArgumentError, WriteUnavailableError
from tools.things.models import Area, Heading, ListItem, Page, Project, Tag, TagUsage, Todo, WriteResult
from tools.things.project_writes import UpdateProject
from tools.things.reader import ThingsReader, TodoFilter
from tools.things.snapshot import ListSnapshots
from tools.things.summaries import summarize
from tools.things.writes import AddProject, AddTodo, ThingsWriter, UpdateTodo

Connect = Callable[[], sqlite3.Connection]
RECENT_DAYS = 7
Clock = Callable[[], datetime]


class ThingsService:
    """Reads and writes the user's Things; every method returns pydantic models."""

    def __init__(
        self,
        connect: Connect,
        writer: ThingsWriter | None,
        clock: Clock,
        tz: tzinfo,
        *,
        snapshots: ListSnapshots | None = None,
    ) -> None:
        self._connect = connect
        self._snapshots = snapshots
        self._writer = writer
        self._clock = clock
        self._tz = tz

    @contextmanager
    def reader(self) -> Iterator[ThingsReader]:
        """A reader on a fresh read-only connection, with today's date from the clock."""
        with closing(self._connect()) as conn:
            yield ThingsReader(conn, today=local_today(self._clock(), self._tz), tz=self._tz, snapshots=self._snapshots)

    # -- reads ----------------------------------------------------------------------------------

    def list_todos(
        self,
        *,
        list: str | None = None,
        project_id: str | None = None,
        area_id: str | None = None,
        tag: str | None = None,
        status: str | None = None,
        query: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        dates: Mapping[str, str] | None = None,
    ) -> Page[Todo]:
        """To-dos, filtered; ``dates`` maps date-filter names (``completed_after``…) to ``YYYY-MM-DD``."""
        f = TodoFilter.parse(
            list=list,
            project_id=project_id,
            area_id=area_id,
            tag=tag,
            status=status,
            query=query,
            dates=DateFilter.from_mapping(dates or {}),
        )
        with self.reader() as r:
            return r.list_todos(f, limit=limit, offset=offset)

    def list_view(
        self,
        list: str,
        *,
        project_id: str | None = None,
        area_id: str | None = None,
        tag: str | None = None,
        status: str | None = None,
        query: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Page[ListItem]:
        """A built-in list with the projects the app shows in it (``type`` tells them from to-dos)."""
        f = TodoFilter.parse(list=list, project_id=project_id, area_id=area_id, tag=tag, status=status, query=query)
        with self.reader() as r:
            return r.list_view(f, limit=limit, offset=offset)

    def get_todo(self, todo_id: str) -> Todo:
        with self.reader() as r:
            return r.get_todo(todo_id)

    def list_projects(
        self,
        *,
        list: str | None = None,
        area_id: str | None = None,
        tag: str | None = None,
        status: str | None = None,
        query: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Page[Project]:
        f = TodoFilter.parse(list=list, area_id=area_id, tag=tag, status=status, query=query)
        with self.reader() as r:
            return r.list_projects(f, limit=limit, offset=offset)

    def get_project(self, project_id: str) -> Project:
        with self.reader() as r:
            return r.get_project(project_id)

    def list_areas(self) -> list[Area]:
        with self.reader() as r:
            return r.list_areas()

    def get_area(self, area_id: str) -> Area:
        with self.reader() as r:
            return r.get_area(area_id)

    def list_tags(self) -> list[Tag]:
        with self.reader() as r:
            return r.list_tags()

    def search(
        self,
        query: str,
        limit: int | None = None,
        offset: int | None = None,
        *,
        created_after: str | None = None,
        created_before: str | None = None,
        modified_after: str | None = None,
        completed_after: str | None = None,
        completed_before: str | None = None,
        deadline_before: str | None = None,
    ) -> Page[Todo]:
        """To-dos of any status whose title or notes contain ``query`` (case-insensitive for ASCII),
        optionally within dates (``YYYY-MM-DD``, whole days in the configured time zone, both ends included)."""
        if query is None or not str(query).strip():
            raise InvalidArgumentError("query", "must not be empty")
        dates = DateFilter.parse(
            created_after=created_after,
            created_before=created_before,
            modified_after=modified_after,
            completed_after=completed_after,
            completed_before=completed_before,
            deadline_before=deadline_before,
        )
        f = TodoFilter.parse(query=query, dates=dates)
        with self.reader() as r:
            return r.list_todos(f, limit=limit, offset=offset)

    def logbook(
        self,
        *,
        since: str | None = None,
        until: str | None = None,
        project_id: str | None = None,
        area_id: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Page[ListItem]:
        """Completed and canceled to-dos and projects, newest first, optionally within a period of days."""
        dates = DateFilter.parse(completed_after=since, completed_before=until)
        f = TodoFilter.parse(list="logbook", project_id=project_id, area_id=area_id, dates=dates)
        with self.reader() as r:
            return r.list_view(f, limit=limit, offset=offset)

    def deadlines(
        self, *, until: str | None = None, limit: int | None = None, offset: int | None = None
    ) -> Page[ListItem]:
        """Open to-dos and projects with a deadline (up to ``until`` if given), soonest first."""
        dates = DateFilter.parse(deadline_before=until, with_deadline=True)
        f = TodoFilter.parse(status="open", dates=dates, order="deadline")
        with self.reader() as r:
            return r.list_view(f, limit=limit, offset=offset)

    def recent(
        self,
        *,
        since: str | None = None,
        changed: bool = False,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Page[ListItem]:
        """To-dos and projects created (or, with ``changed``, modified) on or after ``since`` (default: 7 days)."""
        if not isinstance(changed, bool):
            raise InvalidArgumentError("changed", "must be a boolean")
        day = since or (local_today(self._clock(), self._tz) - timedelta(days=RECENT_DAYS)).isoformat()
        dates = DateFilter.parse(modified_after=day) if changed else DateFilter.parse(created_after=day)
        f = TodoFilter.parse(dates=dates, order="modified" if changed else "created")
        with self.reader() as r:
            return r.list_view(f, limit=limit, offset=offset)

    def list_headings(self, project_id: str | None = None) -> list[Heading]:
        with self.reader() as r:
            return catalog.list_headings(r, project_id)

    def tag_usage(self) -> list[TagUsage]:
        with self.reader() as r:
            return catalog.tag_usage(r)

    # -- writes ---------------------------------------------------------------------------------

    def _require_writer(self) -> ThingsWriter:
        if self._writer is None:
            raise WriteUnavailableError("Writes to Things are not configured for this server.")
        return self._writer

    def apply(self, request: AddTodo | AddProject | UpdateTodo) -> WriteResult:
        """Write a request parsed (and shown for approval) beforehand, exactly as parsed."""
        writer = self._require_writer()
        if isinstance(request, AddTodo):
            return writer.add_todo(request, self.reader)
        if isinstance(request, AddProject):
            return writer.add_project(request, self.reader)
        return writer.update_todo(request, self.reader)

    def add_todo(
        self,
        *,
        title: str,
        notes: str | None = None,
        when: str | None = None,
        deadline: str | None = None,
        tags: Sequence[str] | None = None,
        checklist: Sequence[str] | None = None,
        project_id: str | None = None,
        area_id: str | None = None,
        heading_id: str | None = None,
    ) -> WriteResult:
        request = AddTodo.parse(
            title=title,
            notes=notes,
            when=when,
            deadline=deadline,
            tags=tags,
            checklist=checklist,
            project_id=project_id,
            area_id=area_id,
            heading_id=heading_id,
        )
        return self._require_writer().add_todo(request, self.reader)

    def add_project(
        self,
        *,
        title: str,
        notes: str | None = None,
        when: str | None = None,
        deadline: str | None = None,
        tags: Sequence[str] | None = None,
        area_id: str | None = None,
        todos: Sequence[str] | None = None,
    ) -> WriteResult:
        request = AddProject.parse(
            title=title, notes=notes, when=when, deadline=deadline, tags=tags, area_id=area_id, todos=todos
        )
        return self._require_writer().add_project(request, self.reader)

    def update_todo(
        self,
        todo_id: str,
        *,
        title: str | None = None,
        append_notes: str | None = None,
        when: str | None = None,
        deadline: str | None = None,
        add_tags: Sequence[str] | None = None,
        project_id: str | None = None,
        area_id: str | None = None,
        heading_id: str | None = None,
        completed: bool = False,
        canceled: bool = False,
        heading: str | None = None,
    ) -> WriteResult:
        request = UpdateTodo.parse(
            todo_id,
            title=title,
            append_notes=append_notes,
            when=when,
            deadline=deadline,
            add_tags=add_tags,
            project_id=project_id,
            area_id=area_id,
            heading_id=heading_id,
            completed=completed,
            canceled=canceled,
            heading=heading,
        )
        return self._require_writer().update_todo(request, self.reader)

    def update_project(
        self,
        project_id: str,
        *,
        title: str | None = None,
        append_notes: str | None = None,
        when: str | None = None,
        deadline: str | None = None,
        add_tags: Sequence[str] | None = None,
        area_id: str | None = None,
        completed: bool = False,
        canceled: bool = False,
    ) -> WriteResult:
        request = UpdateProject.parse(
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
        return project_writes.update_project(self._require_writer(), request, self.reader)

    def show(self, item_id: str) -> WriteResult:
        """Ask Things to show an item (by id) or a built-in list (inbox, today, …); nothing changes."""
        target = project_writes.parse_show_target(item_id)
        return project_writes.show(self._require_writer(), target, self.reader)

    # -- approval prompts -----------------------------------------------------------------------

    def summarize(self, tool_name: str, args: Mapping[str, Any]) -> str:
        """A one-line human summary of a call, for the approval prompt; never raises on bad input."""
        return summarize(tool_name, args)
