"""Read-only queries over an open Things database connection.

Set-based throughout: a page of results costs a fixed number of queries (the list's order, scanned
once while the database is unchanged; the page's rows by rowid; their tags; their checklists), whatever
the number of projects or items. Rows become models in ``tools.things.rows``. Items whose project or heading is trashed
are hidden everywhere except the Trash; repeating templates are hidden from lists.

SQL text here is assembled only from constants and placeholder lists; every value is bound.
"""

# ruff: noqa: S608 - see the docstring: no value is ever formatted into SQL

from __future__ import annotations

import functools
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, tzinfo
from typing import Any

from tools.things import validation
from tools.things.database import database_error
from tools.things.datefilter import NO_DATES, ORDERS, DateFilter, Order
from tools.things.dates import encode_packed_date
from tools.things.errors import NotFoundError
from tools.things.ids import require_id
from tools.things.lists import DEFAULT_ORDER, LIST_ORDER, LIST_PREDICATES
from tools.things.models import Area, ChecklistItem, ListId, ListItem, Page, Project, Ref, Status, Tag, Todo
from tools.things.rows import COLUMNS, ID, ROWID, Row, RowDecoder, checklist_items, text
from tools.things.secret import AuthToken
from tools.things.snapshot import ListSnapshots
from tools.things.store import SETTINGS_ROW_ID, TYPE_PROJECT, TYPE_TODO

_STATUS_CODES: dict[Status, int] = {"open": 0, "canceled": 2, "completed": 3}

_FROM = """
FROM TMTask t
LEFT JOIN TMTask h ON h.uuid = t.heading
LEFT JOIN TMTask p ON p.uuid = COALESCE(t.project, h.project)
LEFT JOIN TMArea a ON a.uuid = COALESCE(t.area, p.area)
"""
_VISIBLE = "COALESCE(p.trashed, 0) = 0 AND COALESCE(h.trashed, 0) = 0"
# The Trash: ``t.trashed = 1 OR NOT (_VISIBLE)`` (a task trashed itself, or its project or heading is, or the
# project of its heading when it has no project of its own), found from the trashed rows, which are few:
# one scan of the table for them, then the tasks under them by the project and heading indexes, instead of
# joining every task of the library to its heading and project. In the last part ``+x.project`` keeps
# SQLite off the project index: ``project IS NULL`` matches most of the library (every to-do outside a
# project), while the headings of trashed projects hold few to-dos (3.1 -> 2.1 ms on 10 000 to-dos).
_IN_TRASH = """t.rowid IN (
WITH trashed(id, uuid, flag) AS (SELECT rowid, uuid, trashed FROM TMTask WHERE trashed != 0)
SELECT id FROM trashed WHERE flag = 1
UNION ALL SELECT x.rowid FROM TMTask x WHERE x.project IN (SELECT uuid FROM trashed)
UNION ALL SELECT x.rowid FROM TMTask x WHERE x.heading IN (SELECT uuid FROM trashed)
UNION ALL SELECT x.rowid FROM TMTask x
  WHERE +x.project IS NULL AND x.heading IN (SELECT uuid FROM TMTask WHERE project IN (SELECT uuid FROM trashed))
)"""


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


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@functools.cache
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
        self._decoder = RowDecoder(self._today_packed, tz)

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
            clauses.append(_IN_TRASH)
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
                tags[task_id].append(text(title))
        return tags

    def _checklists(self, ids: Sequence[str]) -> dict[str, list[ChecklistItem]]:
        if not ids:
            return {}
        return checklist_items(
            self._rows(
                "SELECT task, uuid, title, status FROM TMChecklistItem"
                f' WHERE task IN ({_placeholders(len(ids))}) ORDER BY task, "index"',
                ids,
            )
        )

    def _todos(self, rows: Sequence[Row]) -> list[Todo]:
        ids = [row[ID] for row in rows]
        return self._decoder.todos(rows, self._tags_by_task(ids), self._checklists(ids))

    def _ordered_ids(self, scan: str, params: dict[str, Any]) -> list[int]:
        return [row[0] for row in self._rows(scan, params)]

    def _fetch(self, rowids: Sequence[int]) -> list[Row]:
        """The rows with these rowids, in this order."""
        if not rowids:
            return []
        fetched = self._rows(
            f"SELECT {COLUMNS} {_FROM} WHERE t.rowid IN ({_placeholders(len(rowids))})",
            (self._today_packed, *rowids),
        )
        by_rowid = {row[ROWID]: row for row in fetched}
        return [by_rowid[rowid] for rowid in rowids if rowid in by_rowid]

    def _page(self, f: TodoFilter, item_types: tuple[int, ...], limit: int, offset: int) -> tuple[list[Row], int]:
        """One page and the total.

        The list is scanned and sorted once into its ordered rowids (a snapshot, kept while the database
        is unchanged); each page fetches its own rows by rowid. Both reads run in one read transaction,
        and the database stamp is checked around it, so a page never mixes the order of one state of
        the database with the rows of another.
        """
        where, params = self._where(f, item_types)
        order = ORDERS[f.order] if f.order is not None else LIST_ORDER[f.list] if f.list is not None else DEFAULT_ORDER
        scan = f"SELECT t.rowid {_FROM} WHERE {where} ORDER BY {order}"
        snapshots = self._snapshots
        key = (scan, tuple(sorted(params.items())))
        stamp = snapshots.current_stamp() if snapshots is not None else None
        ids = snapshots.get(key, stamp) if snapshots is not None else None
        self._rows("BEGIN")
        try:
            scanned = ids is None
            if ids is None:
                ids = self._ordered_ids(scan, params)
            rows = self._fetch(ids[offset : offset + limit])
            if snapshots is not None:
                if snapshots.current_stamp() != stamp:
                    # Written meanwhile: this transaction may see a newer state than the cached order.
                    if not scanned:
                        ids = self._ordered_ids(scan, params)
                        rows = self._fetch(ids[offset : offset + limit])
                elif scanned:
                    snapshots.put(key, stamp, ids)
        finally:
            self._rows("COMMIT")
        return rows, len(ids)

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

    def _by_id(self, item_id: str, item_type: int) -> list[Row]:
        return self._rows(
            f"SELECT {COLUMNS} {_FROM} WHERE t.uuid = ? AND t.type = {item_type}", (self._today_packed, item_id)
        )

    def get_todo(self, todo_id: str) -> Todo:
        require_id(todo_id, "id")
        rows = self._by_id(todo_id, TYPE_TODO)
        if not rows:
            raise NotFoundError("to-do", todo_id)
        return self._todos(rows)[0]

    # -- projects -------------------------------------------------------------------------------

    def _projects(self, rows: Sequence[Row]) -> list[Project]:
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
        return self._decoder.projects(rows, tags, headings, counts)

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
                return text(rows[0][0])
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
