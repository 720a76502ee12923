"""The reads agents asked for: the Logbook over a period, deadlines, recent items, headings, tag usage, dated search."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.things.conftest import TODAY
from tools.things.errors import InvalidArgumentError, NotFoundError
from tools.things.models import Project, Todo
from tools.things.sample import SampleDatabase
from tools.things.service import ThingsService


def test_logbook_over_a_period_holds_what_was_finished_then(service: ThingsService) -> None:
    week = service.logbook(since=str(TODAY - timedelta(days=6)), until=str(TODAY), limit=500)
    titles = {i.title for i in week.items}
    assert {"File taxes", "Book hotel", "Shipped v1"} <= titles  # finished 1-2 h and one day ago
    assert all(i.completed is not None and i.completed.date() >= TODAY - timedelta(days=7) for i in week.items)
    everything = service.logbook(limit=500)
    assert everything.total > week.total


def test_logbook_period_bounds_are_checked(service: ThingsService) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        service.logbook(since="2025-06-10", until="2025-06-01")
    assert info.value.field == "completed_before"
    with pytest.raises(InvalidArgumentError):
        service.logbook(since="last week")


def test_deadlines_are_open_items_soonest_first(service: ThingsService) -> None:
    page = service.deadlines(limit=500)
    dates = [i.deadline for i in page.items]
    assert all(d is not None for d in dates) and dates == sorted(d for d in dates if d is not None)
    assert all(i.status == "open" for i in page.items)
    assert {"Renew passport", "Dentist appointment", "Reply to landlord", "Renovate the attic"} <= {
        i.title for i in page.items
    }
    soon = service.deadlines(until=str(TODAY), limit=500)
    assert all(i.deadline is not None and i.deadline <= TODAY for i in soon.items)
    assert soon.total < page.total


def test_recent_items_are_newest_first_and_include_projects(service: ThingsService) -> None:
    page = service.recent(since=str(TODAY - timedelta(days=30)), limit=500)
    created = [i.created for i in page.items]
    assert created == sorted(created, key=lambda c: c.timestamp() if c else 0, reverse=True)
    assert page.total > 0
    changed = service.recent(changed=True, limit=5)
    assert changed.items and all(isinstance(i, Todo | Project) for i in changed.items)


def test_headings_of_a_project_and_of_all_live_projects(service: ThingsService, sample_db: SampleDatabase) -> None:
    novel = service.list_headings(sample_db.ids["Write a novel"])
    assert [(h.title, h.open_todo_count) for h in novel] == [("Part one", 1)]
    everywhere = service.list_headings()
    assert "Trashed heading" not in [h.title for h in everywhere]
    assert {h.project.title for h in everywhere} >= {"Write a novel"}
    with pytest.raises(NotFoundError):
        service.list_headings("A" * 22)


def test_tag_usage_counts_open_and_all_items(service: ThingsService) -> None:
    usage = {u.title: u for u in service.tag_usage()}
    assert set(usage) == {t.title for t in service.list_tags()}
    money = service.list_todos(tag="money", limit=500)
    assert usage["money"].total_count >= money.total
    assert usage["urgent"].open_count >= 1  # Reply to landlord


def test_search_with_date_filters(service: ThingsService) -> None:
    all_rent = service.search("rent", limit=500)
    recent = service.search("rent", created_after=str(TODAY - timedelta(days=30)), limit=500)
    assert recent.total <= all_rent.total
    assert all(t.created is not None and t.created.date() >= TODAY - timedelta(days=31) for t in recent.items)
    done = service.search("taxes", completed_after=str(TODAY), limit=50)
    assert "File taxes" in [t.title for t in done.items]
