"""Updating a project and showing an item in Things, through the URL scheme, confirmed by reading back.

``update-project`` takes the same non-lossy changes as a to-do update (rename, append notes, schedule,
deadline, add tags, move to an area, complete, cancel). Things ignores completing or canceling a project
that still has open to-dos, and doing it in the app would complete or cancel them too; both are refused
here with the count, so the agent closes or moves the to-dos first. ``show`` asks Things to reveal an item
or a built-in list; there is nothing to read back, so its result is always ``submitted``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from tools.things import validation
from tools.things.errors import InvalidArgumentError, NotFoundError, WriteUnavailableError
from tools.things.ids import is_valid_id, require_id
from tools.things.models import WriteResult
from tools.things.store import STATUS_OPEN, TYPE_PROJECT
from tools.things.summaries import describe_common_changes, name_of, quoted
from tools.things.urlscheme import When
from tools.things.writes import (
    Readers,
    ThingsWriter,
    _check_tags,
    _common,
    _optional_deadline,
    _optional_when,
    _title,
    completion_flags,
)

# Built-in lists ``show`` can reveal (Cultured Code's ids for the URL scheme).
SHOW_LISTS = (
    "inbox",
    "today",
    "anytime",
    "upcoming",
    "someday",
    "logbook",
    "tomorrow",
    "deadlines",
    "repeating",
    "all-projects",
    "logged-projects",
)


@dataclass(frozen=True, slots=True)
class UpdateProject:
    project_id: str
    title: str | None
    append_notes: str | None
    when: When | None
    deadline: date | None
    add_tags: list[str]
    area_id: str | None
    completed: bool
    canceled: bool

    @classmethod
    def parse(
        cls,
        project_id: object,
        *,
        title: object = None,
        append_notes: object = None,
        when: str | None = None,
        deadline: str | None = None,
        add_tags: Sequence[object] | None = None,
        area_id: object = None,
        completed: object = False,
        canceled: object = False,
    ) -> UpdateProject:
        completed, canceled = completion_flags(completed, canceled, "a project")
        if append_notes is not None and not str(append_notes):
            raise InvalidArgumentError("append_notes", "must not be empty")
        request = cls(
            project_id=require_id(project_id, "id"),
            title=None if title is None else _title(title),
            append_notes=None if append_notes is None else validation.multi_line(append_notes, "append_notes"),
            when=_optional_when(when),
            deadline=_optional_deadline(deadline),
            add_tags=validation.tag_names(add_tags, "add_tags"),
            area_id=None if area_id is None else require_id(area_id, "area_id"),
            completed=completed,
            canceled=canceled,
        )
        changes = (request.title, request.append_notes, request.when, request.deadline, request.area_id)
        if all(c is None for c in changes) and not (request.add_tags or completed or canceled):
            raise InvalidArgumentError("id", "nothing to change")
        return request


def describe_update_project(request: UpdateProject, names: dict[str, str] | None = None) -> str:
    names = names or {}
    changes = describe_common_changes(request)
    if request.area_id is not None:
        changes.append(f"move to area {name_of(names, request.area_id)}")
    return f"Update project {name_of(names, request.project_id)}: {'; '.join(changes)}"


def update_project(writer: ThingsWriter, request: UpdateProject, readers: Readers) -> WriteResult:
    with readers() as reader:
        summary = reader.task_summary(request.project_id)
        if summary is None or summary[0] != TYPE_PROJECT or summary[2]:
            raise NotFoundError("project", request.project_id)
        if (request.completed or request.canceled) and summary[1] != STATUS_OPEN:
            raise InvalidArgumentError("id", "the project is already completed or canceled")
        if request.completed or request.canceled:
            open_todos = reader.get_project(request.project_id).open_todo_count
            if open_todos:
                raise InvalidArgumentError(
                    "completed" if request.completed else "canceled",
                    f"the project still has {open_todos} open to-do(s); complete, cancel or move them first "
                    "(Things ignores this for a project with open to-dos)",
                )
        _check_tags(reader, request.add_tags, "add_tags")
        if request.area_id is not None and not reader.area_exists(request.area_id):
            raise NotFoundError("area", request.area_id)
        token = reader.read_auth_token()
    if token is None:
        raise WriteUnavailableError(
            "Things has no URL-scheme auth token yet: in Things open Settings > General > "
            "Enable Things URLs > Manage, then try again."
        )
    params = [("id", request.project_id), ("auth-token", token.reveal())]
    if request.title is not None:
        params.append(("title", request.title))
    if request.append_notes is not None:
        params.append(("append-notes", request.append_notes))
    params += _common(request.when, request.deadline)
    if request.add_tags:
        params.append(("add-tags", ",".join(request.add_tags)))
    if request.area_id is not None:
        params.append(("area-id", request.area_id))
    if request.completed:
        params.append(("completed", "true"))
    if request.canceled:
        params.append(("canceled", "true"))
    writer.send("update-project", params)
    del params, token
    text = describe_update_project(request)
    if writer.confirm_modified(readers, request.project_id, summary[3]):
        return WriteResult(status="confirmed", id=request.project_id, summary=text)
    return writer.submitted(request.project_id, text)


def parse_show_target(target: object) -> str:
    """An item id (to-do, project, area, tag) or a built-in list id."""
    if isinstance(target, str) and target in SHOW_LISTS:
        return target
    if not is_valid_id(target):
        raise InvalidArgumentError("id", f"must be an item id or one of {', '.join(SHOW_LISTS)}")
    assert isinstance(target, str)
    return target


def show(writer: ThingsWriter, target: str, readers: Readers) -> WriteResult:
    """Ask Things to show an item or a list; ``submitted``: nothing in the database changes."""
    if target in SHOW_LISTS:
        what = f"the {target} list"
    else:
        with readers() as reader:
            name = reader.item_title(target)
        if name is None:
            raise NotFoundError("item", target)
        what = quoted(name)
    writer.send("show", [("id", target)])
    return WriteResult(
        status="submitted", id=None if target in SHOW_LISTS else target, summary=f"Show {what} in Things"
    )
