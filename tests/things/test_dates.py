"""Things' packed dates, reminder times and timestamps."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from tools.things.dates import (
    decode_packed_date,
    decode_reminder_time,
    encode_packed_date,
    encode_reminder_time,
    epoch_to_datetime,
    local_today,
)


def test_packed_date_matches_the_known_answer_from_real_things() -> None:
    assert encode_packed_date(date(2021, 3, 28)) == 132464128
    assert decode_packed_date(132464128) == date(2021, 3, 28)


@pytest.mark.parametrize("day", [date(2000, 1, 1), date(2024, 2, 29), date(2099, 12, 31)])
def test_packed_dates_round_trip(day: date) -> None:
    assert decode_packed_date(encode_packed_date(day)) == day


def test_missing_or_impossible_packed_dates_decode_to_none() -> None:
    assert decode_packed_date(None) is None
    assert decode_packed_date(0) is None
    assert decode_packed_date((2021 << 16) | (2 << 12) | (30 << 7)) is None  # 30 February


def test_reminder_time_round_trips_and_none_means_no_reminder() -> None:
    packed = encode_reminder_time(time(21, 15))
    assert packed == (21 << 26) | (15 << 20)
    assert decode_reminder_time(packed) == time(21, 15)
    assert decode_reminder_time(None) is None


def test_timestamps_become_aware_datetimes_in_the_given_zone() -> None:
    stamp = datetime(2025, 6, 14, 23, 30, tzinfo=UTC).timestamp()
    berlin = epoch_to_datetime(stamp, ZoneInfo("Europe/Berlin"))
    new_york = epoch_to_datetime(stamp, ZoneInfo("America/New_York"))
    assert berlin is not None and new_york is not None
    assert berlin.isoformat() == "2025-06-15T01:30:00+02:00"
    assert new_york.isoformat() == "2025-06-14T19:30:00-04:00"
    assert epoch_to_datetime(None, UTC) is None


def test_local_today_depends_on_the_zone_at_the_same_instant() -> None:
    instant = datetime(2025, 6, 14, 22, 30, tzinfo=UTC)
    assert local_today(instant, ZoneInfo("Europe/Berlin")) == date(2025, 6, 15)
    assert local_today(instant, ZoneInfo("America/New_York")) == date(2025, 6, 14)


def test_local_today_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError):
        local_today(datetime(2025, 6, 14, 12), UTC)
