"""Pydantic models of what the Things package returns.

Titles, notes, tag names and checklist text are written by whoever can put text into the user's
Things (shared lists, mail-to-Things, other agents): they are untrusted data, returned verbatim as
data and never interpreted. Dates are ISO dates; timestamps are aware datetimes that serialise as
ISO 8601 with a UTC offset in the configured time zone.
"""

from __future__ import annotations

import builtins
from datetime import date, datetime, time
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

Status = Literal["open", "completed", "canceled"]
ListId = Literal["inbox", "today", "upcoming", "anytime", "someday", "logbook", "trash"]
ItemType = Literal["to-do", "project", "heading"]

# A reminder is a wall-clock time in the user's time zone with no UTC offset (Things stores none), so it is
# not an RFC 3339 ``full-time`` and must not be declared ``format: time``: strict clients (ajv-formats)
# would refuse every result that carries one. The schema says what is sent instead.
LocalTime = Annotated[
    time,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$",
            "description": "Local time of day (HH:MM:SS, the user's time zone, no UTC offset).",
        }
    ),
]

LIST_IDS: tuple[ListId, ...] = ("inbox", "today", "upcoming", "anytime", "someday", "logbook", "trash")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Ref(_Model):
    """A container (project, area, heading) by id and title."""

    id: str
    title: str


class ChecklistItem(_Model):
    id: str
    title: str
    status: Status


class Todo(_Model):
    """A to-do as Things shows it."""

    id: str
    type: Literal["to-do"] = "to-do"
    title: str
    notes: str
    status: Status
    list: ListId | None = Field(description="The built-in list the to-do appears in, if any.")
    tags: builtins.list[str]
    project: Ref | None
    area: Ref | None
    heading: Ref | None
    area_inherited: bool = Field(
        default=False, description="The area is the project's: the to-do itself is not filed in an area."
    )
    checklist: builtins.list[ChecklistItem]
    start_date: date | None
    deadline: date | None
    reminder: LocalTime | None
    created: datetime | None
    modified: datetime | None
    completed: datetime | None = Field(description="When the to-do was completed or canceled.")
    repeating: bool
    evening: bool


class Project(_Model):
    """A project with its headings and to-do counts."""

    id: str
    type: Literal["project"] = "project"
    title: str
    notes: str
    status: Status
    list: ListId | None
    tags: builtins.list[str]
    area: Ref | None
    headings: builtins.list[Ref]
    start_date: date | None
    deadline: date | None
    reminder: LocalTime | None
    created: datetime | None
    modified: datetime | None
    completed: datetime | None
    repeating: bool
    evening: bool
    open_todo_count: int
    todo_count: int


class Area(_Model):
    id: str
    type: Literal["area"] = "area"
    title: str
    tags: builtins.list[str]


class Tag(_Model):
    id: str
    title: str
    shortcut: str | None
    parent: Ref | None


class Heading(_Model):
    """A heading inside a project, with the project and how many of its to-dos are open."""

    id: str
    type: Literal["heading"] = "heading"
    title: str
    project: Ref
    open_todo_count: int


class TagUsage(_Model):
    """How much a tag is used: open to-dos and projects carrying it, and all of them (not trashed)."""

    id: str
    title: str
    open_count: int
    total_count: int


ListItem = Annotated[Todo | Project, Field(discriminator="type")]
"""An item of a list view: a to-do or a project, told apart by ``type``."""

ItemT = TypeVar("ItemT")


class Page(_Model, Generic[ItemT]):
    """One page of a paginated listing; ``total`` counts every match, not just this page."""

    items: list[ItemT]
    total: int
    limit: int
    offset: int


WriteStatus = Literal["confirmed", "submitted"]


class WriteResult(_Model):
    """The outcome of a write: ``confirmed`` once read back from the database, else ``submitted``."""

    status: WriteStatus
    id: str | None
    summary: str
    note: str | None = None  # for ``submitted``: why it may not have applied, and what to check
