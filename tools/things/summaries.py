"""One-line human summaries of Things tool calls, for the approval prompt.

Titles and notes are untrusted, so they are shown quoted, truncated and with control characters
escaped: a title cannot add lines to the prompt or pose as the prompt's own text. ``summarize`` never
raises: a call it cannot parse is described as such.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from datetime import date

    from tools.things.urlscheme import When
    from tools.things.writes import AddProject, AddTodo, UpdateTodo

_MAX_SHOWN_CHARS = 60
_WHEN_NAMES = {
    "today": "Today",
    "tomorrow": "tomorrow",
    "evening": "This Evening",
    "anytime": "Anytime",
    "someday": "Someday",
}


def quoted(text: str, max_chars: int = _MAX_SHOWN_CHARS) -> str:
    """``'text'`` with control characters escaped and long text cut with an ellipsis."""
    shown = text if len(text) <= max_chars else text[: max_chars - 1] + "…"
    escaped = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in shown)
    return "'" + escaped.replace("'", "\\'") + "'"


def _names(names: Mapping[str, str], item_id: str) -> str:
    return quoted(names[item_id]) if item_id in names else item_id


def _when(when: When | None) -> str:
    if when is None:
        return ""
    if when.kind != "date":
        return _WHEN_NAMES[when.kind]
    assert when.on is not None
    text = when.on.isoformat()
    return f"{text} at {when.reminder:%H:%M}" if when.reminder else text


def _tags(tags: Sequence[str]) -> str:
    return ", ".join(quoted(t, 30) for t in tags)


def describe_add_todo(request: AddTodo, names: Mapping[str, str] | None = None) -> str:
    names = names or {}
    if request.heading_id is not None:
        where = f"heading {_names(names, request.heading_id)}"
    elif request.project_id or request.area_id:
        container = request.project_id or request.area_id
        assert container is not None
        where = _names(names, container)
    else:
        where = "the Inbox" if request.when is None else ""
    text = f"Add to-do {quoted(request.title)}"
    if where:
        text += f" to {where}"
    if request.when is not None:
        text += (", " if where else " to ") + _when(request.when)
    if request.deadline:
        text += f", deadline {request.deadline.isoformat()}"
    if request.tags:
        text += f", tags: {_tags(request.tags)}"
    if request.checklist:
        text += f", {len(request.checklist)} checklist items"
    if request.notes:
        text += ", with notes"
    return text


def describe_add_project(request: AddProject, names: Mapping[str, str] | None = None) -> str:
    names = names or {}
    text = f"Add project {quoted(request.title)}"
    if request.area_id:
        text += f" to area {_names(names, request.area_id)}"
    if request.when is not None:
        text += f", when {_when(request.when)}"
    if request.deadline:
        text += f", deadline {request.deadline.isoformat()}"
    if request.tags:
        text += f", tags: {_tags(request.tags)}"
    if request.todos:
        text += f", {len(request.todos)} to-dos"
    return text


class UpdateChanges(Protocol):
    """The fields an update of a to-do and of a project share."""

    @property
    def completed(self) -> bool: ...
    @property
    def canceled(self) -> bool: ...
    @property
    def title(self) -> str | None: ...
    @property
    def append_notes(self) -> str | None: ...
    @property
    def when(self) -> When | None: ...
    @property
    def deadline(self) -> date | None: ...
    @property
    def add_tags(self) -> Sequence[str]: ...


def describe_common_changes(request: UpdateChanges) -> list[str]:
    """The changes every update names the same way, in the same order (to-do and project alike)."""
    changes: list[str] = []
    if request.completed:
        changes.append("mark completed")
    if request.canceled:
        changes.append("mark canceled")
    if request.title is not None:
        changes.append(f"rename to {quoted(request.title)}")
    if request.append_notes is not None:
        changes.append(f"append notes {quoted(request.append_notes, 30)}")
    if request.when is not None:
        changes.append(f"schedule {_when(request.when)}")
    if request.deadline is not None:
        changes.append(f"deadline {request.deadline.isoformat()}")
    if request.add_tags:
        changes.append(f"add tags {_tags(request.add_tags)}")
    return changes


def name_of(names: Mapping[str, str], item_id: str) -> str:
    """An item's quoted title when it is known, else its id."""
    return _names(names, item_id)


