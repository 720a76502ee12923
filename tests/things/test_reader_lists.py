"""Built-in lists, filters and pagination on generated sample databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.things.conftest import TODAY, FakeClock, make_service, noon
from tools.things.dates import encode_packed_date
from tools.things.lists import LIST_PREDICATES, ListFields, classify
from tools.things.models import LIST_IDS, Todo
from tools.things.sample import SampleDatabase
from tools.things.service import ThingsService


def titles(todos: list[Todo]) -> list[str]:
    return [t.title for t in todos]


def everything(service: ThingsService, **filters: str) -> list[Todo]:
    items: list[Todo] = []
    while True:
        page = service.list_todos(limit=500, offset=len(items), **filters)
        items += page.items
        if len(items) >= page.total:
            return items


@pytest.mark.parametrize("list_id", LIST_IDS)
def test_every_built_in_list_is_populated_in_the_sample(service: ThingsService, list_id: str) -> None:
    page = service.list_todos(list=list_id, limit=5)
    assert page.total > 0
    assert all(t.list == list_id or list_id in ("anytime", "inbox") for t in page.items)


def test_inbox_holds_unfiled_items(service: ThingsService) -> None:
    inbox = everything(service, list="inbox")
    assert "Buy milk" in titles(inbox)
    assert all(t.project is None and t.area is None and t.status == "open" for t in inbox)


def test_today_includes_started_scheduled_for_today_and_overdue_items(service: ThingsService) -> None:
    today = titles(everything(service, list="today"))
    assert {"Pay rent", "Read a chapter", "Call the bank", "Renew passport"} <= set(today)


def test_today_leaves_out_overdue_items_whose_deadline_was_suppressed(service: ThingsService) -> None:
    assert "Renew licence" not in titles(everything(service, list="today"))
    assert "Renew licence" in titles(everything(service, list="anytime"))


def test_today_puts_this_evening_last_and_marks_it(service: ThingsService) -> None:
    today = everything(service, list="today")
    evening_flags = [t.evening for t in today]
    assert evening_flags == sorted(evening_flags)
    reading = next(t for t in today if t.title == "Read a chapter")
    assert reading.evening and reading.reminder is not None and reading.reminder.strftime("%H:%M") == "21:15"


def test_upcoming_holds_future_scheduled_items_in_date_order(service: ThingsService) -> None:
    upcoming = everything(service, list="upcoming")
    dates = [t.start_date for t in upcoming]
    assert all(d is not None and d > TODAY for d in dates)
    assert dates == sorted(dates)  # type: ignore[type-var]
    assert "Dentist appointment" in titles(upcoming)


def test_someday_holds_unscheduled_deferred_items(service: ThingsService) -> None:
    someday = everything(service, list="someday")
    assert "Learn to juggle" in titles(someday)
    assert all(t.start_date is None for t in someday)


def test_logbook_holds_completed_and_canceled_items_newest_first(service: ThingsService) -> None:
    logbook = everything(service, list="logbook")
    assert {"File taxes", "Book hotel"} <= set(titles(logbook))
    assert {t.status for t in logbook} == {"completed", "canceled"}
    stops = [t.completed for t in logbook]
    assert all(s is not None for s in stops)
    assert stops == sorted(stops, reverse=True)  # type: ignore[type-var]


def test_trash_holds_trashed_items_and_items_of_trashed_containers(service: ThingsService) -> None:
    trash = titles(everything(service, list="trash"))
    assert {"Old idea", "Task in trashed project", "Task under trashed heading"} <= set(trash)


def test_items_in_a_trashed_project_or_under_a_trashed_heading_are_hidden_from_other_lists(
    service: ThingsService,
) -> None:
    visible = set(titles(everything(service)))
    assert "Task in trashed project" not in visible
    assert "Task under trashed heading" not in visible
    assert "Old idea" not in visible
    assert "Price the old bike" in visible


def test_repeating_templates_are_hidden_but_instances_are_shown_as_repeating(service: ThingsService) -> None:
    waters = [t for t in everything(service) if t.title == "Water plants"]
    assert len(waters) == 2  # one open instance, one completed: no template
    assert all(t.repeating for t in waters)


def test_sql_lists_and_the_python_classifier_agree_on_every_item(
    service: ThingsService, sample_db: SampleDatabase
) -> None:
    for list_id in LIST_IDS:
        for todo in everything(service, list=list_id):
            # Each to-do's own list is the list itself, except that Anytime contains Today's
            # started items and the Inbox contains its overdue items, whose own list is Today.
            assert todo.list == list_id or (list_id, todo.list) in {("anytime", "today"), ("inbox", "today")}


def test_classifier_puts_overdue_inbox_items_in_today() -> None:
    today = encode_packed_date(TODAY)
    row = ListFields(status=0, trashed=False, start=0, start_date=None, deadline=today - 128, deadline_suppressed=False)
    assert classify(row, today) == "today"
    assert set(LIST_PREDICATES) == set(LIST_IDS)


def test_pagination_reports_the_total_and_pages_do_not_overlap(service: ThingsService) -> None:
    first = service.list_todos(list="anytime", limit=7, offset=0)
    second = service.list_todos(list="anytime", limit=7, offset=7)
    assert first.total == second.total > 14
    assert len(first.items) == len(second.items) == 7
    assert not {t.id for t in first.items} & {t.id for t in second.items}
    assert len(everything(service, list="anytime")) == first.total


def test_an_offset_past_the_end_gives_an_empty_page_with_the_total(service: ThingsService) -> None:
    page = service.list_todos(list="inbox", limit=10, offset=100_000)
    assert page.items == [] and page.total > 0


def test_project_filter_includes_items_under_the_projects_headings(
    service: ThingsService, sample_db: SampleDatabase
) -> None:
    project_id = sample_db.ids["Launch website"]
    items = everything(service, project_id=project_id)
    assert {"Draft launch email", "Pick a domain"} <= set(titles(items))
    assert all(t.project is not None and t.project.id == project_id for t in items)
    assert any(t.heading is not None for t in items)


def test_area_filter_includes_items_of_the_areas_projects(service: ThingsService, sample_db: SampleDatabase) -> None:
    area_id = sample_db.ids["area:Work"]
    items = everything(service, area_id=area_id)
    assert "Draft launch email" in titles(items)  # in project "Launch website", area Work
    assert all(t.area is not None and t.area.id == area_id for t in items)


def test_tag_and_status_filters_combine(service: ThingsService) -> None:
    money_done = everything(service, tag="money", status="completed")
    assert "File taxes" in titles(money_done)
    assert all("money" in t.tags and t.status == "completed" for t in money_done)


def test_text_search_matches_title_or_notes_case_insensitively(service: ThingsService) -> None:
    assert "Pay rent" in titles(everything(service, query="PAY RENT"))
    by_notes = everything(service, query="weekend rate")
    assert by_notes and all("weekend rate" in t.notes for t in by_notes)


def test_text_search_treats_like_wildcards_literally(service: ThingsService) -> None:
    assert service.list_todos(query="%").total == 0
    assert service.list_todos(query="_").total == 0


def test_to_do_carries_tags_checklist_containers_and_dates(service: ThingsService) -> None:
    rent = everything(service, query="Pay rent")[0]
    assert rent.tags == ["money", "Important"] or set(rent.tags) == {"money", "Important"}
    assert len(rent.checklist) == 3 and rent.checklist[0].title == "Step 1"
    assert rent.area is not None and rent.area.title == "Personal"
    assert rent.start_date == TODAY and rent.list == "today"
    assert rent.created is not None and rent.created.utcoffset() == timedelta(hours=2)


def test_get_todo_returns_trashed_items_marked_as_trash(service: ThingsService, sample_db: SampleDatabase) -> None:
    todo = service.get_todo(sample_db.ids["Task in trashed project"])
    assert todo.list == "trash"


def test_today_flips_at_local_midnight(sample_db: SampleDatabase) -> None:
    """At 23:59:59 on the 15th the dentist (starting the 16th) is upcoming; a second later it is today."""
    before = datetime(2025, 6, 15, 23, 59, 59, tzinfo=ZoneInfo("Europe/Berlin"))
    late = make_service(sample_db.path, FakeClock(before))
    early = make_service(sample_db.path, FakeClock(before + timedelta(seconds=1)))
    assert "Dentist appointment" in titles(everything(late, list="upcoming"))
    assert "Dentist appointment" not in titles(everything(late, list="today"))
    assert "Dentist appointment" in titles(everything(early, list="today"))


def test_the_same_instant_is_a_different_day_in_two_time_zones(sample_db: SampleDatabase) -> None:
    instant = datetime(2025, 6, 15, 22, 30, tzinfo=UTC)  # 00:30 on the 16th in Berlin, 18:30 on the 15th in New York
    berlin = make_service(sample_db.path, FakeClock(instant), ZoneInfo("Europe/Berlin"))
    new_york = make_service(sample_db.path, FakeClock(instant), ZoneInfo("America/New_York"))
    assert "Dentist appointment" in titles(everything(berlin, list="today"))
    assert "Dentist appointment" in titles(everything(new_york, list="upcoming"))
    created_b = berlin.get_todo(everything(berlin, query="Buy milk")[0].id).created
    created_n = new_york.get_todo(everything(new_york, query="Buy milk")[0].id).created
    assert created_b == created_n and created_b is not None and created_n is not None
    assert created_b.utcoffset() != created_n.utcoffset()


def test_today_is_never_taken_from_sqlite_clock(sample_db: SampleDatabase) -> None:
    """A clock years away from the real date still decides what Today is."""
    far = make_service(sample_db.path, FakeClock(noon(date(2030, 1, 1))))
    assert "Dentist appointment" in titles(everything(far, list="today"))
    assert (
        far.list_todos(list="upcoming").total
        < make_service(sample_db.path, FakeClock(noon(TODAY))).list_todos(list="upcoming").total
    )
