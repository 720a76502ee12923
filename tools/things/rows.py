"""The columns a task is read with, and how a page of such rows becomes models.

Every to-do and project the reader returns comes through here. Each value is decoded and typed here:
strings coerced with ``text``, packed dates and times unpacked, the built-in list classified, timestamps
made aware in the configured zone, statuses mapped to their names.

Most of the cost of a long list is per row, so the decoder shares what repeats within a page (one
``Ref`` per project, heading and area, validated when first met; models are frozen, so sharing is
safe; one decoded value per packed date or reminder; one classification per set of list fields), and
to-dos and checklist items, whose every value it typed itself, are built without pydantic re-checking
each field (``_build``, what pydantic's own ``__copy__`` does; ``model_construct`` would cost more than
validating). Projects are few and validated. ``tests/things/test_rows.py`` checks that every item of
every list on the samples validates against the published schema and dumps to the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, tzinfo
from typing import Any, TypeVar

from pydantic import BaseModel

from tools.things.dates import decode_packed_date, decode_reminder_time, epoch_to_datetime
from tools.things.lists import PROJECT_DEFERRED_AT, ListFields, classify
from tools.things.models import ChecklistItem, ListId, Project, Ref, Status, Todo

Row = tuple[Any, ...]

STATUS_NAMES: dict[int, Status] = {0: "open", 2: "canceled", 3: "completed"}

# One task with its heading ``h``, project ``p`` (directly or through the heading) and area ``a``; the
# indices below name the positions. ``t.rowid`` comes last: pages are fetched by it (see the reader).
# Values are bound by position (much cheaper than by name for a page of rowids): the one placeholder
# here, today's packed date, is the first parameter of every query that selects these columns.
COLUMNS = f"""
t.uuid, t.title, t.notes, t.status, t.trashed, t.start, t.startDate, t.startBucket, t.reminderTime,
t.deadline, t.deadlineSuppressionDate, t.creationDate, t.userModificationDate, t.stopDate,
t.rt1_repeatingTemplate IS NOT NULL OR t.rt1_recurrenceRule IS NOT NULL, t.rt1_recurrenceRule IS NOT NULL,
p.uuid, p.title, h.uuid, h.title, a.uuid, a.title, COALESCE(p.trashed, 0) OR COALESCE(h.trashed, 0),
{PROJECT_DEFERRED_AT.format(today="?")}, t.type, t.area IS NULL AND p.area IS NOT NULL, t.rowid
"""
(
    ID,
    TITLE,
    NOTES,
    STATUS,
    TRASHED,
    START,
    START_DATE,
    START_BUCKET,
    REMINDER,
    DEADLINE,
    DEADLINE_SUPPRESSED,
    CREATED,
    MODIFIED,
    STOPPED,
    REPEATING,
    TEMPLATE,
    PROJECT_ID,
    PROJECT_TITLE,
    HEADING_ID,
    HEADING_TITLE,
    AREA_ID,
    AREA_TITLE,
    CONTAINER_TRASHED,
    PROJECT_DEFERRED_FLAG,
    TYPE,
    AREA_INHERITED,
    ROWID,
) = range(27)

M = TypeVar("M", bound=BaseModel)

_new = object.__new__
_set = object.__setattr__
# What validation records as set (``type`` is a default). One set serves every model built here: the
# models are frozen, pydantic changes the set only when a field is assigned (refused first) and copies it
# for ``model_copy``. A set per model would be one more object for the garbage collector to track.
_TODO_FIELDS_SET = set(Todo.model_fields) - {"type"}
_CHECKLIST_FIELDS_SET = set(ChecklistItem.model_fields)


def _build(cls: type[M], values: dict[str, Any], fields_set: set[str]) -> M:
    """A model from values already typed, in field order (serialisation follows ``__dict__``)."""
    model = _new(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_fields_set__", fields_set)
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model


def text(value: object) -> str:
    """A TEXT column as ``str`` (NULL is empty; SQLite may hand back another type)."""
    if isinstance(value, str):
        return value
    return "" if value is None else str(value)


def checklist_items(rows: Sequence[tuple[Any, Any, Any, Any]]) -> dict[str, list[ChecklistItem]]:
    """``(task, uuid, title, status)`` rows, in order, as items grouped by task."""
    names, fields_set = STATUS_NAMES, _CHECKLIST_FIELDS_SET
    grouped: dict[str, list[ChecklistItem]] = {}
    for task_id, uuid, title, status in rows:
        item = _build(
            ChecklistItem,
            {
                "id": uuid if uuid.__class__ is str else text(uuid),
                "title": title if title.__class__ is str else text(title),
                "status": names.get(status, "open"),
            },
            fields_set,
        )
        if task_id in grouped:
            grouped[task_id].append(item)
        else:
            grouped[task_id] = [item]
    return grouped


_UNSEEN: Any = object()


class RowDecoder:
    """Decodes the rows of one reader (one service call, one read of a page) on one day (``today``
    packed) in one time zone.

    Within that read an id names one row, so a container's ``Ref`` is kept by id: tasks (projects,
    headings) and areas apart, as they are different tables.
    """

    def __init__(self, today_packed: int, tz: tzinfo) -> None:
        self._today = today_packed
        self._tz = tz
        self._task_refs: dict[Any, Ref | None] = {None: None, "": None}
        self._area_refs: dict[Any, Ref | None] = {None: None, "": None}
        self._dates: dict[Any, date | None] = {None: None}
        self._times: dict[Any, time | None] = {None: None}
        self._lists: dict[tuple[Any, ...], ListId | None] = {}

    def _new_ref(self, refs: dict[Any, Ref | None], item_id: Any, title: Any) -> Ref | None:
        made = refs[item_id] = Ref(id=text(item_id), title=text(title)) if item_id else None
        return made

    def task_ref(self, item_id: Any, title: Any) -> Ref | None:
        found = self._task_refs.get(item_id, _UNSEEN)
        return self._new_ref(self._task_refs, item_id, title) if found is _UNSEEN else found

    def area_ref(self, item_id: Any, title: Any) -> Ref | None:
        found = self._area_refs.get(item_id, _UNSEEN)
        return self._new_ref(self._area_refs, item_id, title) if found is _UNSEEN else found

    def packed_date(self, value: Any) -> date | None:
        found = self._dates.get(value, _UNSEEN) if value.__class__ is int or value is None else _UNSEEN
        if found is _UNSEEN:
            found = decode_packed_date(value)
            if value.__class__ is int:  # only ints are kept: 1, 1.0 and True are one key but decode apart
                self._dates[value] = found
        return found  # type: ignore[no-any-return]

    def reminder(self, value: Any) -> time | None:
        found = self._times.get(value, _UNSEEN) if value.__class__ is int or value is None else _UNSEEN
        if found is _UNSEEN:
            found = decode_reminder_time(value)
            if value.__class__ is int:
                self._times[value] = found
        return found  # type: ignore[no-any-return]

    def list_of(self, row: Row) -> ListId | None:
        """The built-in list the app shows the task in (``None`` for a repeating template)."""
        if row[TEMPLATE]:
            return None
        key = (
            row[STATUS],
            bool(row[TRASHED]) or bool(row[CONTAINER_TRASHED]),
            row[START],
            row[START_DATE],
            row[DEADLINE],
            row[DEADLINE_SUPPRESSED] is not None,
            bool(row[PROJECT_DEFERRED_FLAG]),
        )
        found = self._lists.get(key, _UNSEEN)
        if found is _UNSEEN:
            fields = ListFields(
                status=key[0],
                trashed=key[1],
                start=key[2],
                start_date=key[3],
                deadline=key[4],
                deadline_suppressed=key[5],
                project_deferred=key[6],
            )
            found = self._lists[key] = classify(fields, self._today)
        return found  # type: ignore[no-any-return]

    def stamp(self, seconds: float | None) -> datetime | None:
        return epoch_to_datetime(seconds, self._tz)

    def todos(
        self,
        rows: Sequence[Row],
        tags: Mapping[str, list[str]],
        checklists: Mapping[str, list[ChecklistItem]],
    ) -> list[Todo]:
        """A page of to-do rows as models (the loop inlines the shared lookups: it runs once per row)."""
        task_refs, area_refs = self._task_refs, self._area_refs
        names, from_epoch, tz, fields_set, unseen = (
            STATUS_NAMES,
            datetime.fromtimestamp,
            self._tz,
            _TODO_FIELDS_SET,
            _UNSEEN,
        )
        todos = []
        for row in rows:
            uuid, title, notes, status = row[ID], row[TITLE], row[NOTES], row[STATUS]
            created, modified, stopped = row[CREATED], row[MODIFIED], row[STOPPED]
            start_date, deadline = row[START_DATE], row[DEADLINE]
            project = task_refs.get(row[PROJECT_ID], unseen)
            if project is unseen:
                project = self.task_ref(row[PROJECT_ID], row[PROJECT_TITLE])
            heading = task_refs.get(row[HEADING_ID], unseen)
            if heading is unseen:
                heading = self.task_ref(row[HEADING_ID], row[HEADING_TITLE])
            area = area_refs.get(row[AREA_ID], unseen)
            if area is unseen:
                area = self.area_ref(row[AREA_ID], row[AREA_TITLE])
            values = {
                "id": uuid if uuid.__class__ is str else text(uuid),
                "type": "to-do",
                "title": title if title.__class__ is str else text(title),
                "notes": notes if notes.__class__ is str else text(notes),
                "status": names.get(status, "open"),
                "list": self.list_of(row),
                "tags": tags.get(uuid) or [],  # the page's own lists, one per task
                "project": project,
                "area": area,
                "heading": heading,
                "area_inherited": row[AREA_INHERITED] == 1,
                "checklist": checklists.get(uuid) or [],
                "start_date": None if start_date is None else self.packed_date(start_date),
                "deadline": None if deadline is None else self.packed_date(deadline),
                "reminder": None if row[REMINDER] is None else self.reminder(row[REMINDER]),
                "created": None if created is None else from_epoch(created, tz),
                "modified": None if modified is None else from_epoch(modified, tz),
                "completed": None if stopped is None or status == 0 else from_epoch(stopped, tz),
                "repeating": row[REPEATING] == 1,
                "evening": row[START_BUCKET] == 1,
            }
            todos.append(_build(Todo, values, fields_set))
        return todos

    def projects(
        self,
        rows: Sequence[Row],
        tags: Mapping[str, list[str]],
        headings: Mapping[str, list[Ref]],
        counts: Mapping[str, tuple[int, int]],
    ) -> list[Project]:
        """Project rows as models, with their headings and ``(all, open)`` to-do counts."""
        return [
            Project(
                id=row[ID],
                title=row[TITLE] or "",
                notes=row[NOTES] or "",
                status=STATUS_NAMES.get(row[STATUS], "open"),
                list=self.list_of(row),
                tags=tags.get(row[ID], []),
                area=self.area_ref(row[AREA_ID], row[AREA_TITLE] or ""),
                headings=headings.get(row[ID], []),
                start_date=self.packed_date(row[START_DATE]),
                deadline=self.packed_date(row[DEADLINE]),
                reminder=self.reminder(row[REMINDER]),
                created=self.stamp(row[CREATED]),
                modified=self.stamp(row[MODIFIED]),
                completed=self.stamp(row[STOPPED]) if row[STATUS] != 0 else None,
                repeating=bool(row[REPEATING]),
                evening=row[START_BUCKET] == 1,
                todo_count=counts.get(row[ID], (0, 0))[0],
                open_todo_count=counts.get(row[ID], (0, 0))[1],
            )
            for row in rows
        ]