def describe_update_todo(request: UpdateTodo, names: Mapping[str, str] | None = None) -> str:
    names = names or {}
    changes = describe_common_changes(request)
    destination = request.heading_id or request.project_id or request.area_id
    if request.heading is not None:
        where = f" in {_names(names, request.project_id)}" if request.project_id else ""
        changes.append(f"move under heading {quoted(request.heading)}{where}")
    elif destination is not None:
        changes.append(f"move to {_names(names, destination)}")
    return f"Update to-do {_names(names, request.todo_id)}: {'; '.join(changes)}"


def _str(args: Mapping[str, Any], key: str) -> str | None:
    value = args.get(key)
    return value if isinstance(value, str) else None


def _describe_read(tool: str, args: Mapping[str, Any], names: Mapping[str, str]) -> str | None:
    if tool == "list_todos":
        parts = [f"in {args['list']}" for _ in [0] if isinstance(args.get("list"), str)]
        for key, label in (("project_id", "project"), ("area_id", "area")):
            value = _str(args, key)
            if value:
                parts.append(f"in {label} {_names(names, value)}")
        for key in ("tag", "status", "query"):
            value = _str(args, key)
            if value:
                parts.append(f"{key} {quoted(value, 30)}")
        return "List to-dos" + (" " + ", ".join(parts) if parts else "")
    if tool in ("get_todo", "get_project", "get_area"):
        item = _str(args, "id") or _str(args, "todo_id") or _str(args, "project_id") or _str(args, "area_id")
        return f"Read {tool[4:].replace('todo', 'to-do')} {_names(names, item) if item else '(no id)'}"
    if tool == "search":
        return f"Search to-dos for {quoted(_str(args, 'query') or '', 30)}"
    if tool == "logbook":
        since, until = _str(args, "since"), _str(args, "until")
        period = f" from {quoted(since, 12)}" if since else ""
        period += f" until {quoted(until, 12)}" if until else ""
        return f"Read the Logbook{period}"
    if tool == "deadlines":
        until = _str(args, "until")
        return "List deadlines" + (f" until {quoted(until, 12)}" if until else "")
    if tool == "recent":
        return f"List recently {'changed' if args.get('changed') else 'created'} items"
    if tool == "list_headings":
        project = _str(args, "project_id")
        return "List headings" + (f" of project {_names(names, project)}" if project else "")
    simple = {
        "list_projects": "List projects",
        "list_areas": "List areas",
        "list_tags": "List tags",
        "tag_usage": "Count tag usage",
    }
    return simple.get(tool)


def canonical_tool(tool_name: str) -> str:
    for prefix in ("things_", "things.", "things-"):
        if tool_name.startswith(prefix):
            return tool_name[len(prefix) :]
    return tool_name


def summarize(tool_name: str, args: Mapping[str, Any], names: Mapping[str, str] | None = None) -> str:
    """Summarise a call of ``tool_name`` (``add_todo`` or ``things_add_todo``) with ``args``."""
    from tools.things.errors import ThingsError
    from tools.things.writes import AddProject, AddTodo, UpdateTodo

    names = names or {}
    tool = canonical_tool(tool_name)
    try:
        if tool == "add_todo":
            return describe_add_todo(AddTodo.parse(**args), names)
        if tool == "add_project":
            return describe_add_project(AddProject.parse(**args), names)
        if tool == "update_todo":
            fields = dict(args)
            todo_id = fields.pop("todo_id", fields.pop("id", None))
            return describe_update_todo(UpdateTodo.parse(todo_id, **fields), names)
        if tool == "update_project":
            from tools.things.project_writes import UpdateProject, describe_update_project

            fields = dict(args)
            project_id = fields.pop("project_id", fields.pop("id", None))
            return describe_update_project(UpdateProject.parse(project_id, **fields), dict(names))
        if tool == "show":
            target = _str(args, "id") or ""
            return f"Show {_names(names, target) if target in names else quoted(target, 40)} in Things"
        described = _describe_read(tool, args, names)
    except (ThingsError, TypeError) as exc:
        field = getattr(exc, "field", "arguments")
        return f"{tool.replace('_', ' ').capitalize()} (invalid {field})"
    return described if described is not None else f"Things call {quoted(tool, 40)}"
