"""Writing Things-shaped rows into a SQLite file with the real Things schema.

Used by the sample generator, the Linux stand-in for the Things app and tests. Nothing here ever
touches the user's real Things database: Things owns that file and is only written through its URL
scheme.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields
from importlib import resources
from pathlib import Path

SETTINGS_ROW_ID = "RhAzEf6qDxCD5PmnZVtBZR"
DATABASE_VERSION = 24  # the version of the schema in schema.sql

TYPE_TODO = 0
TYPE_PROJECT = 1
TYPE_HEADING = 2
STATUS_OPEN = 0
STATUS_CANCELED = 2
STATUS_COMPLETED = 3
START_INBOX = 0
START_ANYTIME = 1
START_SOMEDAY = 2


def schema_sql() -> str:
    """The structure of a real Things 3 database (see ``schema.sql``)."""
    return resources.files("tools.things").joinpath("schema.sql").read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class TaskRow:
    """One ``TMTask`` row; field names match the columns written."""

    uuid: str  # field names are the TMTask column names
    title: str
    type: int = TYPE_TODO
    status: int = STATUS_OPEN
    trashed: int = 0
    notes: str = ""
    start: int = START_INBOX
    startDate: int | None = None
    startBucket: int = 0
    reminderTime: int | None = None
    deadline: int | None = None
    deadlineSuppressionDate: int | None = None
    index: int = 0
    todayIndex: int = 0
    area: str | None = None
    project: str | None = None
    heading: str | None = None
    creationDate: float | None = None
    userModificationDate: float | None = None
    stopDate: float | None = None
    rt1_repeatingTemplate: str | None = None
    rt1_recurrenceRule: bytes | None = None
    rt1_instanceCreationStartDate: int | None = None
    rt1_nextInstanceStartDate: int | None = None


_TASK_COLUMNS = [f.name for f in fields(TaskRow)]
# Column names come from TaskRow; values are bound.
_INSERT_TASK = (
    "INSERT INTO TMTask ("  # noqa: S608
    + ", ".join(f'"{c}"' for c in _TASK_COLUMNS)
    + ") VALUES ("
    + ", ".join("?" for _ in _TASK_COLUMNS)
    + ")"
)


def create_database(
    path: Path, *, auth_token: str, database_version: int = DATABASE_VERSION, journal_mode: str = "wal"
) -> None:
    """Create an empty Things database at ``path`` (mode 0600) with settings and version rows.

    Things keeps its database in WAL mode, so the default is WAL; ``journal_mode="delete"`` gives the
    rollback journal some fault tests need.
    """
    if journal_mode not in ("wal", "delete"):
        raise ValueError("journal_mode must be 'wal' or 'delete'")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)
    conn = sqlite3.connect(path)
    try:
        conn.execute(f"PRAGMA journal_mode = {journal_mode}")
        conn.executescript(schema_sql())
        with conn:
            conn.execute(
                "INSERT INTO Meta (key, value) VALUES ('databaseVersion', ?)",
                (f'<?xml version="1.0"?><plist version="1.0"><integer>{database_version}</integer></plist>',),
            )
            conn.execute(
                "INSERT INTO TMSettings (uuid, logInterval, groupTodayByParent, uriSchemeAuthenticationToken)"
                " VALUES (?, 0, 0, ?)",
                (SETTINGS_ROW_ID, auth_token),
            )
    finally:
        conn.close()


def insert_tasks(conn: sqlite3.Connection, rows: Iterable[TaskRow]) -> None:
    conn.executemany(_INSERT_TASK, (astuple(row) for row in rows))


def insert_areas(conn: sqlite3.Connection, rows: Iterable[tuple[str, str, int]]) -> None:
    """Rows of ``(uuid, title, index)``."""
    conn.executemany('INSERT INTO TMArea (uuid, title, visible, "index") VALUES (?, ?, 1, ?)', rows)


def insert_tags(conn: sqlite3.Connection, rows: Iterable[tuple[str, str, str | None, str | None, int]]) -> None:
    """Rows of ``(uuid, title, shortcut, parent uuid, index)``."""
    conn.executemany('INSERT INTO TMTag (uuid, title, shortcut, parent, "index") VALUES (?, ?, ?, ?, ?)', rows)


def insert_task_tags(conn: sqlite3.Connection, rows: Iterable[tuple[str, str]]) -> None:
    """Rows of ``(task uuid, tag uuid)``."""
    conn.executemany("INSERT INTO TMTaskTag (tasks, tags) VALUES (?, ?)", rows)


def insert_area_tags(conn: sqlite3.Connection, rows: Iterable[tuple[str, str]]) -> None:
    """Rows of ``(area uuid, tag uuid)``."""
    conn.executemany("INSERT INTO TMAreaTag (areas, tags) VALUES (?, ?)", rows)


def insert_checklist_items(
    conn: sqlite3.Connection, rows: Iterable[tuple[str, str, str, int, int, float, float | None]]
) -> None:
    """Rows of ``(uuid, task uuid, title, status, index, creationDate, stopDate)``."""
    conn.executemany(
        'INSERT INTO TMChecklistItem (uuid, task, title, status, "index", creationDate,'
        " userModificationDate, stopDate, leavesTombstone) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
        ((u, t, title, s, i, c, c, stop) for (u, t, title, s, i, c, stop) in rows),
    )
