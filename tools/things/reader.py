"""Read-only queries over an open Things database connection.

Set-based throughout: a page of results costs a fixed number of queries (count, page, tags,
checklists), whatever the number of projects or items. Items whose project or heading is trashed
are hidden everywhere except the Trash; repeating templates are hidden from lists.

SQL text here is assembled only from constants and ``?`` placeholder lists; every value is bound.
"""

# ruff: noqa: S608 - see the docstring: no value is ever formatted into SQL

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, tzinfo
from typing import Any

from pydantic import TypeAdapter

from tools.things import validation
from tools.things.database import database_error
from tools.things.datefilter import NO_DATES, ORDERS, DateFilter, Order
from tools.things.dates import decode_packed_date, decode_reminder_time, encode_packed_date, epoch_to_datetime
from tools.things.errors import NotFoundError
from tools.things.ids import require_id
from tools.things.lists import DEFAULT_ORDER, LIST_ORDER, LIST_PREDICATES, PROJECT_DEFERRED, ListFields, classify
from tools.things.models import Area, ListId, ListItem, Page, Project, Ref, Status, Tag, Todo
from tools.things.secret import AuthToken
from tools.things.snapshot import ListSnapshots
from tools.things.store import SETTINGS_ROW_ID, TYPE_PROJECT, TYPE_TODO

_STATUS_CODES: dict[Status, int] = {"open": 0, "canceled": 2, "completed": 3}
_STATUS_NAMES: dict[int, Status] = {0: "open", 2: "canceled", 3: "completed"}

_FROM = """
FROM TMTask t
LEFT JOIN TMTask h ON h.uuid = t.heading
LEFT JOIN TMTask p ON p.uuid = COALESCE(t.project, h.project)
LEFT JOIN TMArea a ON a.uuid = COALESCE(t.area, p.area)
"""
_VISIBLE = "COALESCE(p.trashed, 0) = 0 AND COALESCE(h.trashed, 0) = 0"
_COLUMNS = f"""
t.uuid, t.title, t.notes, t.status, t.trashed, t.start, t.startDate, t.startBucket, t.reminderTime,
t.deadline, t.deadlineSuppressionDate, t.creationDate, t.userModificationDate, t.stopDate,
t.rt1_repeatingTemplate IS NOT NULL OR t.rt1_recurrenceRule IS NOT NULL, t.rt1_recurrenceRule IS NOT NULL,
p.uuid, p.title, h.uuid, h.title, a.uuid, a.title, COALESCE(p.trashed, 0) OR COALESCE(h.trashed, 0),
{PROJECT_DEFERRED}, t.type, t.area IS NULL AND p.area IS NOT NULL
"""


@dataclass(frozen=True, slots=True)
class TodoFilter:
    """Validated filters shared by to-do and project listings."""

    list: ListId | None = None
    project_id: str | None = None
    area_id: str | None = None
    tag: str | None = None
    status: Status | None = None
    query: str | None = None
    dates: DateFilter = NO_DATES
    order: Order | None = None

    @classmethod
    def parse(
        cls,
        *,
        list: str | None = None,
        project_id: str | None = None,
        area_id: str | None = None,
        tag: str | None = None,
        status: str | None = None,
        query: str | None = None,
        dates: DateFilter | None = None,
        order: Order | None = None,
    ) -> TodoFilter:
        return cls(
            list=validation.list_id(list),
            project_id=None if project_id is None else require_id(project_id, "project_id"),
            area_id=None if area_id is None else require_id(area_id, "area_id"),
            tag=None if tag is None else validation.tag_name(tag),
            status=validation.status(status),
            query=validation.search_text(query),
            dates=dates or NO_DATES,
            order=order,
        )


def _text(value: object) -> str:
    """A TEXT column as ``str`` (NULL is empty); models built from rows skip re-validation, so coerce here."""
    if isinstance(value, str):
        return value
    return "" if value is None else str(value)


def _ref(item_id: object, title: object) -> dict[str, str] | None:
    return {"id": _text(item_id), "title": _text(title)} if item_id else None


