"""Checks on caller-supplied values before they reach SQL or a Things URL.

Everything an agent sends is untrusted: ids must look like Things ids, text must be free of NULs and
control characters, numbers must be in range. Failures raise ``InvalidArgumentError`` naming the
argument.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from tools.things.errors import InvalidArgumentError
from tools.things.lists import APPLESCRIPT_LIST_IDS
from tools.things.models import LIST_IDS, ListId, Status

MAX_PAGE_LIMIT = 500
DEFAULT_PAGE_LIMIT = 50
MAX_OFFSET = 1_000_000
MAX_TITLE_CHARS = 4_000
MAX_NOTES_CHARS = 10_000
MAX_CHECKLIST_ITEMS = 100
MAX_TAGS = 20
MAX_QUERY_CHARS = 200
MAX_TAG_CHARS = 200

STATUSES: tuple[Status, ...] = ("open", "completed", "canceled")
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # notes may hold \t, \n, \r
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def page_limit(value: int | None) -> int:
    if value is None:
        return DEFAULT_PAGE_LIMIT
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE_LIMIT:
        raise InvalidArgumentError("limit", f"must be an integer from 1 to {MAX_PAGE_LIMIT}")
    return value


def page_offset(value: int | None) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_OFFSET:
        raise InvalidArgumentError("offset", f"must be an integer from 0 to {MAX_OFFSET}")
    return value


def status(value: str | None) -> Status | None:
    if value is None:
        return None
    for known in STATUSES:
        if value == known:
            return known
    raise InvalidArgumentError("status", f"must be one of {', '.join(STATUSES)}")


def list_id(value: str | None) -> ListId | None:
    """Accept our list ids and the AppleScript ones (``TMTodayListSource``)."""
    if value is None:
        return None
    for known in LIST_IDS:
        if value == known:
            return known
    if value in APPLESCRIPT_LIST_IDS:
        return APPLESCRIPT_LIST_IDS[value]
    raise InvalidArgumentError("list", f"must be one of {', '.join(LIST_IDS)}")


def single_line(value: object, field: str, *, max_chars: int, allow_empty: bool = False) -> str:
    """A title-like value: a string without control characters, within ``max_chars``."""
    if not isinstance(value, str):
        raise InvalidArgumentError(field, "must be a string")
    if not value.strip() and not allow_empty:
        raise InvalidArgumentError(field, "must not be empty")
    if len(value) > max_chars:
        raise InvalidArgumentError(field, f"must be at most {max_chars} characters")
    if _LINE_CONTROL.search(value):
        raise InvalidArgumentError(field, "must not contain control characters, NULs or line breaks")
    return value


def multi_line(value: object, field: str, *, max_chars: int = MAX_NOTES_CHARS) -> str:
    """A notes-like value: line breaks and tabs allowed, other control characters and NULs not."""
    if not isinstance(value, str):
        raise InvalidArgumentError(field, "must be a string")
    if len(value) > max_chars:
        raise InvalidArgumentError(field, f"must be at most {max_chars} characters")
    if _TEXT_CONTROL.search(value):
        raise InvalidArgumentError(field, "must not contain NULs or control characters")
    return value


def search_text(value: str | None, field: str = "query") -> str | None:
    if value is None:
        return None
    return single_line(value, field, max_chars=MAX_QUERY_CHARS)


def tag_name(value: object, field: str = "tag") -> str:
    name = single_line(value, field, max_chars=MAX_TAG_CHARS)
    if "," in name:
        # The URL scheme separates tags with commas, so such a tag cannot be addressed safely.
        raise InvalidArgumentError(field, "must not contain a comma")
    return name


def tag_names(values: Sequence[object] | None, field: str = "tags") -> list[str]:
    if values is None:
        return []
    if isinstance(values, str) or len(values) > MAX_TAGS:
        raise InvalidArgumentError(field, f"must be a list of at most {MAX_TAGS} tag names")
    names = [tag_name(v, field) for v in values]
    return list(dict.fromkeys(names))


def iso_date(value: object, field: str) -> date:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise InvalidArgumentError(field, "must be a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidArgumentError(field, "is not a real calendar date") from None
