"""Framework-free handlers for the seed's read-only REST routes (``/things-bridge/v1/...``).

Each handler takes the service plus parsed query parameters (as ``urllib.parse.parse_qs`` returns
them) or a path id, and returns the JSON body of a 200 answer in the seed's shapes:
``{"todos": [...]}``, ``{"todo": {...}}``, ``{"projects": [...]}``, ``{"project": {...}}``,
``{"areas": [...]}``, ``{"area": {...}}``. Anything else raises a :class:`ThingsError` (a malformed id or
an unknown path is :class:`NotFoundError`, a malformed parameter :class:`InvalidArgumentError`); the
daemon renders it in the seed's words through the project's one error registry
(``mcp_server.errors``), so no HTTP status is decided here.

Additions over the seed, all backwards compatible: ``limit``/``offset``/``q`` and date-filter query
parameters on ``/todos``, a ``list`` filter on ``/projects`` (which lists open projects unless a
status or a list is given), and ``total``/``limit``/``offset`` keys in list bodies. Lists default to
the largest page (500) so a seed client still gets everything a typical Things library holds;
``total`` shows when it did not.
The gate (authentication, scopes, audit) wraps these handlers; nothing here authorises anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from tools.things.datefilter import DATE_PARAMETERS
from tools.things.errors import InvalidArgumentError, NotFoundError
from tools.things.ids import is_valid_id
from tools.things.models import Area, Project, Todo
from tools.things.service import ThingsService
from tools.things.validation import MAX_PAGE_LIMIT

Params = Mapping[str, Sequence[str]]
Body = dict[str, Any]
PREFIX = "/things-bridge/v1"


def _first(params: Params, key: str) -> str | None:
    values = params.get(key)
    if not values:
        return None
    return values[0] or None


def _int(params: Params, key: str, default: int) -> int:
    raw = _first(params, key)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise InvalidArgumentError(key, "must be a non-negative integer")
    return int(raw)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dates(item: Todo | Project) -> dict[str, Any]:
    return {
        "due_date": item.deadline.isoformat() if item.deadline else None,
        "activation_date": item.start_date.isoformat() if item.start_date else None,
        "completion_date": _iso(item.completed) if item.status == "completed" else None,
        "cancellation_date": _iso(item.completed) if item.status == "canceled" else None,
        "creation_date": _iso(item.created),
        "modification_date": _iso(item.modified),
    }


def todo_json(todo: Todo) -> dict[str, Any]:
    return {
        "id": todo.id,
        "name": todo.title,
        "notes": todo.notes,
        "status": todo.status,
        "project_id": todo.project.id if todo.project else None,
        "project_name": todo.project.title if todo.project else None,
        "area_id": todo.area.id if todo.area else None,
        "area_name": todo.area.title if todo.area else None,
        "tag_names": list(todo.tags),
        **_dates(todo),
    }


def project_json(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "name": project.title,
        "notes": project.notes,
        "status": project.status,
        "area_id": project.area.id if project.area else None,
        "area_name": project.area.title if project.area else None,
        "tag_names": list(project.tags),
        **_dates(project),
    }


def area_json(area: Area) -> dict[str, Any]:
    return {"id": area.id, "name": area.title, "tag_names": list(area.tags)}


def _known_id(kind: str, item_id: str) -> str:
    """A malformed id is simply not found, as in the seed."""
    if not is_valid_id(item_id):
        raise NotFoundError(kind, item_id)
    return item_id


def list_todos(service: ThingsService, params: Params) -> Body:
    """``GET /things-bridge/v1/todos?list=&project=&area=&tag=&status=&q=&limit=&offset=`` plus the date filters
    ``created_after``, ``created_before``, ``modified_after``, ``completed_after``, ``completed_before`` and
    ``deadline_before`` (``YYYY-MM-DD``)."""
    limit, offset = _int(params, "limit", MAX_PAGE_LIMIT), _int(params, "offset", 0)
    page = service.list_todos(
        list=_first(params, "list"),
        project_id=_first(params, "project"),
        area_id=_first(params, "area"),
        tag=_first(params, "tag"),
        status=_first(params, "status"),
        query=_first(params, "q"),
        limit=limit,
        offset=offset,
        dates={key: value for key in DATE_PARAMETERS if (value := _first(params, key)) is not None},
    )
    body = {"todos": [todo_json(t) for t in page.items], "total": page.total}
    return {**body, "limit": page.limit, "offset": page.offset}


def get_todo(service: ThingsService, todo_id: str) -> Body:
    """``GET /things-bridge/v1/todos/{id}``."""
    return {"todo": todo_json(service.get_todo(_known_id("to-do", todo_id)))}


def list_projects(service: ThingsService, params: Params) -> Body:
    """``GET /things-bridge/v1/projects?list=&area=&tag=&status=&q=&limit=&offset=`` (open ones by default)."""
    limit, offset = _int(params, "limit", MAX_PAGE_LIMIT), _int(params, "offset", 0)
    page = service.list_projects(
        list=_first(params, "list"),
        area_id=_first(params, "area"),
        tag=_first(params, "tag"),
        status=_first(params, "status"),
        query=_first(params, "q"),
        limit=limit,
        offset=offset,
    )
    body = {"projects": [project_json(p) for p in page.items], "total": page.total}
    return {**body, "limit": page.limit, "offset": page.offset}


def get_project(service: ThingsService, project_id: str) -> Body:
    """``GET /things-bridge/v1/projects/{id}``."""
    return {"project": project_json(service.get_project(_known_id("project", project_id)))}


def list_areas(service: ThingsService, params: Params | None = None) -> Body:
    """``GET /things-bridge/v1/areas``."""
    return {"areas": [area_json(a) for a in service.list_areas()]}


def get_area(service: ThingsService, area_id: str) -> Body:
    """``GET /things-bridge/v1/areas/{id}``."""
    return {"area": area_json(service.get_area(_known_id("area", area_id)))}


_COLLECTIONS: dict[str, Callable[[ThingsService, Params], Body]] = {
    "todos": list_todos,
    "projects": list_projects,
    "areas": list_areas,
}
_ITEMS: dict[str, Callable[[ThingsService, str], Body]] = {
    "todos": get_todo,
    "projects": get_project,
    "areas": get_area,
}


def handle_get(service: ThingsService, path: str, params: Params) -> Body:
    """Route a GET by path (already split from its query string); an unknown path is :class:`NotFoundError`."""
    if path.startswith(PREFIX + "/"):
        parts = path[len(PREFIX) + 1 :].split("/")
        if len(parts) == 1 and parts[0] in _COLLECTIONS:
            return _COLLECTIONS[parts[0]](service, params)
        if len(parts) == 2 and parts[0] in _ITEMS:
            return _ITEMS[parts[0]](service, parts[1])
    raise NotFoundError("route", path)
