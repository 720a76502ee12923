"""Things' date and time encodings, converted to and from Python values.

- Packed dates (``startDate``, ``deadline``, ``todayIndexReferenceDate``): ``year<<16 | month<<12 | day<<7``.
- Reminder times (``reminderTime``): ``hour<<26 | minute<<20``.
- Timestamps (``creationDate``, ``userModificationDate``, ``stopDate``): REAL seconds since the Unix
  epoch (UTC), shown as aware datetimes in the caller's time zone.

The current day is always computed here from an injected instant and time zone, never by SQLite's
``date('now')`` (which is UTC and makes tests flip at midnight).
"""

from __future__ import annotations

from datetime import date, datetime, time, tzinfo

_YEAR_SHIFT = 16
_MONTH_SHIFT = 12
_DAY_SHIFT = 7
_HOUR_SHIFT = 26
_MINUTE_SHIFT = 20


def encode_packed_date(value: date) -> int:
    """Pack ``value`` the way Things stores ``startDate`` and ``deadline``."""
    return (value.year << _YEAR_SHIFT) | (value.month << _MONTH_SHIFT) | (value.day << _DAY_SHIFT)


def decode_packed_date(packed: int | None) -> date | None:
    """Unpack a Things date; ``None``, 0 and impossible dates decode to ``None``."""
    if not packed:
        return None
    year = packed >> _YEAR_SHIFT
    month = (packed >> _MONTH_SHIFT) & 0xF
    day = (packed >> _DAY_SHIFT) & 0x1F
    try:
        return date(year, month, day)
    except ValueError:
        return None


def encode_reminder_time(value: time) -> int:
    """Pack a reminder time of day."""
    return (value.hour << _HOUR_SHIFT) | (value.minute << _MINUTE_SHIFT)


def decode_reminder_time(packed: int | None) -> time | None:
    """Unpack a reminder time of day; ``None`` when no reminder is set."""
    if packed is None:
        return None
    hour = packed >> _HOUR_SHIFT
    minute = (packed >> _MINUTE_SHIFT) & 0x3F
    try:
        return time(hour, minute)
    except ValueError:
        return None


def epoch_to_datetime(seconds: float | None, tz: tzinfo) -> datetime | None:
    """Convert a Things timestamp to an aware datetime in ``tz``."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, tz)


def local_today(now: datetime, tz: tzinfo) -> date:
    """The calendar day it is in ``tz`` at the aware instant ``now``."""
    if now.tzinfo is None:
        raise ValueError("local_today needs an aware datetime")
    return now.astimezone(tz).date()
