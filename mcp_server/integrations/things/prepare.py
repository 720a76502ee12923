"""Prepared Things writes: validated and resolved before any decision, shown in full, run as prepared.

Each write tool's arguments are parsed (``AddTodo`` / ``AddProject`` / ``UpdateTodo``, the same checks the
write itself applies) and every id is resolved to what it names — the to-do an update changes (its current
title and where it is), the project or area a new item goes to — before the gate decides. Reading the
database blocks, so callers run :func:`prepare_write` off the event loop. The prompt shows every field that
changes something as a labelled row (full notes, tags, checklist, dates, the target); the same parsed request
is then written (``ThingsService.apply``), and the writer's read-back confirms it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any

from auth.prepared import PreparedRequest, PrepareError, Row, prepare
from tools.things import ThingsError, ThingsService, WriteResult
from tools.things.summaries import describe_add_project, describe_add_todo, describe_update_todo
from tools.things.writes import AddProject, AddTodo, UpdateTodo

WriteRequest = AddTodo | AddProject | UpdateTodo


@dataclasses.dataclass(frozen=True)
class PreparedWrite:
    request: PreparedRequest
    run: Callable[[], WriteResult]


def _q(text: str) -> str:
    """A title in a headline: JSON-quoted, so quotes inside it cannot end it."""
    shown = text if len(text) <= 80 else text[:79] + "…"
    return json.dumps(shown, ensure_ascii=False)


def _when(value: object) -> str:
    to_param = getattr(value, "to_param", None)
    return str(to_param()) if callable(to_param) else str(value)


def _destination(
    service: ThingsService, project_id: str | None, area_id: str | None, names: dict[str, str]
) -> tuple[str, list[Row]]:
    if project_id is not None:
        project = service.get_project(project_id)
        names[project.id] = project.title
        return f"project {_q(project.title)}", [Row("Project", f"{project.title} ({project.id})", keep=True)]
    if area_id is not None:
        area = service.get_area(area_id)
        names[area.id] = area.title
        return f"area {_q(area.title)}", [Row("Area", f"{area.title} ({area.id})", keep=True)]
    return "the Inbox", []


def _common_rows(request: AddTodo | AddProject | UpdateTodo) -> list[Row]:
    rows: list[Row] = []
    if request.when is not None:
        rows.append(Row("When", _when(request.when)))
    if request.deadline is not None:
        rows.append(Row("Deadline", request.deadline.isoformat()))
    return rows


def _add_todo(service: ThingsService, request: AddTodo) -> tuple[str, list[Row], dict[str, Any]]:
    names: dict[str, str] = {}
    where, rows = _destination(service, request.project_id, request.area_id, names)
    rows = [Row("Title", request.title, keep=True), *rows]
    if request.heading_id is not None:
        rows.append(Row("Heading", request.heading_id, keep=True))
    if request.notes:
        rows.append(Row("Notes", request.notes))
    rows += _common_rows(request)
    if request.tags:
        rows.append(Row("Tags", ", ".join(request.tags)))
    if request.checklist:
        rows.append(Row(f"Checklist ({len(request.checklist)} items)", "\n".join(f"- {i}" for i in request.checklist)))
    return describe_add_todo(request, names), rows, {"destination": where}


def _add_project(service: ThingsService, request: AddProject) -> tuple[str, list[Row], dict[str, Any]]:
    names: dict[str, str] = {}
    where, rows = _destination(service, None, request.area_id, names)
    rows = [Row("Title", request.title, keep=True), *rows]
    if request.notes:
        rows.append(Row("Notes", request.notes))
    rows += _common_rows(request)
    if request.tags:
        rows.append(Row("Tags", ", ".join(request.tags)))
    if request.todos:
        rows.append(Row(f"To-dos ({len(request.todos)})", "\n".join(f"- {t}" for t in request.todos)))
    return describe_add_project(request, names), rows, {"destination": where}


def _update_todo(service: ThingsService, request: UpdateTodo) -> tuple[str, list[Row], dict[str, Any]]:
    todo = service.get_todo(request.todo_id)
    names = {todo.id: todo.title}
    place = todo.project.title if todo.project else (todo.area.title if todo.area else (todo.list or "no list"))
    rows = [Row("To-do (as it is now)", f"{todo.title} ({todo.id}), in {place}, {todo.status}", keep=True)]
    if request.title is not None:
        rows.append(Row("New title", request.title, keep=True))
    if request.append_notes is not None:
        rows.append(Row("Append to notes", request.append_notes))
    rows += _common_rows(request)
    if request.add_tags:
        rows.append(Row("Add tags", ", ".join(request.add_tags)))
    if request.project_id is not None or request.area_id is not None:
        _, moved = _destination(service, request.project_id, request.area_id, names)
        rows += [Row(f"Move to {row.label.lower()}", row.value, keep=True) for row in moved]
    if request.heading_id is not None:
        rows.append(Row("Move under heading", request.heading_id, keep=True))
    if request.heading is not None:
        rows.append(Row("Move under heading (by title)", request.heading, keep=True))
    if request.completed:
        rows.append(Row("Mark", "completed", keep=True))
    if request.canceled:
        rows.append(Row("Mark", "canceled", keep=True))
    headline = describe_update_todo(request, names)
    resolved = {"target_title": todo.title, "target_place": place, "target_status": str(todo.status)}
    return headline, rows, resolved


_PARSERS: dict[str, Callable[[Mapping[str, Any]], WriteRequest]] = {
    "things_add_todo": lambda a: AddTodo.parse(**a),
    "things_add_project": lambda a: AddProject.parse(**a),
    "things_update_todo": lambda a: UpdateTodo.parse(a["todo_id"], **{k: v for k, v in a.items() if k != "todo_id"}),
}


PREPARED_WRITES = frozenset(_PARSERS)


def prepare_write(service: ThingsService, tool: str, arguments: Mapping[str, Any]) -> PreparedWrite:
    """Parse and resolve a write before any decision; refuse (``PrepareError``) what cannot be written."""
    try:
        request = _PARSERS[tool](arguments)
        if isinstance(request, AddTodo):
            headline, rows, resolved = _add_todo(service, request)
        elif isinstance(request, AddProject):
            headline, rows, resolved = _add_project(service, request)
        else:
            headline, rows, resolved = _update_todo(service, request)
    except ThingsError as exc:
        raise PrepareError(str(exc), reason=exc.code) from None
    canonical = {"request": dataclasses.asdict(request), "resolved": resolved}
    prepared = prepare(tool, headline, rows, canonical)
    return PreparedWrite(prepared, lambda: service.apply(request))
