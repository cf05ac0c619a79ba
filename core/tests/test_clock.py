from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import clock

LATE_ON_FEB_28 = datetime(2026, 2, 28, 23, 30)  # naive: UTC


def test_paris_is_already_in_march_at_23_30_utc_on_february_28():
    assert clock.local_today(LATE_ON_FEB_28, "Europe/Paris") == date(2026, 3, 1)


def test_utc_and_a_naive_time_give_the_utc_date():
    assert clock.local_today(LATE_ON_FEB_28, "UTC") == date(2026, 2, 28)
    aware = LATE_ON_FEB_28.replace(tzinfo=timezone.utc)
    assert clock.local_today(aware, "Europe/Paris") == date(2026, 3, 1)


def test_west_of_greenwich_the_date_is_still_yesterday():
    early = datetime(2026, 1, 1, 3, 0, tzinfo=timezone.utc)
    assert clock.local_today(early, "America/New_York") == date(2025, 12, 31)


def test_an_aware_time_in_another_zone_is_converted():
    tokyo_morning = datetime(2026, 3, 1, 8, 0, tzinfo=timezone(timedelta(hours=9)))
    assert clock.local_today(tokyo_morning, "UTC") == date(2026, 2, 28)


def test_summer_time_is_taken_into_account():
    # 22:30 UTC in July is 00:30 in Paris (UTC+2).
    assert clock.local_today(datetime(2026, 7, 14, 22, 30), "Europe/Paris") == date(
        2026, 7, 15
    )


@pytest.mark.parametrize(
    "tz_name", [None, "", False, "Not/AZone", "Europe", "../etc/passwd", "utc "]
)
def test_a_missing_or_unknown_timezone_falls_back_to_utc(tz_name):
    assert clock.local_today(LATE_ON_FEB_28, tz_name) == date(2026, 2, 28)


@given(
    now=st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1)),
    tz_name=st.sampled_from(
        ["UTC", "Europe/Paris", "Pacific/Kiritimati", "Etc/GMT+12"]
    ),
)
def test_the_local_date_is_within_a_day_of_the_utc_date(now, tz_name):
    assert abs((clock.local_today(now, tz_name) - now.date()).days) <= 1


def test_a_local_day_starts_at_its_midnight_in_utc():
    assert clock.day_start_utc(date(2026, 3, 1), "Europe/Paris") == datetime(
        2026, 2, 28, 23, 0
    )
    assert clock.day_start_utc(date(2026, 3, 1), "") == datetime(2026, 3, 1)
