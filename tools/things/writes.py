"""Writes to Things through its URL scheme, validated strictly and confirmed by reading back.

Offered: add a to-do, add a project, update a to-do (title, append notes, when, deadline, add tags,
move, complete, cancel). Nothing lossy: no replacing notes or tags, no clearing fields (an empty
``param=`` clears in Things, so empty values are never sent), no delete, no emptying the Trash.

Things reports nothing back, so each write is confirmed by reading the database: a new uuid with the
title for adds, a changed ``userModificationDate`` for updates. The result says ``confirmed`` or
``submitted`` (sent, not yet visible). The auth token for updates is read from ``TMSettings`` per
call and only ever placed into the URL handed to the opener.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import date

from tools.things import validation
from tools.things.catalog import headings_titled
from tools.things.errors import InvalidArgumentError, NotFoundError, WriteUnavailableError
from tools.things.ids import require_id
from tools.things.models import WriteResult
from tools.things.openers import UrlOpener
from tools.things.ratelimit import ItemRateLimiter
from tools.things.reader import ThingsReader
from tools.things.store import STATUS_OPEN, TYPE_PROJECT, TYPE_TODO
from tools.things.summaries import describe_add_project, describe_add_todo, describe_update_todo
from tools.things.urlscheme import Command, When, build_url, parse_when

Readers = Callable[[], AbstractContextManager[ThingsReader]]


def _optional_when(value: str | None) -> When | None:
    return None if value is None else parse_when(value)


def _optional_deadline(value: str | None) -> date | None:
    return None if value is None else validation.iso_date(value, "deadline")


def _title(value: object, field: str = "title") -> str:
    return validation.single_line(value, field, max_chars=validation.MAX_TITLE_CHARS)


def _items(values: Sequence[object] | None, field: str) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str) or len(values) > validation.MAX_CHECKLIST_ITEMS:
        raise InvalidArgumentError(field, f"must be a list of at most {validation.MAX_CHECKLIST_ITEMS} titles")
    return [_title(v, field) for v in values]


@dataclass(frozen=True, slots=True)
class AddTodo:
    title: str
    notes: str | None
    when: When | None
    deadline: date | None
    tags: list[str]
    checklist: list[str]
    project_id: str | None
    area_id: str | None
    heading_id: str | None

    @classmethod
    def parse(
        cls,
        *,
        title: object,
        notes: object = None,
        when: str | None = None,
        deadline: str | None = None,
        tags: Sequence[object] | None = None,
        checklist: Sequence[object] | None = None,
        project_id: object = None,
        area_id: object = None,
        heading_id: object = None,
    ) -> AddTodo:
        if project_id is not None and area_id is not None:
            raise InvalidArgumentError("area_id", "give a project or an area, not both")
        return cls(
            title=_title(title),
            notes=None if notes is None else validation.multi_line(notes, "notes"),
            when=_optional_when(when),
            deadline=_optional_deadline(deadline),
            tags=validation.tag_names(tags),
            checklist=_items(checklist, "checklist"),
            project_id=None if project_id is None else require_id(project_id, "project_id"),
            area_id=None if area_id is None else require_id(area_id, "area_id"),
            heading_id=None if heading_id is None else require_id(heading_id, "heading_id"),
        )


@dataclass(frozen=True, slots=True)
class AddProject:
    title: str
    notes: str | None
    when: When | None
    deadline: date | None
    tags: list[str]
    area_id: str | None
    todos: list[str]

    @classmethod
    def parse(
        cls,
        *,
        title: object,
        notes: object = None,
        when: str | None = None,
        deadline: str | None = None,
        tags: Sequence[object] | None = None,
        area_id: object = None,
        todos: Sequence[object] | None = None,
    ) -> AddProject:
        return cls(
            title=_title(title),
            notes=None if notes is None else validation.multi_line(notes, "notes"),
            when=_optional_when(when),
            deadline=_optional_deadline(deadline),
            tags=validation.tag_names(tags),
            area_id=None if area_id is None else require_id(area_id, "area_id"),
            todos=_items(todos, "todos"),
        )


@dataclass(frozen=True, slots=True)
class UpdateTodo:
    todo_id: str
    title: str | None
    append_notes: str | None
    when: When | None
    deadline: date | None
    add_tags: list[str]
    project_id: str | None
    area_id: str | None
    heading_id: str | None
    completed: bool
    canceled: bool
    heading: str | None = None  # a heading's title in the destination (or current) project

    @classmethod
    def parse(
        cls,
        todo_id: object,
        *,
        title: object = None,
        append_notes: object = None,
        when: str | None = None,
        deadline: str | None = None,
        add_tags: Sequence[object] | None = None,
        project_id: object = None,
        area_id: object = None,
        heading_id: object = None,
        completed: object = False,
        canceled: object = False,
        heading: object = None,
    ) -> UpdateTodo:
        completed, canceled = completion_flags(completed, canceled, "a to-do")
        if sum(x is not None for x in (project_id, area_id)) > 1:
            raise InvalidArgumentError("area_id", "move to a project or an area, not both")
        if append_notes is not None and not str(append_notes):
            raise InvalidArgumentError("append_notes", "must not be empty")
        if heading is not None and (heading_id is not None or area_id is not None):
            raise InvalidArgumentError("heading", "give a heading by title or by id, in a project, not an area")
        request = cls(
            todo_id=require_id(todo_id, "id"),
            title=None if title is None else _title(title),
            append_notes=None if append_notes is None else validation.multi_line(append_notes, "append_notes"),
            when=_optional_when(when),
            deadline=_optional_deadline(deadline),
            add_tags=validation.tag_names(add_tags, "add_tags"),
            project_id=None if project_id is None else require_id(project_id, "project_id"),
            area_id=None if area_id is None else require_id(area_id, "area_id"),
            heading_id=None if heading_id is None else require_id(heading_id, "heading_id"),
            completed=completed,
            canceled=canceled,
            heading=None if heading is None else _title(heading, "heading"),
        )
        changes = (
            request.heading,
            request.title,
            request.append_notes,
            request.when,
            request.deadline,
            request.project_id,
            request.area_id,
            request.heading_id,
        )
        if all(c is None for c in changes) and not (request.add_tags or completed or canceled):
            raise InvalidArgumentError("id", "nothing to change")
        return request


def _check_tags(reader: ThingsReader, tags: Sequence[str], field: str) -> None:
    known = {tag.title for tag in reader.list_tags()}
    unknown = [t for t in tags if t not in known]
    if unknown:
        raise InvalidArgumentError(field, f"unknown tag(s) {unknown!r}; Things only applies existing tags")


def completion_flags(completed: object, canceled: object, what: str) -> tuple[bool, bool]:
    """``completed`` / ``canceled`` of an update, checked: booleans, and not both."""
    if not isinstance(completed, bool) or not isinstance(canceled, bool):
        raise InvalidArgumentError("completed", "completed and canceled must be booleans")
    if completed and canceled:
        raise InvalidArgumentError("canceled", f"{what} cannot be both completed and canceled")
    return completed, canceled


def _check_destination(
    reader: ThingsReader, project_id: str | None, area_id: str | None, heading_id: str | None
) -> str | None:
    """Check the destination exists; return the ``list-id`` to send (a heading's project when only the
    heading was named: Things ignores ``heading-id`` unless ``list-id`` names the project holding it)."""
    if project_id is not None:
        summary = reader.task_summary(project_id)
        if summary is None or summary[0] != TYPE_PROJECT or summary[2]:
            raise NotFoundError("project", project_id)
    if area_id is not None and not reader.area_exists(area_id):
        raise NotFoundError("area", area_id)
    if heading_id is not None:
        owner = reader.heading_project(heading_id)
        if owner is None:
            raise NotFoundError("heading", heading_id)
        if project_id is not None and owner != project_id:
            raise InvalidArgumentError("heading_id", "the heading belongs to a different project")
        if area_id is not None:
            raise InvalidArgumentError("heading_id", "a heading is inside a project; give heading_id without area_id")
        return owner
    return project_id or area_id


def _heading_by_title(reader: ThingsReader, request: UpdateTodo) -> str:
    """The id of the one live heading titled ``request.heading`` in the destination or the to-do's project."""
    assert request.heading is not None
    project_id = request.project_id
    if project_id is None:
        current = reader.get_todo(request.todo_id).project
        if current is None:
            raise InvalidArgumentError("heading", "the to-do is not in a project; give project_id too")
        project_id = current.id
    matches = headings_titled(reader, project_id, request.heading)
    if not matches:
        raise NotFoundError("heading", request.heading)
    if len(matches) > 1:
        raise InvalidArgumentError("heading", "several headings have this title; give heading_id instead")
    return matches[0]


