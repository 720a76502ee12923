"""Building Things URLs: encoding, injection attempts and the ``when`` grammar."""

from __future__ import annotations

from datetime import date, time
from urllib.parse import urlsplit

import pytest

from tools.things.errors import InvalidArgumentError
from tools.things.urlscheme import build_url, parse_url, parse_when
from tools.things.writes import AddTodo, UpdateTodo

NASTY = "Pay rent & tip=5?x#frag/../+1 100%"


def test_every_value_is_percent_encoded_so_nothing_becomes_a_new_parameter() -> None:
    url = build_url("add", [("title", NASTY), ("notes", "line 1\nauth-token=stolen&id=x")])
    query = urlsplit(url).query
    assert query.count("&") == 1 and query.count("=") == 2
    assert "#" not in url and "+" not in url and "\n" not in url and " " not in url
    assert parse_url(url) == ("add", {"title": NASTY, "notes": "line 1\nauth-token=stolen&id=x"})


def test_a_space_is_encoded_as_percent_twenty_not_plus() -> None:
    assert build_url("add", [("title", "a b")]) == "things:///add?title=a%20b"


def test_parameters_outside_the_offered_set_are_refused() -> None:
    with pytest.raises(ValueError):
        build_url("add", [("reveal", "true")])
    with pytest.raises(ValueError):
        build_url("add", [("auth-token", "x")])


@pytest.mark.parametrize(
    "title",
    ["", "   ", "a\x00b", "line\nbreak", "carriage\rreturn", "tab\tin title", "bell\x07", "x" * 4001, "sep\u2028"],
)
def test_titles_with_nuls_control_characters_or_line_breaks_are_rejected(title: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        AddTodo.parse(title=title)
    assert info.value.code == "invalid_argument" and info.value.field == "title"


def test_titles_that_look_like_url_syntax_are_accepted_and_encoded() -> None:
    request = AddTodo.parse(title="Buy milk&auth-token=abc&id=x")
    url = build_url("add", [("title", request.title)])
    assert parse_url(url)[1] == {"title": "Buy milk&auth-token=abc&id=x"}


def test_notes_are_limited_to_ten_thousand_characters_and_refuse_nuls() -> None:
    assert AddTodo.parse(title="t", notes="x" * 10_000).notes is not None
    with pytest.raises(InvalidArgumentError):
        AddTodo.parse(title="t", notes="x" * 10_001)
    with pytest.raises(InvalidArgumentError):
        AddTodo.parse(title="t", notes="a\x00b")


def test_checklists_are_limited_to_a_hundred_single_line_items() -> None:
    assert len(AddTodo.parse(title="t", checklist=["a"] * 100).checklist) == 100
    with pytest.raises(InvalidArgumentError):
        AddTodo.parse(title="t", checklist=["a"] * 101)
    with pytest.raises(InvalidArgumentError):
        AddTodo.parse(title="t", checklist=["two\nitems"])


@pytest.mark.parametrize("bad", ["xyz", "a,b", "", "bad\x00"])
def test_tag_names_with_commas_or_control_characters_are_refused(bad: str) -> None:
    if bad == "xyz":
        assert AddTodo.parse(title="t", tags=[bad]).tags == ["xyz"]
        return
    with pytest.raises(InvalidArgumentError):
        AddTodo.parse(title="t", tags=[bad])


@pytest.mark.parametrize(
    ("text", "kind", "on", "reminder"),
    [
        ("today", "today", None, None),
        ("evening", "evening", None, None),
        ("someday", "someday", None, None),
        ("2025-07-01", "date", date(2025, 7, 1), None),
        ("2025-07-01@09:30", "date", date(2025, 7, 1), time(9, 30)),
    ],
)
def test_when_accepts_keywords_and_dates_with_an_optional_time(text, kind, on, reminder) -> None:  # type: ignore[no-untyped-def]
    when = parse_when(text)
    assert (when.kind, when.on, when.reminder) == (kind, on, reminder)
    assert when.to_param() == text


@pytest.mark.parametrize(
    "text", ["next week", "Today", "2025-13-01", "2025-02-30", "2025-07-01@25:00", "2025-07-01 09:30", "", "today&x"]
)
def test_when_rejects_everything_else(text: str) -> None:
    with pytest.raises(InvalidArgumentError):
        parse_when(text)


def test_update_requires_a_change_and_refuses_both_completed_and_canceled() -> None:
    todo_id = "A" * 22
    with pytest.raises(InvalidArgumentError):
        UpdateTodo.parse(todo_id)
    with pytest.raises(InvalidArgumentError):
        UpdateTodo.parse(todo_id, completed=True, canceled=True)
    with pytest.raises(InvalidArgumentError):
        UpdateTodo.parse(todo_id, append_notes="")
    with pytest.raises(InvalidArgumentError):
        UpdateTodo.parse("../../etc", title="x")


@pytest.mark.parametrize(
    "bad_id", ["short", "A" * 23, "AAAAAAAAAAAAAAAAAAAAA!", "AAAAAAAAAAA AAAAAAAAAA", "A" * 21 + "\x00"]
)
def test_ids_must_have_the_things_alphabet_and_length(bad_id: str) -> None:
    with pytest.raises(InvalidArgumentError):
        AddTodo.parse(title="t", project_id=bad_id)
