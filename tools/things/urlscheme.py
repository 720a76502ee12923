"""Things URL scheme (version 2): building ``things:///`` URLs and parsing them back.

Only the commands we offer (``add``, ``add-project``, ``update``, ``update-project``, ``show``) and only
the parameters each takes are accepted. Every value is percent-encoded with ``quote(value, safe='')``, so
``&``, ``=``, ``?``, ``#``, ``/``, ``+`` and line breaks inside a value can never start a new parameter or
end the URL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Literal
from urllib.parse import parse_qsl, quote, urlsplit

from tools.things.errors import InvalidArgumentError

Command = Literal["add", "add-project", "update", "update-project", "show"]
COMMANDS: tuple[Command, ...] = ("add", "add-project", "update", "update-project", "show")
SCHEME_PREFIX = "things:///"

PARAMETERS: Mapping[Command, frozenset[str]] = {
    "add": frozenset({"title", "notes", "when", "deadline", "tags", "checklist-items", "list-id", "heading-id"}),
    "add-project": frozenset({"title", "notes", "when", "deadline", "tags", "area-id", "to-dos"}),
    "update": frozenset(
        {
            "id",
            "auth-token",
            "title",
            "append-notes",
            "when",
            "deadline",
            "add-tags",
            "list-id",
            "heading-id",
            "completed",
            "canceled",
        }
    ),
    # Cultured Code's update-project also takes notes, prepend-notes, tags, area, reveal, duplicate and dates;
    # we offer only what cannot lose data.
    "update-project": frozenset(
        {
            "id",
            "auth-token",
            "title",
            "append-notes",
            "when",
            "deadline",
            "add-tags",
            "area-id",
            "completed",
            "canceled",
        }
    ),
    "show": frozenset({"id"}),
}

WhenKind = Literal["today", "tomorrow", "evening", "anytime", "someday", "date"]
_WHEN_KEYWORDS: tuple[WhenKind, ...] = ("today", "tomorrow", "evening", "anytime", "someday")
_WHEN_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:@(\d{2}):(\d{2}))?")


@dataclass(frozen=True, slots=True)
class When:
    """A parsed ``when``: a keyword, or a date with an optional reminder time."""

    kind: WhenKind
    on: date | None = None
    reminder: time | None = None

    def to_param(self) -> str:
        if self.kind != "date":
            return self.kind
        assert self.on is not None
        text = self.on.isoformat()
        return f"{text}@{self.reminder:%H:%M}" if self.reminder is not None else text


def parse_when(value: object, field: str = "when") -> When:
    """``today|tomorrow|evening|anytime|someday|YYYY-MM-DD[@HH:MM]``; anything else is refused."""
    if not isinstance(value, str):
        raise InvalidArgumentError(field, "must be a string")
    for keyword in _WHEN_KEYWORDS:
        if value == keyword:
            return When(keyword)
    match = _WHEN_DATE.fullmatch(value)
    if match is None:
        raise InvalidArgumentError(field, "must be today, tomorrow, evening, anytime, someday or YYYY-MM-DD[@HH:MM]")
    try:
        on = date.fromisoformat(match.group(1))
        reminder = time(int(match.group(2)), int(match.group(3))) if match.group(2) else None
    except ValueError:
        raise InvalidArgumentError(field, "is not a real date or time of day") from None
    return When("date", on, reminder)


def build_url(command: Command, params: Sequence[tuple[str, str]]) -> str:
    """``things:///command?k=v&...`` with every value percent-encoded; unknown keys are refused."""
    allowed = PARAMETERS[command]
    parts = []
    for key, value in params:
        if key not in allowed:
            raise ValueError(f"parameter {key!r} is not offered for {command}")
        parts.append(f"{key}={quote(value, safe='')}")
    return f"{SCHEME_PREFIX}{command}?{'&'.join(parts)}"


def parse_url(url: str) -> tuple[str, dict[str, str]]:
    """Split a ``things:///`` URL into its command and decoded parameters (last value wins)."""
    parts = urlsplit(url)
    if parts.scheme != "things":
        raise ValueError("not a things: URL")
    params = dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False))
    return parts.path.lstrip("/"), params