# Validating a whole page in one call runs in pydantic-core: several times faster than building models
# one by one, and every item is still checked against the schema clients see.
_TODOS: TypeAdapter[list[Todo]] = TypeAdapter(list[Todo])


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _placeholders(count: int) -> str:
    return ", ".join("?" for _ in range(count))


class ThingsReader:
    """Queries over one read-only connection; ``today`` and ``tz`` come from the caller's clock."""

    def __init__(
        self, conn: sqlite3.Connection, *, today: date, tz: tzinfo, snapshots: ListSnapshots | None = None
    ) -> None:
        self._conn = conn
        self._snapshots = snapshots
        self._today_packed = encode_packed_date(today)
        self._tz = tz

    # -- plumbing -------------------------------------------------------------------------------

    def _rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            raise database_error(exc) from exc

    def _where(self, f: TodoFilter, item_types: tuple[int, ...]) -> tuple[str, dict[str, Any]]:
        types = ", ".join(str(int(t)) for t in item_types)
        clauses = [f"t.type IN ({types})", "t.rt1_recurrenceRule IS NULL"]
        params: dict[str, Any] = {"today": self._today_packed}
        if f.list == "trash":
            clauses.append(f"(t.trashed = 1 OR NOT ({_VISIBLE}))")
        else:
            clauses.append(_VISIBLE)
            clauses.append("t.trashed = 0")
            if f.list is not None:
                clauses.append(LIST_PREDICATES[f.list])
        if f.status is not None:
            clauses.append("t.status = :status")
            params["status"] = _STATUS_CODES[f.status]
        if f.project_id is not None:
            clauses.append("p.uuid = :project")
            params["project"] = f.project_id
        if f.area_id is not None:
            clauses.append("a.uuid = :area")
            params["area"] = f.area_id
        if f.tag is not None:
            clauses.append(
                "EXISTS (SELECT 1 FROM TMTaskTag tt JOIN TMTag g ON g.uuid = tt.tags"
                " WHERE tt.tasks = t.uuid AND g.title = :tag)"
            )
            params["tag"] = f.tag
        if f.query is not None:
            clauses.append("(t.title LIKE :q ESCAPE '\\' OR t.notes LIKE :q ESCAPE '\\')")
            params["q"] = _like(f.query)
        date_clauses, date_params = f.dates.sql(self._tz)
        clauses += date_clauses
        params.update(date_params)
        return " AND ".join(clauses), params

    def _require_exists(self, table: str, item_id: str, kind: str, item_type: int | None = None) -> None:
        sql = f"SELECT 1 FROM {table} WHERE uuid = ?"
        if item_type is not None:
            sql += f" AND type = {item_type}"
        if not self._rows(sql, (item_id,)):
            raise NotFoundError(kind, item_id)

    def _tags_by_task(self, ids: Sequence[str]) -> dict[str, list[str]]:
        tags: dict[str, list[str]] = defaultdict(list)
        if ids:
            rows = self._rows(
                "SELECT tt.tasks, g.title FROM TMTaskTag tt JOIN TMTag g ON g.uuid = tt.tags"
                f' WHERE tt.tasks IN ({_placeholders(len(ids))}) ORDER BY g."index", g.title',
                ids,
            )
            for task_id, title in rows:
                tags[task_id].append(_text(title))
        return tags

    def _checklists(self, ids: Sequence[str]) -> dict[str, list[dict[str, str]]]:
        items: dict[str, list[dict[str, str]]] = defaultdict(list)
        if ids:
            rows = self._rows(
                "SELECT task, uuid, title, status FROM TMChecklistItem"
                f' WHERE task IN ({_placeholders(len(ids))}) ORDER BY task, "index"',
                ids,
            )
            for task_id, uuid, title, status in rows:
                items[task_id].append(
                    {"id": _text(uuid), "title": _text(title), "status": _STATUS_NAMES.get(status, "open")}
                )
        return items

    def _list_of(self, row: tuple[Any, ...]) -> ListId | None:
        if row[15]:  # repeating template: lives in no list
            return None
        fields = ListFields(
            status=row[3],
            trashed=bool(row[4]) or bool(row[22]),
            start=row[5],
            start_date=row[6],
            deadline=row[9],
            deadline_suppressed=row[10] is not None,
            project_deferred=bool(row[23]),
        )
        return classify(fields, self._today_packed)

    def _todos(self, rows: list[tuple[Any, ...]]) -> list[Todo]:
        ids = [row[0] for row in rows]
        tags = self._tags_by_task(ids)
        checklists = self._checklists(ids)
        return _TODOS.validate_python(
            [
                dict(
                    id=_text(row[0]),
                    title=_text(row[1]),
                    notes=_text(row[2]),
                    status=_STATUS_NAMES.get(row[3], "open"),
                    list=self._list_of(row),
                    tags=tags.get(row[0], []),
                    project=_ref(row[16], row[17]),
                    area=_ref(row[20], row[21]),
                    heading=_ref(row[18], row[19]),
                    area_inherited=bool(row[25]),
                    checklist=checklists.get(row[0], []),
                    start_date=decode_packed_date(row[6]),
                    deadline=decode_packed_date(row[9]),
                    reminder=decode_reminder_time(row[8]),
                    created=epoch_to_datetime(row[11], self._tz),
                    modified=epoch_to_datetime(row[12], self._tz),
                    completed=epoch_to_datetime(row[13], self._tz) if row[3] != 0 else None,
                    repeating=bool(row[14]),
                    evening=row[7] == 1,
                )
                for row in rows
            ]
        )

    def _page(self, f: TodoFilter, item_types: tuple[int, ...], limit: int, offset: int) -> tuple[list[Any], int]:
        """One page and the total. A first page is a count and a LIMIT query; paging on fetches the whole
        ordered list once into a snapshot and every page (the first one again too) slices it."""
        where, params = self._where(f, item_types)
        order = ORDERS[f.order] if f.order is not None else LIST_ORDER[f.list] if f.list is not None else DEFAULT_ORDER
        select = f"SELECT {_COLUMNS} {_FROM} WHERE {where} ORDER BY {order}"
        if self._snapshots is not None:
            key = (select, tuple(sorted(params.items())))
            stamp = self._snapshots.current_stamp()  # taken first: a write during the read makes it stale
            rows = self._snapshots.get(key, stamp)
            if rows is None and offset > 0:  # paging on: scan and sort the whole list once
                rows = self._rows(select, params)
                self._snapshots.put(key, stamp, rows)
            if rows is not None:
                return rows[offset : offset + limit], len(rows)
        self._rows("BEGIN")  # one snapshot for the count and the page
        try:
            total = self._rows(f"SELECT COUNT(*) {_FROM} WHERE {where}", params)[0][0]
            rows = self._rows(f"{select} LIMIT :limit OFFSET :offset", {**params, "limit": limit, "offset": offset})
        finally:
            self._rows("COMMIT")
        return rows, int(total)

    # -- to-dos ---------------------------------------------------------------------------------

    def list_todos(self, f: TodoFilter, *, limit: int | None = None, offset: int | None = None) -> Page[Todo]:
        lim, off = validation.page_limit(limit), validation.page_offset(offset)
        if f.project_id is not None:
            self._require_exists("TMTask", f.project_id, "project", TYPE_PROJECT)
        if f.area_id is not None:
            self._require_exists("TMArea", f.area_id, "area")
        rows, total = self._page(f, (TYPE_TODO,), lim, off)
        return Page[Todo](items=self._todos(rows), total=total, limit=lim, offset=off)

    def list_view(self, f: TodoFilter, *, limit: int | None = None, offset: int | None = None) -> Page[ListItem]:
        """To-dos and projects together (a built-in list as the app shows it, deadlines, recent items)."""
        lim, off = validation.page_limit(limit), validation.page_offset(offset)
        if f.project_id is not None:
            self._require_exists("TMTask", f.project_id, "project", TYPE_PROJECT)
        if f.area_id is not None:
            self._require_exists("TMArea", f.area_id, "area")
        rows, total = self._page(f, (TYPE_TODO, TYPE_PROJECT), lim, off)
        return Page[ListItem](items=self._mixed(rows), total=total, limit=lim, offset=off)

    def _mixed(self, rows: list[tuple[Any, ...]]) -> list[ListItem]:
        todos = iter(self._todos([r for r in rows if r[24] == TYPE_TODO]))
        projects = iter(self._projects([r for r in rows if r[24] == TYPE_PROJECT]))
        return [next(projects) if r[24] == TYPE_PROJECT else next(todos) for r in rows]

    def _by_id(self, item_id: str, item_type: int) -> list[tuple[Any, ...]]:
        return self._rows(
            f"SELECT {_COLUMNS} {_FROM} WHERE t.uuid = :id AND t.type = {item_type}",
            {"id": item_id, "today": self._today_packed},
        )

    def get_todo(self, todo_id: str) -> Todo:
        require_id(todo_id, "id")
        rows = self._by_id(todo_id, TYPE_TODO)
        if not rows:
            raise NotFoundError("to-do", todo_id)
        return self._todos(rows)[0]

    # -- projects -------------------------------------------------------------------------------

    def _projects(self, rows: list[tuple[Any, ...]]) -> list[Project]:
        ids = [row[0] for row in rows]
        tags = self._tags_by_task(ids)
        headings: dict[str, list[Ref]] = defaultdict(list)
        counts: dict[str, tuple[int, int]] = {}
        if ids:
            marks = _placeholders(len(ids))
            for project_id, uuid, title in self._rows(
                f"SELECT project, uuid, title FROM TMTask WHERE type = 2 AND trashed = 0"
                f' AND project IN ({marks}) ORDER BY "index"',
                ids,
            ):
                headings[project_id].append(Ref(id=uuid, title=title or ""))
            # Two index lookups (to-dos filed directly, to-dos under the project's live headings) instead
            # of one OR over every task, which scanned the whole table.
            live_todo = "t.type = 0 AND t.trashed = 0 AND t.rt1_recurrenceRule IS NULL"
            for project_id, total, open_count in self._rows(
                f"SELECT t.project, COUNT(*), SUM(t.status = 0) FROM TMTask t"
                f" WHERE t.project IN ({marks}) AND +t.heading IS NULL AND {live_todo} GROUP BY t.project"
                " UNION ALL"
                " SELECT h.project, COUNT(*), SUM(t.status = 0) FROM TMTask h JOIN TMTask t ON t.heading = h.uuid"
                f" WHERE h.project IN ({marks}) AND h.type = 2 AND h.trashed = 0 AND {live_todo}"
                " AND (t.project IS NULL OR t.project = h.project)"
                " GROUP BY h.project",
                [*ids, *ids],
            ):
                before = counts.get(project_id, (0, 0))
                counts[project_id] = (before[0] + int(total), before[1] + int(open_count or 0))
        return [
            Project(
                id=row[0],
                title=row[1] or "",
                notes=row[2] or "",
                status=_STATUS_NAMES.get(row[3], "open"),
                list=self._list_of(row),
                tags=tags.get(row[0], []),
                area=Ref(id=row[20], title=row[21] or "") if row[20] else None,
                headings=headings.get(row[0], []),
                start_date=decode_packed_date(row[6]),
                deadline=decode_packed_date(row[9]),
                reminder=decode_reminder_time(row[8]),
                created=epoch_to_datetime(row[11], self._tz),
                modified=epoch_to_datetime(row[12], self._tz),
                completed=epoch_to_datetime(row[13], self._tz) if row[3] != 0 else None,
                repeating=bool(row[14]),
                evening=row[7] == 1,
                todo_count=counts.get(row[0], (0, 0))[0],
                open_todo_count=counts.get(row[0], (0, 0))[1],
            )
            for row in rows
        ]

    def list_projects(self, f: TodoFilter, *, limit: int | None = None, offset: int | None = None) -> Page[Project]:
        lim, off = validation.page_limit(limit), validation.page_offset(offset)
        if f.area_id is not None:
            self._require_exists("TMArea", f.area_id, "area")
        if f.status is None and f.list is None:
            f = replace(f, status="open")  # the app's project lists show open projects
        rows, total = self._page(f, (TYPE_PROJECT,), lim, off)
        return Page[Project](items=self._projects(rows), total=total, limit=lim, offset=off)

    def get_project(self, project_id: str) -> Project:
        require_id(project_id, "id")
        rows = self._by_id(project_id, TYPE_PROJECT)
        if not rows:
            raise NotFoundError("project", project_id)
        return self._projects(rows)[0]

    # -- areas, tags ----------------------------------------------------------------------------

    def _areas(self, rows: list[tuple[Any, ...]]) -> list[Area]:
        ids = [row[0] for row in rows]
        tags: dict[str, list[str]] = defaultdict(list)
        if ids:
            for area_id, title in self._rows(
                "SELECT at.areas, g.title FROM TMAreaTag at JOIN TMTag g ON g.uuid = at.tags"
                f' WHERE at.areas IN ({_placeholders(len(ids))}) ORDER BY g."index", g.title',
                ids,
            ):
                tags[area_id].append(title)
        return [Area(id=row[0], title=row[1] or "", tags=tags.get(row[0], [])) for row in rows]

    def list_areas(self) -> list[Area]:
        return self._areas(self._rows('SELECT uuid, title FROM TMArea ORDER BY "index", uuid'))

    def get_area(self, area_id: str) -> Area:
        require_id(area_id, "id")
        rows = self._rows("SELECT uuid, title FROM TMArea WHERE uuid = ?", (area_id,))
        if not rows:
            raise NotFoundError("area", area_id)
        return self._areas(rows)[0]

    def list_tags(self) -> list[Tag]:
        rows = self._rows(
            "SELECT g.uuid, g.title, g.shortcut, parent.uuid, parent.title FROM TMTag g"
            ' LEFT JOIN TMTag parent ON parent.uuid = g.parent ORDER BY g."index", g.title'
        )
        return [
            Tag(
                id=uuid,
                title=title or "",
                shortcut=shortcut or None,
                parent=Ref(id=parent_id, title=parent_title or "") if parent_id else None,
            )
            for uuid, title, shortcut, parent_id, parent_title in rows
        ]

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only query built from constants; every value bound (for ``tools.things.catalog``)."""
        return self._rows(sql, params)

    # -- support for writes ---------------------------------------------------------------------

    def task_summary(self, task_id: str) -> tuple[int, int, bool, float | None] | None:
        """``(type, status, hidden, userModificationDate)`` of a task, or ``None``."""
        rows = self._rows(
            f"SELECT t.type, t.status, t.trashed = 1 OR NOT ({_VISIBLE}), t.userModificationDate {_FROM}"
            " WHERE t.uuid = ?",
            (task_id,),
        )
        if not rows:
            return None
        kind, status, hidden, modified = rows[0]
        return int(kind), int(status), bool(hidden), modified

    def task_ids_titled(self, title: str, item_type: int) -> set[str]:
        return {r[0] for r in self._rows("SELECT uuid FROM TMTask WHERE title = ? AND type = ?", (title, item_type))}

    def item_title(self, item_id: str) -> str | None:
        """The title of the to-do, project, heading, area or tag with this id, or ``None``."""
        for table in ("TMTask", "TMArea", "TMTag"):
            rows = self._rows(f"SELECT title FROM {table} WHERE uuid = ?", (item_id,))
            if rows:
                return _text(rows[0][0])
        return None

    def area_exists(self, area_id: str) -> bool:
        return bool(self._rows("SELECT 1 FROM TMArea WHERE uuid = ?", (area_id,)))

    def heading_project(self, heading_id: str) -> str | None:
        """The project a live heading belongs to, or ``None`` if there is no such heading."""
        rows = self._rows("SELECT project FROM TMTask WHERE uuid = ? AND type = 2 AND trashed = 0", (heading_id,))
        return rows[0][0] if rows else None

    def read_auth_token(self) -> AuthToken | None:
        """The URL-scheme auth token from ``TMSettings``; ``None`` if Things has none configured."""
        rows = self._rows("SELECT uriSchemeAuthenticationToken FROM TMSettings WHERE uuid = ?", (SETTINGS_ROW_ID,))
        if not rows or not rows[0][0]:
            rows = self._rows(
                "SELECT uriSchemeAuthenticationToken FROM TMSettings WHERE uriSchemeAuthenticationToken != '' LIMIT 1"
            )
        return AuthToken(rows[0][0]) if rows and rows[0][0] else None
