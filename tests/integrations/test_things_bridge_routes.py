"""The seed's ``/things-bridge/v1`` routes on a real daemon over HTTP, decided by the gate."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import anyio
import pytest

from mcp_server.client.http import HttpResult, request_json
from tests.integrations.conftest import ThingsDaemon

WAIT_SECONDS = 10.0


def get(daemon: ThingsDaemon, path: str, token: str | None) -> HttpResult:
    return request_json("GET", daemon.url + "/things-bridge/v1" + path, bearer=token)


def test_todos_are_listed_in_the_seed_shape_with_filters(things_daemon: ThingsDaemon) -> None:
    token = things_daemon.token(things_read="allow")
    result = get(things_daemon, "/todos?list=TMTodayListSource&tag=money", token)
    assert result.status == 200
    [todo] = result.body["todos"]
    assert todo["name"] == "Pay rent" and "money" in todo["tag_names"]
    assert set(todo) >= {"id", "name", "notes", "status", "project_id", "area_name", "due_date", "creation_date"}
    assert result.body["total"] == 1


def test_single_items_are_read_by_id(things_daemon: ThingsDaemon) -> None:
    token = things_daemon.token(things_read="allow")
    ids = things_daemon.sample.ids
    todo = get(things_daemon, f"/todos/{ids['Buy milk']}", token)
    project = get(things_daemon, f"/projects/{ids['Launch website']}", token)
    area = get(things_daemon, f"/areas/{ids['area:Work']}", token)
    projects = get(things_daemon, f"/projects?area={ids['area:Work']}", token)
    areas = get(things_daemon, "/areas", token)
    assert (todo.status, todo.body["todo"]["name"]) == (200, "Buy milk")
    assert (project.status, project.body["project"]["name"]) == (200, "Launch website")
    assert (area.status, area.body["area"]["name"]) == (200, "Work")
    assert "Launch website" in {p["name"] for p in projects.body["projects"]}
    assert "Work" in {a["name"] for a in areas.body["areas"]}


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/todos/AAAAAAAAAAAAAAAAAAAAAA", 404, "not_found"),
        ("/todos/not-an-id", 404, "not_found"),
        ("/todos/" + quote("../..", safe=""), 404, "not_found"),
        ("/areas/AAAAAAAAAAAAAAAAAAAAAA", 404, "not_found"),
        ("/todos?status=done", 400, "invalid_argument"),
        ("/todos?list=Tomorrow", 400, "invalid_argument"),
        ("/todos?limit=abc", 400, "invalid_argument"),
        ("/projects?limit=501", 400, "invalid_argument"),
        ("/todos?project=bad", 400, "invalid_argument"),
    ],
)
def test_bad_ids_and_parameters_are_4xx_with_the_seed_codes(
    things_daemon: ThingsDaemon, path: str, status: int, code: str
) -> None:
    result = get(things_daemon, path, things_daemon.token(things_read="allow"))
    assert (result.status, result.error_code) == (status, code)


def test_a_missing_or_unknown_token_is_401_unauthorized(things_daemon: ThingsDaemon) -> None:
    missing = get(things_daemon, "/todos", None)
    forged = get(things_daemon, "/todos", "aa_notatoken_0000")
    assert (missing.status, missing.error_code) == (401, "unauthorized")
    assert (forged.status, forged.error_code) == (401, "unauthorized")
    assert missing.headers["www-authenticate"].startswith("Bearer")


def test_a_token_without_things_read_is_403_scope_denied(things_daemon: ThingsDaemon) -> None:
    result = get(things_daemon, "/areas", things_daemon.token(things_write="allow"))
    assert (result.status, result.error_code) == (403, "scope_denied")


def test_an_expired_token_is_401_token_expired_so_the_client_refreshes(things_daemon: ThingsDaemon) -> None:
    issued = things_daemon.running.create_family({"things:read": "allow"}, now=1_000_000.0)
    result = get(things_daemon, "/areas", issued.access_token)
    assert (result.status, result.error_code) == (401, "token_expired")


def test_every_bridge_decision_is_audited(things_daemon: ThingsDaemon) -> None:
    get(things_daemon, "/areas", things_daemon.token(things_read="allow"))
    entries = [json.loads(line) for line in things_daemon.running.settings.audit_log_path.read_text().splitlines()]
    decisions = [e for e in entries if e["event"] == "decision" and e["target"] == "GET /things-bridge/v1/areas"]
    assert [(d["outcome"], d["scope"]) for d in decisions] == [("allow", "things:read")]


@pytest.mark.anyio
async def test_a_prompt_tier_read_waits_for_approval(things_daemon: ThingsDaemon) -> None:
    token = things_daemon.token(things_read="prompt")
    broker = things_daemon.ctx.broker
    shown: list[dict[str, Any]] = []

    def approve_when_asked() -> None:
        # Runs on the daemon's loop: decide the first approval that shows up.
        def on_event(kind: str, data: dict[str, Any]) -> None:
            if kind == "approval.created":
                shown.append(data)
                broker.decide(data["id"], approved=True, decided_by="test")

        broker.subscribe(on_event)

    things_daemon.running.in_loop(approve_when_asked)
    with anyio.fail_after(WAIT_SECONDS):
        result = await anyio.to_thread.run_sync(lambda: get(things_daemon, "/todos?list=today", token))
    assert result.status == 200 and result.body["todos"]
    assert [a["scope"] for a in shown] == ["things:read"]
    assert shown[0]["summary"] == "List to-dos in today"


def test_the_daemon_announces_which_things_data_it_serves(things_daemon: ThingsDaemon) -> None:
    lines = things_daemon.ctx.announce_lines
    assert any(line.startswith("Things data: ") and str(things_daemon.sample.path) in line for line in lines)
