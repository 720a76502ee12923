"""Models built from rows without per-field validation are exactly what validation would have built."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import BaseModel, ValidationError

from tools.things.models import LIST_IDS, ChecklistItem, Project, Todo
from tools.things.service import ThingsService


def pages(service: ThingsService) -> Iterator[list[Todo | Project]]:
    for list_id in LIST_IDS:
        for offset in (0, 7):
            yield [*service.list_todos(list=list_id, limit=500, offset=offset).items]
            yield [*service.list_view(list_id, limit=500, offset=offset).items]
    yield [*service.list_todos(limit=500).items]
    yield [*service.list_todos(status="completed", limit=500).items]
    yield [*service.search("e", limit=500).items]
    yield [*service.logbook(limit=500).items]
    yield [*service.deadlines(limit=500).items]
    yield [*service.recent(since="2000-01-01", limit=500).items]
    yield [*service.list_projects(status="completed", limit=500).items]


def revalidated(item: BaseModel) -> BaseModel:
    """The model validated from its own values (Python objects: JSON would turn an aware time in a DST fold
    into a fixed offset, which Python never calls equal)."""
    return type(item).model_validate(item.model_dump())


def test_every_served_item_validates_against_its_schema_and_dumps_the_same(service: ThingsService) -> None:
    seen = 0
    for page in pages(service):
        for item in page:
            again = revalidated(item)
            assert again == item
            assert again.model_dump_json() == item.model_dump_json()
            assert type(item).model_validate_json(item.model_dump_json()).model_dump_json() == item.model_dump_json()
            assert list(item.__dict__) == list(type(item).model_fields)
            assert item.model_fields_set == set(type(item).model_fields) - {"type"}  # as validation records it
            if isinstance(item, Todo):
                for entry in item.checklist:
                    assert isinstance(entry, ChecklistItem) and revalidated(entry) == entry
            seen += 1
    assert seen > 1000


def test_to_dos_built_from_rows_are_frozen_and_share_no_list(service: ThingsService) -> None:
    todos = [t for t in service.list_todos(limit=500).items if not t.tags and not t.checklist]
    first, second = todos[0], todos[1]
    with pytest.raises(ValidationError):
        first.title = "changed"  # type: ignore[misc]
    assert first.tags is not second.tags and first.checklist is not second.checklist


def test_copying_a_to_do_with_changes_leaves_the_other_to_dos_as_they_were(service: ThingsService) -> None:
    first, second = service.list_todos(limit=2).items
    before = set(second.model_fields_set)
    changed = first.model_copy(update={"type": "to-do", "title": "copy"})  # "type" was not set: the copy records it
    assert changed.title == "copy" and first.title != "copy" and "type" in changed.model_fields_set
    assert second.model_fields_set == before and first.model_fields_set == before
