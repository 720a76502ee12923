"""Things' built-in lists: which to-dos each shows and in what order.

Each list is a SQL predicate over ``TMTask t`` plus a Python classifier that answers the same
question for one row; tests check the two agree on generated databases. "Today" is a packed date
computed in Python from an injected clock and time zone.
"""

from __future__ import annotations

from dataclasses import dataclass

from tools.things.models import ListId
from tools.things.store import START_ANYTIME, START_INBOX, START_SOMEDAY, STATUS_OPEN

_OPEN = "t.status = 0 AND t.trashed = 0"
_TODAY = (
    "((t.start = 1 AND t.startDate IS NOT NULL)"
    " OR (t.start = 2 AND t.startDate <= :today)"
    " OR (t.startDate IS NULL AND t.deadline <= :today AND t.deadlineSuppressionDate IS NULL))"
)

LIST_PREDICATES: dict[ListId, str] = {
    "inbox": f"{_OPEN} AND t.start = 0",
    "today": f"{_OPEN} AND {_TODAY}",
    "upcoming": f"{_OPEN} AND t.start = 2 AND t.startDate > :today",
    "anytime": f"{_OPEN} AND t.start = 1",
    "someday": f"{_OPEN} AND t.start = 2 AND t.startDate IS NULL",
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


def in_today(row: ListFields, today: int) -> bool:
    if row.status != STATUS_OPEN or row.trashed:
        return False
    if row.start == START_ANYTIME and row.start_date is not None:
        return True
    if row.start == START_SOMEDAY and row.start_date is not None and row.start_date <= today:
        return True
    return row.start_date is None and row.deadline is not None and row.deadline <= today and not row.deadline_suppressed


def classify(row: ListFields, today: int) -> ListId | None:
    """The one list Things shows the task under (Inbox wins over Today for overdue inbox items)."""
    if row.trashed:
        return "trash"
    if row.status != STATUS_OPEN:
        return "logbook"
    if row.start == START_INBOX:
        return "inbox"
    if in_today(row, today):
        return "today"
    if row.start == START_SOMEDAY:
        return "upcoming" if row.start_date is not None else "someday"
    if row.start == START_ANYTIME:
        return "anytime"
    return None
