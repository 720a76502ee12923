"""Reads about the structure of the library rather than its items: headings and tag usage."""

# ruff: noqa: S608 - SQL here is built from constants and placeholder lists; every value is bound

from __future__ import annotations

from tools.things.errors import NotFoundError
from tools.things.ids import require_id
from tools.things.models import Heading, Ref, TagUsage
from tools.things.reader import ThingsReader
from tools.things.store import TYPE_PROJECT


def list_headings(reader: ThingsReader, project_id: str | None = None) -> list[Heading]:
    """Live headings of live projects (one project's, or all), in the app's order, with open to-do counts."""
    params: list[str] = []
    where = "h.type = 2 AND h.trashed = 0 AND p.trashed = 0 AND p.status = 0"
    if project_id is not None:
        require_id(project_id, "project_id")
        if not reader.query(f"SELECT 1 FROM TMTask WHERE uuid = ? AND type = {TYPE_PROJECT}", (project_id,)):
            raise NotFoundError("project", project_id)
        where += " AND p.uuid = ?"
        params.append(project_id)
    rows = reader.query(
        "SELECT h.uuid, h.title, p.uuid, p.title,"
        " (SELECT COUNT(*) FROM TMTask t WHERE t.heading = h.uuid AND t.type = 0 AND t.trashed = 0"
        "  AND t.status = 0 AND t.rt1_recurrenceRule IS NULL)"
        f' FROM TMTask h JOIN TMTask p ON p.uuid = h.project WHERE {where} ORDER BY p."index", h."index", h.uuid',
        params,
    )
    return [
        Heading(
            id=uuid,
            title=title or "",
            project=Ref(id=pid, title=ptitle or ""),
            open_todo_count=int(count),
        )
        for uuid, title, pid, ptitle, count in rows
    ]


def headings_titled(reader: ThingsReader, project_id: str, title: str) -> list[str]:
    """Ids of the live headings of ``project_id`` with exactly this title."""
    rows = reader.query(
        "SELECT uuid FROM TMTask WHERE type = 2 AND trashed = 0 AND project = ? AND title = ?", (project_id, title)
    )
    return [r[0] for r in rows]


def tag_usage(reader: ThingsReader) -> list[TagUsage]:
    """Every tag with the number of open and of all (not trashed) to-dos and projects carrying it, most used first."""
    rows = reader.query(
        "SELECT g.uuid, g.title, COALESCE(SUM(t.status = 0), 0), COUNT(t.uuid) FROM TMTag g"
        " LEFT JOIN TMTaskTag tt ON tt.tags = g.uuid"
        " LEFT JOIN TMTask t ON t.uuid = tt.tasks AND t.trashed = 0 AND t.type IN (0, 1)"
        " AND t.rt1_recurrenceRule IS NULL"
        ' GROUP BY g.uuid ORDER BY 3 DESC, 4 DESC, g."index", g.title'
    )
    return [
        TagUsage(id=uuid, title=title or "", open_count=int(open_count), total_count=int(total))
        for uuid, title, open_count, total in rows
    ]
