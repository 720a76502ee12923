"""Writes through the Linux Things double, confirmed by reading the database back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.things.conftest import WritableThings
from tools.things.errors import InvalidArgumentError, NotFoundError, RateLimitedError, ThingsError
from tools.things.ratelimit import ItemRateLimiter
from tools.things.urlscheme import build_url, parse_url
from tools.things.writes import ThingsWriter


def test_add_todo_appears_in_today_with_tags_and_checklist(writable: WritableThings) -> None:
    result = writable.service.add_todo(title="Pay rent", when="today", tags=["money"], checklist=["Transfer", "File"])
    assert result.status == "confirmed" and result.id is not None
    todo = writable.service.get_todo(result.id)
    assert todo.list == "today" and todo.tags == ["money"]
    assert [c.title for c in todo.checklist] == ["Transfer", "File"]
    assert todo.created is not None and todo.created == writable.clock.now
    assert result.summary == "Add to-do 'Pay rent' to Today, tags: 'money', 2 checklist items"


def test_add_todo_without_when_lands_in_the_inbox(writable: WritableThings) -> None:
    result = writable.service.add_todo(title="Unsorted thought", notes="Details\nmore")
    assert writable.service.get_todo(result.id or "").list == "inbox"
    assert writable.service.get_todo(result.id or "").notes == "Details\nmore"


def test_add_todo_into_a_project_heading_with_a_deadline_and_evening(writable: WritableThings) -> None:
    ids = writable.sample.ids
    heading = next(k for k in ids if k.startswith("Launch website/"))
    result = writable.service.add_todo(
        title="Compare registrars", when="evening", deadline="2025-06-20", heading_id=ids[heading]
    )
    todo = writable.service.get_todo(result.id or "")
    assert todo.heading is not None and todo.project is not None and todo.project.title == "Launch website"
    assert todo.evening and todo.deadline is not None and todo.deadline.isoformat() == "2025-06-20"


def test_add_todo_scheduled_in_the_future_with_a_reminder_is_upcoming(writable: WritableThings) -> None:
    result = writable.service.add_todo(
        title="Dentist", when="2025-07-01@09:30", area_id=writable.sample.ids["area:Health"]
    )
    todo = writable.service.get_todo(result.id or "")
    assert todo.list == "upcoming" and todo.reminder is not None and todo.area is not None


def test_a_title_with_url_syntax_arrives_intact(writable: WritableThings) -> None:
    title = "Ask Bob & Alice = 50/50? #split auth-token=x 100%"
    result = writable.service.add_todo(title=title)
    assert result.status == "confirmed"
    assert writable.service.get_todo(result.id or "").title == title


def test_unknown_tags_are_refused_before_anything_is_sent(writable: WritableThings) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        writable.service.add_todo(title="t", tags=["no such tag"])
    assert info.value.field == "tags" and writable.app.commands == []


def test_writes_to_missing_containers_are_not_found(writable: WritableThings) -> None:
    with pytest.raises(NotFoundError):
        writable.service.add_todo(title="t", project_id="B" * 22)
    with pytest.raises(NotFoundError):
        writable.service.update_todo("B" * 22, title="x")
    with pytest.raises(NotFoundError):  # a trashed to-do cannot be updated
        writable.service.update_todo(writable.sample.ids["Old idea"], title="x")


def test_add_project_with_to_dos(writable: WritableThings) -> None:
    result = writable.service.add_project(
        title="Move house", area_id=writable.sample.ids["area:Personal"], todos=["Book van", "Pack"], tags=["Home"]
    )
    assert result.status == "confirmed" and result.id is not None
    project = writable.service.get_project(result.id)
    assert project.todo_count == 2 and project.tags == ["Home"] and project.area is not None
    assert result.summary.startswith("Add project 'Move house' to area")


def test_update_todo_renames_appends_notes_adds_tags_and_bumps_the_modification_time(
    writable: WritableThings,
) -> None:
    todo_id = writable.sample.ids["Buy milk"]
    writable.clock.now += timedelta(minutes=5)
    result = writable.service.update_todo(todo_id, title="Buy oat milk", append_notes="2 litres", add_tags=["Home"])
    assert result.status == "confirmed" and result.id == todo_id
    todo = writable.service.get_todo(todo_id)
    assert todo.title == "Buy oat milk" and todo.notes.endswith("2 litres")
    assert set(todo.tags) == {"Errand", "Home"}
    assert todo.modified == writable.clock.now


def test_update_todo_moves_and_completes(writable: WritableThings) -> None:
    todo_id = writable.sample.ids["Buy milk"]
    writable.service.update_todo(todo_id, project_id=writable.sample.ids["Launch website"])
    assert writable.service.get_todo(todo_id).project is not None
    writable.clock.now += timedelta(seconds=1)
    writable.service.update_todo(todo_id, completed=True)
    todo = writable.service.get_todo(todo_id)
    assert todo.status == "completed" and todo.list == "logbook"
    with pytest.raises(InvalidArgumentError):
        writable.service.update_todo(todo_id, canceled=True)


def test_update_with_a_wrong_auth_token_changes_nothing_and_is_only_submitted(writable: WritableThings) -> None:
    import sqlite3

    # A known token lets the test swap it in flight for a stale one, as if Things had regenerated it.
    with sqlite3.connect(writable.sample.path) as conn:
        conn.execute("UPDATE TMSettings SET uriSchemeAuthenticationToken = 'other'")
    conn.close()
    todo_id = writable.sample.ids["Buy milk"]
    original = writable.app.open

    def open_with_stale_token(url: str) -> None:
        original(url.replace("auth-token=other", "auth-token=stale"))

    writable.app.open = open_with_stale_token  # type: ignore[method-assign]
    result = writable.service.update_todo(todo_id, title="Hijacked")
    assert result.status == "submitted" and result.id == todo_id
    assert writable.service.get_todo(todo_id).title == "Buy milk"
    assert writable.app.errors == ["update: auth token rejected"]
    assert writable.sleeps == [0.1, 0.2]  # polled three times, backing off, injected sleep, no real waiting
    assert result.note is not None and "Enable Things URLs" in result.note


def test_writes_past_things_rate_limit_are_refused_until_the_window_moves() -> None:
    clock = [0.0]
    limiter = ItemRateLimiter(lambda: clock[0])
    for _ in range(250):
        limiter.acquire(1)
    with pytest.raises(RateLimitedError) as info:
        limiter.acquire(1)
    assert info.value.code == "rate_limited" and info.value.retry_after_seconds == pytest.approx(10.0)
    clock[0] = 10.0
    limiter.acquire(1)


def test_a_project_with_many_to_dos_counts_every_item_against_the_rate_limit(writable: WritableThings) -> None:
    for i in range(2):
        writable.service.add_project(title=f"P{i}", todos=[f"t{j}" for j in range(100)])
    with pytest.raises(ThingsError) as info:
        writable.service.add_project(title="P3", todos=[f"t{j}" for j in range(100)])
    assert info.value.code == "rate_limited"
    writable.clock.monotonic_seconds += 10
    assert writable.service.add_project(title="P3", todos=["a"]).status == "confirmed"


def test_updates_offer_no_parameter_that_replaces_notes_tags_or_checklists() -> None:
    from tools.things.urlscheme import PARAMETERS

    assert "notes" not in PARAMETERS["update"] and "tags" not in PARAMETERS["update"]
    assert "prepend-notes" not in PARAMETERS["update"] and "checklist-items" not in PARAMETERS["update"]


def test_the_double_ignores_unknown_tags_like_things(writable: WritableThings) -> None:
    from tools.things.urlscheme import build_url

    writable.app.open(build_url("add", [("title", "Tagged"), ("tags", "money,Nope")]))
    page = writable.service.list_todos(query="Tagged")
    assert page.items[0].tags == ["money"]


def test_a_heading_alone_is_sent_with_its_project_as_list_id(writable: WritableThings) -> None:
    """Things ignores heading-id unless list-id names the heading's project; the to-do would land elsewhere
    while the read-back (by title) still said confirmed."""
    ids = writable.sample.ids
    heading = next(k for k in ids if k.startswith("Launch website/"))
    sent: list[str] = []
    original = writable.app.open

    def recording(url: str) -> None:
        sent.append(url)
        original(url)

    writable.app.open = recording  # type: ignore[method-assign]
    result = writable.service.add_todo(title="Book venue", heading_id=ids[heading])
    _command, params = parse_url(sent[0])
    assert params["heading-id"] == ids[heading] and params["list-id"] == ids["Launch website"]
    assert result.status == "confirmed" and writable.app.errors == []
    assert writable.service.get_todo(result.id or "").heading is not None


def test_the_stand_in_refuses_a_heading_without_its_project_as_things_would_ignore_it(
    writable: WritableThings,
) -> None:
    ids = writable.sample.ids
    heading = next(k for k in ids if k.startswith("Launch website/"))
    writable.app.open(build_url("add", [("title", "Lost to-do"), ("heading-id", ids[heading])]))
    writable.app.open(
        build_url("add", [("title", "Lost to-do"), ("heading-id", ids[heading]), ("list-id", ids["Buy milk"])])
    )
    assert [e.split(":")[0:2] for e in writable.app.errors] == [["add", " refused"], ["add", " refused"]]
    assert writable.service.search("Lost to-do").total == 0


def test_a_heading_with_an_area_is_refused_before_anything_is_sent(writable: WritableThings) -> None:
    ids = writable.sample.ids
    heading = next(k for k in ids if k.startswith("Launch website/"))
    area = next(iter(a.id for a in writable.service.list_areas()))
    with pytest.raises(InvalidArgumentError):
        writable.service.add_todo(title="x", heading_id=ids[heading], area_id=area)
    assert writable.app.commands == []


def test_the_read_back_waits_long_enough_for_things_to_start() -> None:
    writer = ThingsWriter(lambda url: None, ItemRateLimiter(lambda: 0.0), sleep=lambda s: None)  # type: ignore[arg-type]
    assert writer.confirm_window_seconds >= 8.0
