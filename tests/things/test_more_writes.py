"""Updating and completing a project, moving a to-do under a heading by title, showing an item."""

from __future__ import annotations

import pytest

from tests.things.conftest import WritableThings
from tools.things.errors import InvalidArgumentError, NotFoundError, WriteUnavailableError
from tools.things.summaries import summarize


def test_update_project_renames_and_adds_tags_confirmed_by_read_back(writable: WritableThings) -> None:
    project_id = writable.sample.ids["Launch website"]
    result = writable.service.update_project(project_id, title="Launch the website", add_tags=["Important"])
    assert result.status == "confirmed" and result.id == project_id
    project = writable.service.get_project(project_id)
    assert project.title == "Launch the website" and "Important" in project.tags
    assert writable.app.errors == []


def test_completing_a_project_with_open_to_dos_is_refused(writable: WritableThings) -> None:
    project_id = writable.sample.ids["Launch website"]
    with pytest.raises(InvalidArgumentError) as info:
        writable.service.update_project(project_id, completed=True)
    assert info.value.field == "completed"
    assert "update-project" not in writable.app.commands


def test_completing_a_project_whose_to_dos_are_done_is_confirmed(writable: WritableThings) -> None:
    service = writable.service
    project_id = writable.sample.ids["Plan the party"]
    for todo in service.list_todos(project_id=project_id, status="open", limit=500).items:
        assert service.update_todo(todo.id, completed=True).status == "confirmed"
    result = service.update_project(project_id, completed=True)
    assert result.status == "confirmed"
    assert service.get_project(project_id).status == "completed"
    assert "Plan the party" in [i.title for i in service.logbook(limit=500).items]


def test_move_a_to_do_under_a_heading_by_title(writable: WritableThings) -> None:
    service = writable.service
    novel = writable.sample.ids["Write a novel"]
    todo_id = writable.sample.ids["Outline chapters"]
    result = service.update_todo(todo_id, heading="Part one")
    assert result.status == "confirmed"
    moved = service.get_todo(todo_id)
    assert moved.heading is not None and moved.heading.title == "Part one"
    assert moved.project is not None and moved.project.id == novel
    assert writable.app.errors == []  # the double refuses heading-id without its project's list-id


def test_a_heading_title_that_is_not_in_the_project_is_not_found(writable: WritableThings) -> None:
    todo_id = writable.sample.ids["Outline chapters"]
    with pytest.raises(NotFoundError):
        writable.service.update_todo(todo_id, heading="No such heading")
    with pytest.raises(InvalidArgumentError):
        writable.service.update_todo(writable.sample.ids["Buy milk"], heading="Part one")  # not in a project


def test_show_an_item_or_a_list_in_things(writable: WritableThings) -> None:
    todo_id = writable.sample.ids["Buy milk"]
    result = writable.service.show(todo_id)
    assert result.status == "submitted" and result.summary == "Show 'Buy milk' in Things"
    assert writable.service.show("today").id is None
    assert writable.app.shown == [todo_id, "today"]
    with pytest.raises(InvalidArgumentError):
        writable.service.show("../etc")
    with pytest.raises(NotFoundError):
        writable.service.show("A" * 22)


def test_without_a_writer_the_new_writes_are_unavailable(service: object) -> None:
    from tools.things.service import ThingsService

    assert isinstance(service, ThingsService)
    with pytest.raises(WriteUnavailableError):
        service.show("today")


def test_approval_summaries_of_the_new_writes(writable: WritableThings) -> None:
    project_id = writable.sample.ids["Launch website"]
    assert summarize("things_update_project", {"project_id": project_id, "completed": True}).startswith(
        f"Update project {project_id}: mark completed"
    )
    text = summarize("things_update_todo", {"todo_id": project_id, "heading": "Part\none"})
    assert "move under heading 'Part\\none'" not in text and "invalid" in text  # a title is one line
    assert summarize("things_show", {"id": "today\x1b[2J"}) == "Show 'today\\x1b[2J' in Things"
