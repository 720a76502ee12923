"""``SampleDatabaseThingsApp``: a stand-in for the Things app on Linux.

It receives the same ``things:///`` URLs the macOS opener would send and applies them to a sample
database the way Things does: a new uuid and ``creationDate`` for adds, ``userModificationDate`` on
every change, ``update`` refused unless ``auth-token`` matches ``TMSettings``, unknown tags ignored,
``when`` mapped onto ``start``/``startDate``/``startBucket``. Like Things, it reports nothing back:
refusals land in ``errors`` (never with the token), for tests to inspect.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from tools.things.dates import encode_packed_date, encode_reminder_time, local_today
from tools.things.errors import ThingsError
from tools.things.ids import is_valid_id, new_id
from tools.things.secret import AuthToken
from tools.things.store import (
    START_ANYTIME,
    START_INBOX,
    START_SOMEDAY,
    STATUS_CANCELED,
    STATUS_COMPLETED,
    TYPE_PROJECT,
    TYPE_TODO,
    TaskRow,
    insert_checklist_items,
    insert_task_tags,
    insert_tasks,
)
from tools.things.urlscheme import When, parse_url, parse_when


class StandInRefusal(ThingsError):
    """A URL the real Things would accept but not act on as asked; the stand-in refuses it outright."""

    code = "stand_in_refusal"


class SampleDatabaseThingsApp:
    """Applies Things URLs to the sample database at ``path`` (a test double for the Things app)."""

    def __init__(self, path: Path, clock: Callable[[], datetime], tz: tzinfo) -> None:
        self._path = path
        self._clock = clock
        self._tz = tz
        self.errors: list[str] = []
        self.commands: list[str] = []
        self.shown: list[str] = []

    def __repr__(self) -> str:
        return f"SampleDatabaseThingsApp({self._path!s})"

    def open(self, url: str) -> None:
        command, params = parse_url(url)
        self.commands.append(command)
        with closing(sqlite3.connect(self._path)) as conn, conn:
            try:
                if command == "add":
                    self._add(conn, params, TYPE_TODO)
                elif command == "add-project":
                    self._add(conn, params, TYPE_PROJECT)
                elif command == "update":
                    self._update(conn, params, TYPE_TODO)
                elif command == "update-project":
                    self._update(conn, params, TYPE_PROJECT)
                elif command == "show":
                    self.shown.append(params.get("id", ""))
                else:
                    self.errors.append(f"unknown command {command!r}")
            except StandInRefusal as exc:
                self.errors.append(f"{command}: refused: {exc}")
            except (ThingsError, ValueError) as exc:  # Things shows an alert and changes nothing
                self.errors.append(f"{command}: {type(exc).__name__}")

    # -- helpers --------------------------------------------------------------------------------

    def _now(self) -> tuple[float, date]:
        now = self._clock()
        return now.timestamp(), local_today(now, self._tz)

    def _schedule(self, when: When, today: date) -> dict[str, Any]:
        if when.kind == "today":
            return {"start": START_ANYTIME, "startDate": encode_packed_date(today), "startBucket": 0}
        if when.kind == "evening":
            return {"start": START_ANYTIME, "startDate": encode_packed_date(today), "startBucket": 1}
        if when.kind == "tomorrow":
            tomorrow = encode_packed_date(today + timedelta(days=1))
            return {"start": START_SOMEDAY, "startDate": tomorrow, "startBucket": 0}
        if when.kind == "anytime":
            return {"start": START_ANYTIME, "startDate": None, "startBucket": 0}
        if when.kind == "someday":
            return {"start": START_SOMEDAY, "startDate": None, "startBucket": 0}
        assert when.on is not None
        fields: dict[str, Any] = {"startBucket": 0}
        if when.on <= today:
            fields.update(start=START_ANYTIME, startDate=encode_packed_date(when.on))
        else:
            fields.update(start=START_SOMEDAY, startDate=encode_packed_date(when.on))
        if when.reminder is not None:
            fields["reminderTime"] = encode_reminder_time(when.reminder)
        return fields

    def _tag_ids(self, conn: sqlite3.Connection, names: str) -> list[str]:
        wanted = [n.strip() for n in names.split(",") if n.strip()]
        ids = []
        for name in wanted:  # unknown tags are silently ignored, as Things does
            row = conn.execute("SELECT uuid FROM TMTag WHERE title = ?", (name,)).fetchone()
            if row:
                ids.append(row[0])
        return ids

    def _destination(self, conn: sqlite3.Connection, list_id: str | None, heading_id: str | None) -> dict[str, Any]:
        """Where ``list-id`` / ``heading-id`` put an item, as Things does — except that a heading without the
        project that holds it is *refused* here (Things silently ignores it and files the to-do elsewhere),
        so a test that relies on it fails instead of passing on Linux only."""
        if heading_id:
            owner = conn.execute("SELECT project FROM TMTask WHERE uuid = ? AND type = 2", (heading_id,)).fetchone()
            if owner is None or not list_id or owner[0] != list_id:
                raise StandInRefusal(
                    "heading-id without list-id naming the heading's project (Things ignores such a heading)"
                )
            return {"heading": heading_id, "project": None, "area": None}
        if list_id and is_valid_id(list_id):
            if conn.execute("SELECT 1 FROM TMTask WHERE uuid = ? AND type = 1", (list_id,)).fetchone():
                return {"project": list_id, "area": None, "heading": None}
            if conn.execute("SELECT 1 FROM TMArea WHERE uuid = ?", (list_id,)).fetchone():
                return {"area": list_id, "project": None, "heading": None}
        return {}

    # -- commands -------------------------------------------------------------------------------

    def _add(self, conn: sqlite3.Connection, params: dict[str, str], item_type: int) -> None:
        stamp, today = self._now()
        index = conn.execute('SELECT COALESCE(MAX("index"), 0) + 1 FROM TMTask').fetchone()[0]
        fields: dict[str, Any] = {"start": START_INBOX}
        if item_type == TYPE_PROJECT:
            fields["start"] = START_ANYTIME
            area = params.get("area-id")
            if area and conn.execute("SELECT 1 FROM TMArea WHERE uuid = ?", (area,)).fetchone():
                fields["area"] = area
        else:
            destination = self._destination(conn, params.get("list-id"), params.get("heading-id"))
            if destination:
                fields.update(destination, start=START_ANYTIME)
        if params.get("when"):
            fields.update(self._schedule(parse_when(params["when"]), today))
        if params.get("deadline"):
            fields["deadline"] = encode_packed_date(date.fromisoformat(params["deadline"]))
        uuid = new_id()
        row = TaskRow(
            uuid=uuid,
            title=params.get("title", ""),
            notes=params.get("notes", ""),
            type=item_type,
            index=index,
            creationDate=stamp,
            userModificationDate=stamp,
            **fields,
        )
        insert_tasks(conn, [row])
        insert_task_tags(conn, [(uuid, tag) for tag in self._tag_ids(conn, params.get("tags", ""))])
        items = [line for line in params.get("checklist-items", "").split("\n") if line.strip()]
        insert_checklist_items(conn, [(new_id(), uuid, t, 0, i, stamp, None) for i, t in enumerate(items)])
        todos = [line for line in params.get("to-dos", "").split("\n") if line.strip()]
        children = [
            TaskRow(
                uuid=new_id(),
                title=t,
                project=uuid,
                start=START_ANYTIME,
                index=index + 1 + i,
                creationDate=stamp,
                userModificationDate=stamp,
            )
            for i, t in enumerate(todos)
        ]
        insert_tasks(conn, children)

    def _update(self, conn: sqlite3.Connection, params: dict[str, str], item_type: int) -> None:
        row = conn.execute(
            "SELECT uriSchemeAuthenticationToken FROM TMSettings WHERE uriSchemeAuthenticationToken != ''"
        ).fetchone()
        if row is None or not AuthToken(row[0]).matches(params.get("auth-token", "")):
            self.errors.append("update: auth token rejected")
            return
        task_id = params.get("id", "")
        current = conn.execute("SELECT notes FROM TMTask WHERE uuid = ? AND type = ?", (task_id, item_type)).fetchone()
        if current is None:
            self.errors.append("update: no such item")
            return
        if item_type == TYPE_PROJECT and (params.get("completed") == "true" or params.get("canceled") == "true"):
            open_todos = conn.execute(
                "SELECT COUNT(*) FROM TMTask t LEFT JOIN TMTask h ON h.uuid = t.heading"
                " WHERE t.type = 0 AND t.status = 0 AND t.trashed = 0 AND (t.project = ? OR h.project = ?)",
                (task_id, task_id),
            ).fetchone()[0]
            if open_todos:  # Things ignores completing or canceling a project with open to-dos
                raise StandInRefusal("project still has open to-dos")
        stamp, today = self._now()
        fields: dict[str, Any] = {"userModificationDate": stamp}
        if "title" in params:
            fields["title"] = params["title"]
        if "append-notes" in params:
            fields["notes"] = (current[0] or "") + params["append-notes"]
        if params.get("when"):
            fields.update(self._schedule(parse_when(params["when"]), today))
        if params.get("deadline"):
            fields["deadline"] = encode_packed_date(date.fromisoformat(params["deadline"]))
        if item_type == TYPE_PROJECT:
            area = params.get("area-id")
            if area and conn.execute("SELECT 1 FROM TMArea WHERE uuid = ?", (area,)).fetchone():
                fields["area"] = area
        else:
            fields.update(self._destination(conn, params.get("list-id"), params.get("heading-id")))
        if params.get("completed") == "true":
            fields.update(status=STATUS_COMPLETED, stopDate=stamp)
        if params.get("canceled") == "true":
            fields.update(status=STATUS_CANCELED, stopDate=stamp)
        assignments = ", ".join(f'"{column}" = ?' for column in fields)
        conn.execute(f"UPDATE TMTask SET {assignments} WHERE uuid = ?", [*fields.values(), task_id])  # noqa: S608
        existing = {r[0] for r in conn.execute("SELECT tags FROM TMTaskTag WHERE tasks = ?", (task_id,))}
        new_tags = [t for t in self._tag_ids(conn, params.get("add-tags", "")) if t not in existing]
        insert_task_tags(conn, [(task_id, tag) for tag in new_tags])
