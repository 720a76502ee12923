"""Date filters and orders for listings: the Logbook over a period, deadlines, recently created or changed.

Dates come from the caller as ``YYYY-MM-DD`` and mean whole days in the configured time zone: ``*_after``
includes that day, ``*_before`` includes that day too (the bound is the start of the next day). Timestamps
(``creationDate``, ``userModificationDate``, ``stopDate``) are compared as epoch seconds; deadlines as
packed dates. SQL is built from constants; values are bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Literal

from tools.things import validation
from tools.things.dates import encode_packed_date
from tools.things.errors import InvalidArgumentError

Order = Literal["deadline", "created", "modified", "completed"]
ORDERS: dict[Order, str] = {
    "deadline": 't.deadline, t."index", t.uuid',
    "created": "t.creationDate DESC, t.uuid",
    "modified": "t.userModificationDate DESC, t.uuid",
    "completed": "t.stopDate DESC, t.uuid",
}

DATE_PARAMETERS = (
    "created_after",
    "created_before",
    "modified_after",
    "completed_after",
    "completed_before",
    "deadline_before",
)

# (field name, column, kind): kind "after" is an inclusive lower bound, "before" an inclusive upper day.
_TIMESTAMP_FIELDS = (
    ("created_after", "t.creationDate", "after"),
    ("created_before", "t.creationDate", "before"),
    ("modified_after", "t.userModificationDate", "after"),
    ("completed_after", "t.stopDate", "after"),
    ("completed_before", "t.stopDate", "before"),
)


def _start_of(day: date, tz: tzinfo) -> float:
    return datetime.combine(day, time(0), tz).timestamp()


def _optional_day(value: object, field: str) -> date | None:
    return None if value is None else validation.iso_date(value, field)


@dataclass(frozen=True, slots=True)
class DateFilter:
    """Validated date bounds; all optional. ``with_deadline`` keeps only items that have a deadline."""

    created_after: date | None = None
    created_before: date | None = None
    modified_after: date | None = None
    completed_after: date | None = None
    completed_before: date | None = None
    deadline_before: date | None = None
    with_deadline: bool = False

    @classmethod
    def parse(
        cls,
        *,
        created_after: object = None,
        created_before: object = None,
        modified_after: object = None,
        completed_after: object = None,
        completed_before: object = None,
        deadline_before: object = None,
        with_deadline: bool = False,
    ) -> DateFilter:
        parsed = cls(
            created_after=_optional_day(created_after, "created_after"),
            created_before=_optional_day(created_before, "created_before"),
            modified_after=_optional_day(modified_after, "modified_after"),
            completed_after=_optional_day(completed_after, "completed_after"),
            completed_before=_optional_day(completed_before, "completed_before"),
            deadline_before=_optional_day(deadline_before, "deadline_before"),
            with_deadline=bool(with_deadline),
        )
        for low, high in (("created_after", "created_before"), ("completed_after", "completed_before")):
            a, b = getattr(parsed, low), getattr(parsed, high)
            if a is not None and b is not None and a > b:
                raise InvalidArgumentError(high, f"must not be before {low}")
        return parsed

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> DateFilter:
        """From query parameters named as in ``DATE_PARAMETERS``; any other name is refused."""
        unknown = sorted(set(values) - set(DATE_PARAMETERS))
        if unknown:
            raise InvalidArgumentError(unknown[0], "is not a date filter")
        return cls.parse(
            created_after=values.get("created_after"),
            created_before=values.get("created_before"),
            modified_after=values.get("modified_after"),
            completed_after=values.get("completed_after"),
            completed_before=values.get("completed_before"),
            deadline_before=values.get("deadline_before"),
        )

    def sql(self, tz: tzinfo) -> tuple[list[str], dict[str, Any]]:
        """``(clauses, params)`` over ``TMTask t``; names are prefixed ``d_`` to stay clear of other filters."""
        clauses: list[str] = []
        params: dict[str, Any] = {}
        for name, column, kind in _TIMESTAMP_FIELDS:
            day = getattr(self, name)
            if day is None:
                continue
            if kind == "after":
                clauses.append(f"{column} >= :d_{name}")
                params[f"d_{name}"] = _start_of(day, tz)
            else:
                clauses.append(f"{column} < :d_{name}")
                params[f"d_{name}"] = _start_of(day + timedelta(days=1), tz)
        if self.with_deadline or self.deadline_before is not None:
            clauses.append("t.deadline IS NOT NULL AND t.deadline > 0")
        if self.deadline_before is not None:
            clauses.append("t.deadline <= :d_deadline_before")
            params["d_deadline_before"] = encode_packed_date(self.deadline_before)
        return clauses, params


NO_DATES = DateFilter()
