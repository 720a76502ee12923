"""The Trash holds exactly the tasks trashed themselves or through their project, heading or heading's project."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.things.conftest import TODAY, FakeClock, make_service, noon
from tools.things.sample import generate
from tools.things.store import TYPE_HEADING, TYPE_PROJECT

# The definition, joined task by task (as the reader once queried it).
BY_DEFINITION = """
SELECT t.uuid FROM TMTask t
LEFT JOIN TMTask h ON h.uuid = t.heading
LEFT JOIN TMTask p ON p.uuid = COALESCE(t.project, h.project)
WHERE t.type = 0 AND t.rt1_recurrenceRule IS NULL
AND (t.trashed = 1 OR NOT (COALESCE(p.trashed, 0) = 0 AND COALESCE(h.trashed, 0) = 0))
"""


def _trash_a_project_with_a_heading(conn: sqlite3.Connection) -> str:
    """A live project whose heading holds to-dos (filed under the heading only, as Things files them)."""
    project, heading = conn.execute(
        "SELECT p.uuid, h.uuid FROM TMTask p JOIN TMTask h ON h.project = p.uuid AND h.type = ?"
        " WHERE p.type = ? AND p.trashed = 0 AND EXISTS (SELECT 1 FROM TMTask t WHERE t.heading = h.uuid)",
        (TYPE_HEADING, TYPE_PROJECT),
    ).fetchone()
    conn.execute("UPDATE TMTask SET project = NULL WHERE heading = ?", (heading,))
    conn.execute("UPDATE TMTask SET trashed = 1 WHERE uuid = ?", (project,))
    return str(heading)


@pytest.mark.parametrize("case", ["sample as generated", "project with a heading trashed", "heading trashed"])
def test_the_trash_is_every_task_hidden_by_itself_or_a_container(tmp_path: Path, case: str) -> None:
    sample = generate(tmp_path / "main.sqlite", todos=300, today=TODAY, seed=11)
    with closing(sqlite3.connect(sample.path)) as conn, conn:
        if case == "project with a heading trashed":
            _trash_a_project_with_a_heading(conn)
        elif case == "heading trashed":
            conn.execute(
                "UPDATE TMTask SET trashed = 1 WHERE uuid ="
                " (SELECT heading FROM TMTask WHERE heading IS NOT NULL AND trashed = 0 LIMIT 1)"
            )
        expected = {row[0] for row in conn.execute(BY_DEFINITION)}
    service = make_service(sample.path, FakeClock(noon(TODAY)))
    page = service.list_todos(list="trash", limit=500)
    assert page.total == len(page.items) == len(expected)
    assert {t.id for t in page.items} == expected
    assert all(t.list == "trash" for t in page.items)
    others = {
        t.id for list_id in ("inbox", "anytime", "someday") for t in service.list_todos(list=list_id, limit=500).items
    }
    assert not others & expected
