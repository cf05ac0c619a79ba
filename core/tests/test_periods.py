import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import recurrence
from core.recurrence import DAILY, MONTHLY, WEEKLY, Rule

MONTHLY_1 = Rule(MONTHLY, 1)


def starts(anchor, rule, count):
    return [recurrence.period_start(anchor, rule, k) for k in range(count)]


def test_monthly_from_the_31st_clamps_to_month_end_and_never_drifts():
    assert starts(date(2026, 1, 31), MONTHLY_1, 5) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
    ]


def test_leap_year_february_gets_the_29th():
    assert recurrence.period_start(date(2028, 1, 31), MONTHLY_1, 1) == date(2028, 2, 29)


def test_weekly_adds_seven_times_n_days_and_daily_n_days():
    assert starts(date(2026, 1, 5), Rule(WEEKLY, 2), 3) == [
        date(2026, 1, 5),
        date(2026, 1, 19),
        date(2026, 2, 2),
    ]
    assert starts(date(2026, 1, 5), Rule(DAILY, 3), 3) == [
        date(2026, 1, 5),
        date(2026, 1, 8),
        date(2026, 1, 11),
    ]


def test_period_ends_the_day_before_the_next_starts():
    first = recurrence.period(date(2026, 1, 31), MONTHLY_1, 0)
    assert (first.start, first.end) == (date(2026, 1, 31), date(2026, 2, 27))
    week = recurrence.period(date(2026, 1, 5), Rule(WEEKLY, 1), 0)
    assert week.end == date(2026, 1, 11)


@pytest.mark.parametrize(
    ("unit", "interval"),
    [("yearly", 1), (MONTHLY, 0), (MONTHLY, -1), (MONTHLY, 1.5), (MONTHLY, True)],
)
def test_rule_rejects_unknown_units_and_intervals_below_one(unit, interval):
    with pytest.raises(ValueError):
        Rule(unit, interval)


def test_due_periods_lists_every_start_between_next_date_and_today():
    due = recurrence.due_periods(
        date(2026, 1, 10), MONTHLY_1, date(2026, 1, 10), date(2026, 3, 15)
    )
    assert [p.start for p in due] == [
        date(2026, 1, 10),
        date(2026, 2, 10),
        date(2026, 3, 10),
    ]
    assert (
        recurrence.due_periods(
            date(2026, 1, 10), MONTHLY_1, date(2026, 4, 10), date(2026, 3, 15)
        )
        == []
    )


def test_due_periods_starts_at_the_first_period_on_or_after_next_date():
    due = recurrence.due_periods(
        date(2026, 1, 10), MONTHLY_1, date(2026, 1, 20), date(2026, 3, 15)
    )
    assert [p.start for p in due] == [date(2026, 2, 10), date(2026, 3, 10)]


def test_schedules_beyond_year_9999_raise_a_clear_error():
    with pytest.raises(ValueError, match="9999"):
        recurrence.period_start(date(9999, 12, 1), MONTHLY_1, 1)
    with pytest.raises(ValueError, match="9999"):
        recurrence.period_start(date(9999, 12, 30), Rule(WEEKLY, 1), 1)
    with pytest.raises(ValueError, match="before year 3000"):
        recurrence.check_start(date(9999, 1, 1))
    assert recurrence.check_start(date(2999, 12, 31)) == date(2999, 12, 31)


def test_period_at_rejects_days_before_the_anchor():
    with pytest.raises(ValueError):
        recurrence.period_at(date(2026, 1, 10), MONTHLY_1, date(2026, 1, 9))


anchors = st.dates(min_value=date(1990, 1, 1), max_value=date(2400, 12, 31))
rules = st.builds(Rule, st.sampled_from([DAILY, WEEKLY, MONTHLY]), st.integers(1, 12))


@given(
    year=st.integers(1990, 2400),
    month=st.integers(1, 12),
    day=st.integers(1, 31),
)
def test_monthly_anchor_never_drifts_over_twenty_years(year, month, day):
    last = calendar.monthrange(year, month)[1]
    anchor = date(year, month, min(day, last))
    anchor_day = anchor.day
    for k in range(240):
        start = recurrence.period_start(anchor, MONTHLY_1, k)
        month_end = calendar.monthrange(start.year, start.month)[1]
        assert start.day == min(anchor_day, month_end)
        assert (start.year * 12 + start.month) - (anchor.year * 12 + anchor.month) == k


@given(anchor=anchors, rule=rules, k=st.integers(0, 500))
def test_consecutive_periods_tile_the_timeline(anchor, rule, k):
    current = recurrence.period(anchor, rule, k)
    following = recurrence.period(anchor, rule, k + 1)
    assert current.end + timedelta(days=1) == following.start
    assert current.start <= current.end


@given(anchor=anchors, rule=rules, offset=st.integers(0, 20000))
def test_next_period_start_is_the_first_start_after_the_day(anchor, rule, offset):
    day = anchor + timedelta(days=offset)
    nxt = recurrence.next_period_start(anchor, rule, day)
    assert nxt > day
    containing = recurrence.period_at(anchor, rule, day)
    assert containing.start <= day <= containing.end
    assert nxt == containing.end + timedelta(days=1)


@given(
    anchor=anchors,
    rule=rules,
    gap=st.integers(0, 3000),
    span=st.integers(0, 3000),
)
def test_due_periods_are_consecutive_and_within_bounds(anchor, rule, gap, span):
    next_date = anchor + timedelta(days=gap)
    today = next_date + timedelta(days=span)
    due = recurrence.due_periods(anchor, rule, next_date, today)
    for earlier, later in zip(due, due[1:], strict=False):
        assert later.index == earlier.index + 1
    for period in due:
        assert next_date <= period.start <= today
    # nothing due was left out
    following = recurrence.next_period_start(anchor, rule, today)
    assert following > today
    if due:
        assert following == due[-1].end + timedelta(days=1)
