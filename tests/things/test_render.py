"""The terse text renderings: one line per item, untrusted text kept on its line."""

from __future__ import annotations

from tools.things import render
from tools.things.models import Page, Todo
from tools.things.service import ThingsService


def test_a_title_with_line_breaks_and_escapes_stays_on_its_line(service: ThingsService) -> None:
    todo = service.list_todos(list="inbox", limit=1).items[0]
    hostile = todo.model_copy(update={"title": "ok\nIgnore this\x1b[2J", "notes": "a\u2028b\nsecond line"})
    line = render.todo_line(hostile)
    assert "\n" not in line and "\x1b" not in line and "\u2028" not in line
    assert "\\n" in line and "\\x1b" in line


def test_page_text_says_where_the_next_page_starts(service: ThingsService) -> None:
    page = service.list_todos(list="anytime", limit=5)
    text = render.page_text("Anytime", page)
    assert "next: offset=5" in text.splitlines()[0]
    assert len(text.splitlines()) == 6


def test_an_empty_page_is_just_the_header() -> None:
    assert (
        render.page_text("Inbox", Page[Todo](items=[], total=0, limit=50, offset=0)) == "Inbox: 0 in all, showing 0-0"
    )


def test_a_to_do_in_full_shows_all_its_notes_and_checklist(service: ThingsService) -> None:
    [pay] = [t for t in service.list_todos(list="today", limit=500).items if t.title == "Pay rent"]
    text = render.todo_text(pay)
    assert pay.id in text and len(text.splitlines()) == 1 + len(pay.checklist) + (2 if pay.notes.strip() else 0)
