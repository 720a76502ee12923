"""ThingsService: gets by id, projects, areas, tags, search and the error codes for bad input."""

from __future__ import annotations

import pytest

from tools.things.errors import InvalidArgumentError, NotFoundError, ThingsError, WriteUnavailableError
from tools.things.sample import SampleDatabase
from tools.things.service import ThingsService

MISSING_ID = "AAAAAAAAAAAAAAAAAAAAAA"


def test_get_todo_returns_the_to_do(service: ThingsService, sample_db: SampleDatabase) -> None:
    todo = service.get_todo(sample_db.ids["Pay rent"])
    assert todo.title == "Pay rent" and todo.type == "to-do"


def test_get_project_returns_headings_and_counts(service: ThingsService, sample_db: SampleDatabase) -> None:
    project = service.get_project(sample_db.ids["Launch website"])
    assert project.area is not None and project.area.title == "Work"
    assert project.tags == ["Work"]
    assert "Planning" in [h.title for h in project.headings]
    assert project.todo_count >= project.open_todo_count >= 2


def test_list_projects_hides_trashed_projects_and_filters_by_status_and_area(
    service: ThingsService, sample_db: SampleDatabase
) -> None:
    default_titles = [p.title for p in service.list_projects(limit=500).items]
    assert "Abandoned plan" not in default_titles and "Shipped v1" not in default_titles  # open ones only
    completed = [p.title for p in service.list_projects(status="completed", limit=500).items]
    assert "Shipped v1" in completed
    work = service.list_projects(area_id=sample_db.ids["area:Work"])
    assert work.total == 3 and all(p.area is not None and p.area.title == "Work" for p in work.items)


def test_list_areas_and_tags(service: ThingsService) -> None:
    areas = service.list_areas()
    assert [a.title for a in areas] == ["Work", "Personal", "Home & Garden", "Health"]
    assert areas[0].tags == ["Work"]
    tags = {t.title: t for t in service.list_tags()}
    assert tags["urgent"].parent is not None and tags["urgent"].parent.title == "Important"
    assert tags["Errand"].shortcut == "e"


def test_get_area(service: ThingsService, sample_db: SampleDatabase) -> None:
    assert service.get_area(sample_db.ids["area:Health"]).title == "Health"


def test_search_finds_to_dos_of_any_status(service: ThingsService) -> None:
    page = service.search("taxes", limit=50)
    assert "File taxes" in [t.title for t in page.items]


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda s: s.get_todo(MISSING_ID), "not_found"),
        (lambda s: s.get_project(MISSING_ID), "not_found"),
        (lambda s: s.get_area(MISSING_ID), "not_found"),
        (lambda s: s.list_todos(project_id=MISSING_ID), "not_found"),
        (lambda s: s.list_todos(area_id=MISSING_ID), "not_found"),
        (lambda s: s.get_todo("x' OR 1=1 --"), "invalid_argument"),
        (lambda s: s.get_todo(""), "invalid_argument"),
        (lambda s: s.list_todos(list="tomorrow"), "invalid_argument"),
        (lambda s: s.list_todos(status="done"), "invalid_argument"),
        (lambda s: s.list_todos(limit=0), "invalid_argument"),
        (lambda s: s.list_todos(limit=501), "invalid_argument"),
        (lambda s: s.list_todos(offset=-1), "invalid_argument"),
        (lambda s: s.list_todos(query="a\x00b"), "invalid_argument"),
        (lambda s: s.list_todos(tag="x" * 500), "invalid_argument"),
        (lambda s: s.search(""), "invalid_argument"),
        (lambda s: s.add_todo(title="x"), "write_unavailable"),
    ],
)
def test_bad_ids_and_parameters_raise_the_documented_error_codes(service: ThingsService, call, code) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ThingsError) as info:
        call(service)
    assert info.value.code == code


def test_the_project_of_a_to_do_is_not_a_project_id_for_get_todo(
    service: ThingsService, sample_db: SampleDatabase
) -> None:
    with pytest.raises(NotFoundError):
        service.get_todo(sample_db.ids["Launch website"])


def test_applescript_list_ids_are_accepted(service: ThingsService) -> None:
    assert service.list_todos(list="TMTodayListSource").total == service.list_todos(list="today").total


def test_error_classes_carry_their_field(service: ThingsService) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        service.list_todos(limit=0)
    assert info.value.field == "limit"
    assert WriteUnavailableError.code == "write_unavailable"
