"""Things' built-in lists: which to-dos each shows and in what order.

Each list is a SQL predicate over ``TMTask t`` (to-dos and projects alike; ``p`` is the enclosing
project, directly or through a heading) plus a Python classifier that answers the same question for
one row; tests check the two agree on generated databases. "Today" is a packed date computed in
Python from an injected clock and time zone.

A project in Someday, or scheduled for a later day, is deactivated in the app: its to-dos are not
actionable now, so the ones that would otherwise be in Anytime are in Someday. Items with a date of
their own (Today, Upcoming) and overdue deadlines keep their place. Inbox and Anytime also contain
Today's items, as in the app; the ``list`` field names the most specific list (Today wins).
"""

from __future__ import annotations

from dataclasses import dataclass

from tools.things.models import ListId
from tools.things.store import START_ANYTIME, START_INBOX, START_SOMEDAY, STATUS_OPEN

_OPEN = "t.status = 0 AND t.trashed = 0"
# The enclosing project is in Someday or scheduled for a later day (NULL-safe: no project, not deferred).
# ``{today}`` is the placeholder of today's packed date: ``:today`` here, ``?`` where values are positional.
PROJECT_DEFERRED_AT = "COALESCE(p.start = 2 AND (p.startDate IS NULL OR p.startDate > {today}), 0)"
PROJECT_DEFERRED = PROJECT_DEFERRED_AT.format(today=":today")
_OVERDUE = "COALESCE(t.startDate IS NULL AND t.deadline <= :today AND t.deadlineSuppressionDate IS NULL, 0)"
_TODAY = f"((t.start = 1 AND t.startDate IS NOT NULL) OR (t.start = 2 AND t.startDate <= :today) OR {_OVERDUE})"

LIST_PREDICATES: dict[ListId, str] = {
    "inbox": f"{_OPEN} AND t.start = 0",
    "today": f"{_OPEN} AND {_TODAY}",
    "upcoming": f"{_OPEN} AND t.start = 2 AND t.startDate > :today",
    "anytime": f"{_OPEN} AND t.start = 1 AND NOT {PROJECT_DEFERRED}",
    "someday": (
        f"{_OPEN} AND t.startDate IS NULL AND NOT {_OVERDUE} AND (t.start = 2 OR (t.start = 1 AND {PROJECT_DEFERRED}))"
    ),
    "logbook": "t.status IN (2, 3) AND t.trashed = 0",
    "trash": "t.trashed = 1",
}

# Things shows This Evening below the rest of Today; within each part, todayIndex then start date.
LIST_ORDER: dict[ListId, str] = {
    "inbox": 't."index", t.uuid',
    "today": 't.startBucket, t.todayIndex, t.startDate, t."index", t.uuid',
    "upcoming": 't.startDate, t.todayIndex, t."index", t.uuid',
    "anytime": 't."index", t.uuid',
    "someday": 't."index", t.uuid',
    "logbook": "t.stopDate DESC, t.uuid",
    "trash": 't.userModificationDate DESC, t."index", t.uuid',
}
DEFAULT_ORDER = 't."index", t.uuid'

# AppleScript list ids (the seed's REST API takes these) mapped to ours.
APPLESCRIPT_LIST_IDS: dict[str, ListId] = {
    "TMInboxListSource": "inbox",
    "TMTodayListSource": "today",
    "TMCalendarListSource": "upcoming",
    "TMNextListSource": "anytime",
    "TMSomedayListSource": "someday",
    "TMLogbookListSource": "logbook",
    "TMTrashListSource": "trash",
}


@dataclass(frozen=True, slots=True)
class ListFields:
    """The columns that decide which built-in list a task is in."""

    status: int
    trashed: bool
    start: int
    start_date: int | None
    deadline: int | None
    deadline_suppressed: bool
    project_deferred: bool = False


def in_today(row: ListFields, today: int) -> bool:
    if row.status != STATUS_OPEN or row.trashed:
        return False
    if row.start == START_ANYTIME and row.start_date is not None:
        return True
    if row.start == START_SOMEDAY and row.start_date is not None and row.start_date <= today:
        return True
    return row.start_date is None and row.deadline is not None and row.deadline <= today and not row.deadline_suppressed


def classify(row: ListFields, today: int) -> ListId | None:
    """The most specific list Things shows the task under (Today wins: an overdue Inbox item is in Today)."""
    if row.trashed:
        return "trash"
    if row.status != STATUS_OPEN:
        return "logbook"
    if in_today(row, today):
        return "today"
    if row.start == START_INBOX:
        return "inbox"
    if row.start == START_SOMEDAY:
        return "upcoming" if row.start_date is not None else "someday"
    if row.start == START_ANYTIME:
        return "someday" if row.project_deferred and row.start_date is None else "anytime"
    return None