def _common(when: When | None, deadline: date | None) -> list[tuple[str, str]]:
    params = []
    if when is not None:
        params.append(("when", when.to_param()))
    if deadline is not None:
        params.append(("deadline", deadline.isoformat()))
    return params


class ThingsWriter:
    """Sends validated writes through a ``UrlOpener`` and confirms them by reading back."""

    def __init__(
        self,
        opener: UrlOpener,
        limiter: ItemRateLimiter,
        *,
        sleep: Callable[[float], None],
        confirm_attempts: int = 12,
        confirm_interval_seconds: float = 0.1,
        max_confirm_interval_seconds: float = 1.0,
    ) -> None:
        self._opener = opener
        self._limiter = limiter
        self._sleep = sleep
        self._attempts = confirm_attempts
        # Read back quickly at first, then back off: a running Things applies a URL in well under a second,
        # but a cold start (Things not running) takes seconds. With the defaults the read-back waits 8.5 s.
        self._intervals: list[float] = [
            min(confirm_interval_seconds * 2**attempt, max_confirm_interval_seconds)
            for attempt in range(max(confirm_attempts - 1, 0))
        ]

    @property
    def confirm_window_seconds(self) -> float:
        return float(sum(self._intervals))

    def _submitted(self, item_id: str | None, summary: str) -> WriteResult:
        return WriteResult(
            status="submitted",
            id=item_id,
            summary=summary,
            note=(
                f"Things did not show this change within {self.confirm_window_seconds:g} s. If Things was just "
                "starting it may still appear; if it never does, turn on Things > Settings > General > Enable "
                "Things URLs."
            ),
        )

    def _open(self, url: str) -> None:
        failure: str | None = None
        try:
            self._opener.open(url)
        except OSError as exc:
            failure = type(exc).__name__
        if failure is not None:
            # Raised outside the handler so not even ``__context__`` keeps the URL (and its token).
            raise WriteUnavailableError(f"Could not hand the request to Things ({failure}).")

    def send(self, command: Command, params: Sequence[tuple[str, str]], items: int = 1) -> None:
        """Charge the rate limit and hand one URL to Things (the URL never appears in an error)."""
        self._limiter.acquire(items)
        self._open(build_url(command, params))

    def confirm_modified(self, readers: Readers, task_id: str, modified_before: float | None) -> bool:
        """Whether the task's ``userModificationDate`` moved within the read-back window."""
        for attempt in range(self._attempts):
            with readers() as reader:
                now = reader.task_summary(task_id)
            if now is not None and now[3] != modified_before:
                return True
            if attempt < len(self._intervals):
                self._sleep(self._intervals[attempt])
        return False

    def submitted(self, item_id: str | None, summary: str) -> WriteResult:
        return self._submitted(item_id, summary)

    def _confirm_new(self, readers: Readers, title: str, item_type: int, before: set[str]) -> str | None:
        for attempt in range(self._attempts):
            with readers() as reader:
                new = reader.task_ids_titled(title, item_type) - before
            if new:
                return sorted(new)[0]
            if attempt < len(self._intervals):
                self._sleep(self._intervals[attempt])
        return None

    def add_todo(self, request: AddTodo, readers: Readers) -> WriteResult:
        with readers() as reader:
            _check_tags(reader, request.tags, "tags")
            destination = _check_destination(reader, request.project_id, request.area_id, request.heading_id)
            before = reader.task_ids_titled(request.title, TYPE_TODO)
        params = [("title", request.title)]
        if request.notes:
            params.append(("notes", request.notes))
        params += _common(request.when, request.deadline)
        if request.tags:
            params.append(("tags", ",".join(request.tags)))
        if request.checklist:
            params.append(("checklist-items", "\n".join(request.checklist)))
        if destination is not None:
            params.append(("list-id", destination))
        if request.heading_id is not None:
            params.append(("heading-id", request.heading_id))
        self._limiter.acquire(1)
        self._open(build_url("add", params))
        new_id = self._confirm_new(readers, request.title, TYPE_TODO, before)
        if new_id is None:
            return self._submitted(None, describe_add_todo(request))
        return WriteResult(status="confirmed", id=new_id, summary=describe_add_todo(request))

    def add_project(self, request: AddProject, readers: Readers) -> WriteResult:
        with readers() as reader:
            _check_tags(reader, request.tags, "tags")
            _check_destination(reader, None, request.area_id, None)
            before = reader.task_ids_titled(request.title, TYPE_PROJECT)
        params = [("title", request.title)]
        if request.notes:
            params.append(("notes", request.notes))
        params += _common(request.when, request.deadline)
        if request.tags:
            params.append(("tags", ",".join(request.tags)))
        if request.area_id is not None:
            params.append(("area-id", request.area_id))
        if request.todos:
            params.append(("to-dos", "\n".join(request.todos)))
        self._limiter.acquire(1 + len(request.todos))
        self._open(build_url("add-project", params))
        new_id = self._confirm_new(readers, request.title, TYPE_PROJECT, before)
        if new_id is None:
            return self._submitted(None, describe_add_project(request))
        return WriteResult(status="confirmed", id=new_id, summary=describe_add_project(request))

    def update_todo(self, request: UpdateTodo, readers: Readers) -> WriteResult:
        with readers() as reader:
            summary = reader.task_summary(request.todo_id)
            if summary is None or summary[0] != TYPE_TODO or summary[2]:
                raise NotFoundError("to-do", request.todo_id)
            if (request.completed or request.canceled) and summary[1] != STATUS_OPEN:
                raise InvalidArgumentError("id", "the to-do is already completed or canceled")
            _check_tags(reader, request.add_tags, "add_tags")
            if request.heading is not None:
                request = replace(request, heading_id=_heading_by_title(reader, request))
            destination = _check_destination(reader, request.project_id, request.area_id, request.heading_id)
            token = reader.read_auth_token()
        if token is None:
            raise WriteUnavailableError(
                "Things has no URL-scheme auth token yet: in Things open Settings > General > "
                "Enable Things URLs > Manage, then try again."
            )
        params = [("id", request.todo_id), ("auth-token", token.reveal())]
        if request.title is not None:
            params.append(("title", request.title))
        if request.append_notes is not None:
            params.append(("append-notes", request.append_notes))
        params += _common(request.when, request.deadline)
        if request.add_tags:
            params.append(("add-tags", ",".join(request.add_tags)))
        if destination is not None:
            params.append(("list-id", destination))
        if request.heading_id is not None:
            params.append(("heading-id", request.heading_id))
        if request.completed:
            params.append(("completed", "true"))
        if request.canceled:
            params.append(("canceled", "true"))
        self.send("update", params)
        del params, token
        if self.confirm_modified(readers, request.todo_id, summary[3]):
            return WriteResult(status="confirmed", id=request.todo_id, summary=describe_update_todo(request))
        return self._submitted(request.todo_id, describe_update_todo(request))
