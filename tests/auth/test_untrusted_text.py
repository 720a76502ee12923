"""The one neutraliser for untrusted text: known answers and properties."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth.untrusted import clip, is_clean, neutralise, neutralise_data

KNOWN_ANSWERS = [
    ("plain text", "plain text"),
    ("\x1b[2J", "␛[2J"),
    ("\x1b]0;pwned\x07", "␛]0;pwned␇"),
    ("\x1b]52;c;Y3VybCB4IHwgc2g=\x1b\\", "␛]52;c;Y3VybCB4IHwgc2g=␛\\"),
    ("\x9b2J", "\\x9b2J"),
    ("\x9d0;title\x9c", "\\x9d0;title\\x9c"),
    ("a\rb", "a␍b"),
    ("a\nb\tc", "a␊b␉c"),
    ("\x00\x7f", "␀␡"),
    ("\u202egnp.exe", "\\u202egnp.exe"),
    ("\u2066x\u2069", "\\u2066x\\u2069"),
    ("a\u200bb\u200dc\ufeff", "a\\u200bb\\u200dc\\ufeff"),
    ("\U000e0041\U000e0042", "\\U000e0041\\U000e0042"),
    ("line\u2028sep", "line\\u2028sep"),
    ("Grüße, 日本語 ✓ — “quoted”", "Grüße, 日本語 ✓ — “quoted”"),
    ("[bold red]markup[/]", "[bold red]markup[/]"),
]


@pytest.mark.parametrize(("raw", "shown"), KNOWN_ANSWERS)
def test_known_answers(raw: str, shown: str) -> None:
    assert neutralise(raw) == shown


def test_multiline_keeps_line_feeds_and_tabs_but_never_carriage_returns() -> None:
    assert neutralise("a\nb\tc\r\x1b[A", multiline=True) == "a\nb\tc␍␛[A"


def test_clip_neutralises_before_cutting() -> None:
    assert clip("\x1b[2J" + "x" * 10, 6) == "␛[2Jx…"
    assert clip("short", 10) == "short"


def test_neutralise_data_reaches_keys_and_nested_values() -> None:
    data = {"\x1b]0;t\x07": ["\u202e", {"k": "\x9b"}], "n": 3, "b": True, "none": None}
    assert neutralise_data(data) == {"␛]0;t␇": ["\\u202e", {"k": "\\x9b"}], "n": 3, "b": True, "none": None}


def _is_unsafe(ch: str) -> bool:
    return unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Zl", "Zp"}


@given(st.text())
def test_no_control_or_format_character_survives(text: str) -> None:
    shown = neutralise(text)
    assert not any(_is_unsafe(ch) for ch in shown)
    assert is_clean(shown)


@given(st.text())
def test_multiline_output_holds_only_line_feeds_and_tabs_as_controls(text: str) -> None:
    shown = neutralise(text, multiline=True)
    assert {ch for ch in shown if _is_unsafe(ch)} <= {"\n", "\t"}


@given(st.text())
def test_neutralising_is_idempotent(text: str) -> None:
    once = neutralise(text)
    assert neutralise(once) == once


@given(st.text())
def test_nothing_is_dropped_silently(text: str) -> None:
    """Each character maps on its own: unsafe ones to a non-empty visible token, safe ones to themselves."""
    assert neutralise(text) == "".join(neutralise(ch) for ch in text)
    for ch in text:
        if _is_unsafe(ch):
            assert neutralise(ch) != ch
            assert neutralise(ch).isprintable()
        else:
            assert neutralise(ch) == ch


@given(st.text(alphabet=st.characters(categories=["Cc", "Cf"]), min_size=1))
def test_each_hidden_character_leaves_a_visible_mark(text: str) -> None:
    shown = neutralise(text)
    assert shown.strip() and shown.isprintable()
    assert len(shown) >= len(text)
