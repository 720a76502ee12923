"""The app's semantics the reader must follow: deferred projects, projects in list views, overdue Inbox items.

Each test names a case from a real database written by Things; the sample generator produces every one.
"""

from __future__ import annotations

import sqlite3

import pytest

from tests.things.test_reader_lists import everything, titles
from tools.things.lists import ListFields, classify
from tools.things.models import LIST_IDS, Project, Todo
from tools.things.sample import SampleDatabase
from tools.things.service import ThingsService


def view(service: ThingsService, list_id: str) -> list[Todo | Project]:
    items: list[Todo | Project] = []
    while True:
        page = service.list_view(list_id, limit=500, offset=len(items))
        items += page.items
        if len(items) >= page.total:
            return items


def test_to_dos_of_a_someday_project_are_in_someday_not_anytime(service: ThingsService) -> None:
    anytime = titles(everything(service, list="anytime"))
    someday = titles(everything(service, list="someday"))
    for title in ("Outline chapters", "Research publishers"):  # direct, and under a heading
        assert title not in anytime
        assert title in someday


def test_to_dos_of_a_project_scheduled_later_are_not_in_anytime(service: ThingsService) -> None:
    assert "Book movers" not in titles(everything(service, list="anytime"))
    assert "Book movers" in titles(everything(service, list="someday"))


def test_list_field_of_a_deferred_project_s_to_do_says_someday(service: ThingsService) -> None:
    todos = {t.title: t for t in everything(service, query="Outline chapters")}
    assert todos["Outline chapters"].list == "someday"


def test_the_sql_lists_and_the_list_field_agree_for_every_to_do(service: ThingsService) -> None:
    for list_id in LIST_IDS:
        if list_id in ("inbox", "anytime"):
            continue  # these also show Today's items, as the app does
        assert {t.list for t in everything(service, list=list_id)} <= {list_id}


def test_an_overdue_inbox_to_do_is_in_today_and_says_so(service: ThingsService) -> None:
    today = {t.title: t for t in everything(service, list="today")}
    assert today["Reply to landlord"].list == "today"
    assert "Reply to landlord" in titles(everything(service, list="inbox"))


def test_a_project_scheduled_for_today_appears_in_today_typed_as_a_project(service: ThingsService) -> None:
    items = view(service, "today")
    projects = [i for i in items if i.type == "project"]
    assert "Plan the party" in [p.title for p in projects]
    assert "Pay rent" in [i.title for i in items if i.type == "to-do"]
    assert all(isinstance(p, Project) and p.list == "today" for p in projects)


@pytest.mark.parametrize(
    ("list_id", "title"),
    [
        ("anytime", "Launch website"),
        ("someday", "Write a novel"),
        ("upcoming", "Renovate the attic"),
        ("logbook", "Shipped v1"),
        ("trash", "Abandoned plan"),
    ],
)
def test_projects_appear_in_the_list_views_the_app_shows_them_in(
    service: ThingsService, list_id: str, title: str
) -> None:
    projects = {i.title: i for i in view(service, list_id) if i.type == "project"}
    assert title in projects
    assert projects[title].list == list_id or (list_id == "anytime" and projects[title].list == "today")


def test_list_view_total_counts_projects_and_to_dos(service: ThingsService) -> None:
    page = service.list_view("today", limit=5)
    assert page.total == len(view(service, "today"))
    assert page.total == len(everything(service, list="today")) + sum(
        1 for p in everything_projects(service) if p.list == "today"
    )


def everything_projects(service: ThingsService, **filters: str) -> list[Project]:
    items: list[Project] = []
    while True:
        page = service.list_projects(limit=500, offset=len(items), **filters)
        items += page.items
        if len(items) >= page.total:
            return items


def test_list_projects_returns_open_ones_unless_a_status_is_given(service: ThingsService) -> None:
    default = everything_projects(service)
    assert default and all(p.status == "open" for p in default)
    assert "Shipped v1" in [p.title for p in everything_projects(service, status="completed")]


def test_list_projects_filters_by_list(service: ThingsService) -> None:
    someday = everything_projects(service, list="someday")
    assert "Write a novel" in [p.title for p in someday]
    assert all(p.list == "someday" for p in someday)
    assert "Abandoned plan" in [p.title for p in everything_projects(service, list="trash")]


def test_area_filter_marks_to_dos_inherited_through_a_project(
    service: ThingsService, sample_db: SampleDatabase
) -> None:
    work = everything(service, area_id=sample_db.ids["area:Work"])
    inherited = {t.title: t.area_inherited for t in work}
    assert inherited["Draft launch email"] is True  # in project Launch website, which is in Work
    assert any(not flag for flag in inherited.values())


@pytest.mark.parametrize("deferred", [True, False])
def test_classifier_sends_anytime_to_dos_of_deferred_projects_to_someday(deferred: bool) -> None:
    row = ListFields(
        status=0,
        trashed=False,
        start=1,
        start_date=None,
        deadline=None,
        deadline_suppressed=False,
        project_deferred=deferred,
    )
    assert classify(row, today=1) == ("someday" if deferred else "anytime")


def test_sample_is_in_wal_mode_with_the_schema_s_version(sample_db: SampleDatabase) -> None:
    conn = sqlite3.connect(sample_db.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        (value,) = conn.execute("SELECT value FROM Meta WHERE key = 'databaseVersion'").fetchone()
    finally:
        conn.close()
    assert "<integer>24</integer>" in value


def test_sample_templates_are_shaped_as_the_app_writes_them(sample_db: SampleDatabase) -> None:
    conn = sqlite3.connect(sample_db.path)
    try:
        rows = conn.execute(
            "SELECT start, startDate, rt1_nextInstanceStartDate, rt1_instanceCreationStartDate, rt1_recurrenceRule"
            " FROM TMTask WHERE rt1_recurrenceRule IS NOT NULL"
        ).fetchall()
    finally:
        conn.close()
    assert rows
    for start, start_date, next_start, creation_start, rule in rows:
        assert start == 2 and start_date is None and next_start and creation_start
        assert b"<key>ed</key>" in rule and b"<key>rrv</key>" in rule


def test_project_counts_match_the_project_s_to_do_listing(service: ThingsService) -> None:
    for project in everything_projects(service):
        todos = everything(service, project_id=project.id)
        assert project.todo_count == len(todos), project.title
        assert project.open_todo_count == sum(1 for t in todos if t.status == "open"), project.title


def test_models_built_from_rows_are_what_validation_would_build(service: ThingsService) -> None:
    for item in view(service, "today") + view(service, "logbook") + everything(service, list="anytime"):
        assert type(item).model_validate(item.model_dump()) == item
