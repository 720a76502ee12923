"""Framework-free handlers for the seed's read-only REST routes (``/things-bridge/v1/...``).

Each handler takes the service plus parsed query parameters (as ``urllib.parse.parse_qs`` returns
them) or a path id, and returns ``(http_status, json_body)`` in the seed's shapes:
``{"todos": [...]}``, ``{"todo": {...}}``, ``{"projects": [...]}``, ``{"project": {...}}``,
``{"areas": [...]}``, ``{"area": {...}}``; errors are ``{"error": code}`` with the seed's codes
(``not_found`` 404, ``things_permission_denied`` 503, ``things_unavailable`` 502) plus
``invalid_argument`` 400 for malformed parameters (the seed answered those with 502) and
``things_database_locked`` 503 while another program holds the database locked (the seed said
``things_permission_denied``, which sent people to Full Disk Access settings for a passing lock).

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
from tools.things.errors import (
    DatabaseLockedError,
    DatabaseUnreadableError,
    InvalidArgumentError,
    NotFoundError,
    ThingsError,
)
from tools.things.ids import is_valid_id
from tools.things.models import Area, Project, Todo
from tools.things.service import ThingsService
from tools.things.validation import MAX_PAGE_LIMIT

Params = Mapping[str, Sequence[str]]
Response = tuple[int, dict[str, Any]]
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


def error_response(exc: ThingsError) -> Response:
    """The seed's status and code for a Things error; messages stay server-side (they hold paths)."""
    if isinstance(exc, NotFoundError):
        return 404, {"error": "not_found"}
    if isinstance(exc, InvalidArgumentError):
        return 400, {"error": "invalid_argument", "field": exc.field}
    if isinstance(exc, DatabaseLockedError):
        return 503, {"error": "things_database_locked"}
    if isinstance(exc, DatabaseUnreadableError):
        return 503, {"error": "things_permission_denied"}
    return 502, {"error": "things_unavailable"}


def _guard(call: Callable[[], Response]) -> Response:
    try:
        return call()
    except ThingsError as exc:
        return error_response(exc)


def list_todos(service: ThingsService, params: Params) -> Response:
    """``GET /things-bridge/v1/todos?list=&project=&area=&tag=&status=&q=&limit=&offset=`` plus the date filters
    ``created_after``, ``created_before``, ``modified_after``, ``completed_after``, ``completed_before`` and
    ``deadline_before`` (``YYYY-MM-DD``)."""

    def run() -> Response:
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
        return 200, {**body, "limit": page.limit, "offset": page.offset}

    return _guard(run)


def get_todo(service: ThingsService, todo_id: str) -> Response:
    """``GET /things-bridge/v1/todos/{id}``; a malformed id is simply not found, as in the seed."""
    if not is_valid_id(todo_id):
        return 404, {"error": "not_found"}
    return _guard(lambda: (200, {"todo": todo_json(service.get_todo(todo_id))}))


def list_projects(service: ThingsService, params: Params) -> Response:
    """``GET /things-bridge/v1/projects?list=&area=&tag=&status=&q=&limit=&offset=`` (open ones by default)."""

    def run() -> Response:
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
        return 200, {**body, "limit": page.limit, "offset": page.offset}

    return _guard(run)


def get_project(service: ThingsService, project_id: str) -> Response:
    """``GET /things-bridge/v1/projects/{id}``."""
    if not is_valid_id(project_id):
        return 404, {"error": "not_found"}
    return _guard(lambda: (200, {"project": project_json(service.get_project(project_id))}))


def list_areas(service: ThingsService, params: Params | None = None) -> Response:
    """``GET /things-bridge/v1/areas``."""
    return _guard(lambda: (200, {"areas": [area_json(a) for a in service.list_areas()]}))


def get_area(service: ThingsService, area_id: str) -> Response:
    """``GET /things-bridge/v1/areas/{id}``."""
    if not is_valid_id(area_id):
        return 404, {"error": "not_found"}
    return _guard(lambda: (200, {"area": area_json(service.get_area(area_id))}))


_COLLECTIONS: dict[str, Callable[[ThingsService, Params], Response]] = {
    "todos": list_todos,
    "projects": list_projects,
    "areas": list_areas,
}
_ITEMS: dict[str, Callable[[ThingsService, str], Response]] = {
    "todos": get_todo,
    "projects": get_project,
    "areas": get_area,
}


def handle_get(service: ThingsService, path: str, params: Params) -> Response:
    """Route a GET by path (already split from its query string); unknown paths are 404."""
    if not path.startswith(PREFIX + "/"):
        return 404, {"error": "not_found"}
    parts = path[len(PREFIX) + 1 :].split("/")
    if len(parts) == 1 and parts[0] in _COLLECTIONS:
        return _COLLECTIONS[parts[0]](service, params)
    if len(parts) == 2 and parts[0] in _ITEMS:
        return _ITEMS[parts[0]](service, parts[1])
    return 404, {"error": "not_found"}
