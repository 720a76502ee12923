"""The seed-compatible REST handlers: shapes, filters and error codes."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from mcp_server.integrations.bridge_errors import things_bridge_answer
from tests.things.conftest import TODAY, FakeClock, make_service, noon
from tools.things import bridge
from tools.things.sample import SampleDatabase
from tools.things.service import ThingsService

TODO_KEYS = {"id", "name", "notes", "status", "project_id", "project_name", "area_id", "area_name", "tag_names",
             "due_date", "activation_date", "completion_date", "cancellation_date", "creation_date",
             "modification_date"}  # fmt: skip


def handle_get(service: ThingsService, path: str, params: bridge.Params) -> tuple[int, dict]:  # type: ignore[type-arg]
    """What the daemon answers: the handler's body, or its error in the seed's words."""
    return things_bridge_answer(lambda: bridge.handle_get(service, path, params))


def get(service: ThingsService, url: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    path, _, query = url.partition("?")
    status, body = handle_get(service, path, parse_qs(query))
    json.dumps(body)  # every body is JSON-serialisable
    return status, body


def test_list_todos_has_the_seed_shape_and_filters(service: ThingsService) -> None:
    status, body = get(service, "/things-bridge/v1/todos?list=TMTodayListSource&tag=money")
    assert status == 200
    assert set(body["todos"][0]) == TODO_KEYS
    assert "Pay rent" in [t["name"] for t in body["todos"]]
    assert body["total"] == len(body["todos"])


def test_list_todos_pages_with_limit_and_offset(service: ThingsService) -> None:
    _, first = get(service, "/things-bridge/v1/todos?list=anytime&limit=3")
    _, second = get(service, "/things-bridge/v1/todos?list=anytime&limit=3&offset=3")
    assert len(first["todos"]) == 3 and first["total"] == second["total"]
    assert first["todos"][0]["id"] != second["todos"][0]["id"]


def test_get_todo_project_and_area(service: ThingsService, sample_db: SampleDatabase) -> None:
    status, body = get(service, f"/things-bridge/v1/todos/{sample_db.ids['File taxes']}")
    assert status == 200 and body["todo"]["status"] == "completed" and body["todo"]["completion_date"]
    assert body["todo"]["cancellation_date"] is None
    status, body = get(service, f"/things-bridge/v1/projects/{sample_db.ids['Launch website']}")
    assert status == 200 and body["project"]["area_name"] == "Work" and body["project"]["tag_names"] == ["Work"]
    status, body = get(service, f"/things-bridge/v1/areas/{sample_db.ids['area:Work']}")
    assert body == {"area": {"id": sample_db.ids["area:Work"], "name": "Work", "tag_names": ["Work"]}}


def test_list_projects_and_areas(service: ThingsService, sample_db: SampleDatabase) -> None:
    status, body = get(service, f"/things-bridge/v1/projects?area={sample_db.ids['area:Work']}")
    assert status == 200 and len(body["projects"]) == 3
    status, body = get(service, "/things-bridge/v1/areas")
    assert status == 200 and len(body["areas"]) == 4


def test_upcoming_dates_are_iso_dates(service: ThingsService, sample_db: SampleDatabase) -> None:
    _, body = get(service, f"/things-bridge/v1/todos/{sample_db.ids['Dentist appointment']}")
    assert body["todo"]["activation_date"] == "2025-06-16" and body["todo"]["due_date"] == "2025-06-20"


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("/things-bridge/v1/todos/AAAAAAAAAAAAAAAAAAAAAA", 404, "not_found"),
        ("/things-bridge/v1/todos/..%2F..", 404, "not_found"),
        ("/things-bridge/v1/projects/not-an-id", 404, "not_found"),
        ("/things-bridge/v1/areas/AAAAAAAAAAAAAAAAAAAAAA", 404, "not_found"),
        ("/things-bridge/v1/nothing", 404, "not_found"),
        ("/things-bridge/v1/todos/a/b", 404, "not_found"),
        ("/elsewhere", 404, "not_found"),
        ("/things-bridge/v1/todos?status=done", 400, "invalid_argument"),
        ("/things-bridge/v1/todos?list=Tomorrow", 400, "invalid_argument"),
        ("/things-bridge/v1/todos?limit=-1", 400, "invalid_argument"),
        ("/things-bridge/v1/todos?limit=abc", 400, "invalid_argument"),
        ("/things-bridge/v1/todos?limit=501", 400, "invalid_argument"),
        ("/things-bridge/v1/todos?project=bad", 400, "invalid_argument"),
        ("/things-bridge/v1/todos?project=AAAAAAAAAAAAAAAAAAAAAA", 404, "not_found"),
    ],
)
def test_bad_paths_and_parameters_get_the_seed_error_codes(
    service: ThingsService, url: str, status: int, code: str
) -> None:
    assert get(service, url)[0] == status
    assert get(service, url)[1]["error"] == code


def test_an_unreadable_database_is_things_permission_denied(tmp_path: Path) -> None:
    (tmp_path / "main.sqlite").mkdir()
    status, body = get(make_service(tmp_path / "main.sqlite", FakeClock(noon(TODAY))), "/things-bridge/v1/areas")
    assert (status, body) == (503, {"error": "things_permission_denied"})


def test_a_missing_database_is_things_unavailable_without_the_path(tmp_path: Path) -> None:
    status, body = get(make_service(tmp_path / "gone.sqlite", FakeClock(noon(TODAY))), "/things-bridge/v1/todos")
    assert (status, body) == (502, {"error": "things_unavailable"})


def test_list_projects_is_open_ones_by_default_and_takes_a_list(service: ThingsService) -> None:
    status, body = handle_get(service, "/things-bridge/v1/projects", {})
    assert status == 200 and {p["status"] for p in body["projects"]} == {"open"}
    status, body = handle_get(service, "/things-bridge/v1/projects", {"list": ["TMSomedayListSource"]})
    assert status == 200 and "Write a novel" in [p["name"] for p in body["projects"]]
    assert "Launch website" not in [p["name"] for p in body["projects"]]


def test_list_todos_takes_date_filters(service: ThingsService) -> None:
    status, body = handle_get(
        service, "/things-bridge/v1/todos", {"list": ["logbook"], "completed_after": [str(TODAY)]}
    )
    assert status == 200 and "File taxes" in [t["name"] for t in body["todos"]]
    _, everything = handle_get(service, "/things-bridge/v1/todos", {"list": ["logbook"]})
    assert body["total"] < everything["total"]
    status, body = handle_get(service, "/things-bridge/v1/todos", {"completed_after": ["yesterday"]})
    assert status == 400 and body == {"error": "invalid_argument", "field": "completed_after"}
