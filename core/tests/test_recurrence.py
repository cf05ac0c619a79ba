import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import recurrence
from core.recurrence import DAILY, MONTHLY, WEEKLY, Period, Rule

MONTHLY_1 = Rule(MONTHLY, 1)
WEEKLY_1 = Rule(WEEKLY, 1)


def starts(anchor, rule, count):
    return [recurrence.period_start(anchor, rule, k) for k in range(count)]


# -- the rule ---------------------------------------------------------------


def test_rule_accepts_the_three_units_and_any_whole_interval():
    assert recurrence.UNITS == (DAILY, WEEKLY, MONTHLY)
    assert Rule(DAILY, 1).days() == 1
    assert Rule(WEEKLY, 3).days() == 21
    assert Rule(MONTHLY, 2).days() is None


@pytest.mark.parametrize(
    ("unit", "interval", "message"),
    [
        ("yearly", 1, "Unknown recurrence"),
        ("", 1, "Unknown recurrence"),
        (MONTHLY, 0, "1 or more"),
        (MONTHLY, -1, "1 or more"),
        (MONTHLY, 1.5, "whole number"),
        (MONTHLY, 2.0, "whole number"),
        (MONTHLY, "2", "whole number"),
        (MONTHLY, True, "whole number"),
        (MONTHLY, None, "whole number"),
    ],
)
def test_rule_rejects_unknown_units_and_intervals_below_one(unit, interval, message):
    with pytest.raises(ValueError, match=message):
        Rule(unit, interval)


def test_rule_is_frozen():
    with pytest.raises(AttributeError):
        MONTHLY_1.interval = 2


# -- period starts ----------------------------------------------------------


def test_monthly_from_the_31st_clamps_to_month_end_and_never_drifts():
    assert starts(date(2026, 1, 31), MONTHLY_1, 7) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
        date(2026, 6, 30),
        date(2026, 7, 31),
    ]


def test_leap_year_february_gets_the_29th():
    assert recurrence.period_start(date(2028, 1, 31), MONTHLY_1, 1) == date(2028, 2, 29)
    assert recurrence.period_start(date(2028, 1, 30), MONTHLY_1, 1) == date(2028, 2, 29)
    assert recurrence.period_start(date(2027, 1, 29), MONTHLY_1, 1) == date(2027, 2, 28)


def test_anchor_on_february_29_comes_back_to_the_29th_when_it_can():
    assert starts(date(2028, 2, 29), MONTHLY_1, 2) == [
        date(2028, 2, 29),
        date(2028, 3, 29),
    ]
    assert recurrence.period_start(date(2028, 2, 29), MONTHLY_1, 12) == date(
        2029, 2, 28
    )
    assert recurrence.period_start(date(2028, 2, 29), MONTHLY_1, 48) == date(
        2032, 2, 29
    )


def test_every_n_months_counts_n_months_from_the_anchor():
    assert starts(date(2026, 1, 31), Rule(MONTHLY, 3), 4) == [
        date(2026, 1, 31),
        date(2026, 4, 30),
        date(2026, 7, 31),
        date(2026, 10, 31),
    ]


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
    assert recurrence.period_start(date(2026, 1, 5), WEEKLY_1, 52) == date(2027, 1, 4)


@pytest.mark.parametrize("index", [-1, -100, 1.0, True, None, "1"])
def test_a_period_number_must_be_a_whole_number_not_below_zero(index):
    with pytest.raises(ValueError, match="period number"):
        recurrence.period_start(date(2026, 1, 1), MONTHLY_1, index)


# -- period ends ------------------------------------------------------------


def test_period_ends_the_day_before_the_next_starts():
    first = recurrence.period(date(2026, 1, 31), MONTHLY_1, 0)
    assert first == Period(0, date(2026, 1, 31), date(2026, 2, 27))
    second = recurrence.period(date(2026, 1, 31), MONTHLY_1, 1)
    assert second == Period(1, date(2026, 2, 28), date(2026, 3, 30))
    week = recurrence.period(date(2026, 1, 5), WEEKLY_1, 0)
    assert (week.start, week.end) == (date(2026, 1, 5), date(2026, 1, 11))
    day = recurrence.period(date(2026, 1, 5), Rule(DAILY, 1), 4)
    assert (day.start, day.end) == (date(2026, 1, 9), date(2026, 1, 9))
    assert recurrence.period_end(date(2026, 1, 1), MONTHLY_1, 0) == date(2026, 1, 31)


# -- the year 9999 limit ----------------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "rule", "index"),
    [
        (date(9999, 12, 1), MONTHLY_1, 1),
        (date(9999, 12, 30), WEEKLY_1, 1),
        (date(9999, 12, 31), Rule(DAILY, 1), 1),
        (date(2026, 1, 1), MONTHLY_1, 10**6),
        (date(2026, 1, 1), Rule(DAILY, 12), 10**12),
        (date(2026, 1, 1), Rule(MONTHLY, 12), 10**18),
    ],
)
def test_periods_beyond_year_9999_raise_a_clear_error(anchor, rule, index):
    with pytest.raises(ValueError, match="period beyond year 9999"):
        recurrence.period_start(anchor, rule, index)


def test_the_last_period_before_9999_has_no_end_to_compute():
    assert recurrence.period_start(date(9999, 12, 1), MONTHLY_1, 0) == date(9999, 12, 1)
    with pytest.raises(ValueError, match="period beyond year 9999"):
        recurrence.period(date(9999, 12, 1), MONTHLY_1, 0)
    with pytest.raises(ValueError, match="period beyond year 9999"):
        recurrence.next_period_start(date(9999, 12, 1), MONTHLY_1, date(9999, 12, 5))


def test_start_dates_after_year_2999_are_refused_as_typing_errors():
    with pytest.raises(ValueError, match="before year 3000"):
        recurrence.check_start(date(9999, 1, 1))
    assert recurrence.check_start(date(2999, 12, 31)) == date(2999, 12, 31)


# -- the period containing a day --------------------------------------------


def test_period_at_finds_the_period_containing_the_day():
    anchor = date(2026, 1, 31)
    assert recurrence.period_at(anchor, MONTHLY_1, date(2026, 1, 31)).index == 0
    assert recurrence.period_at(anchor, MONTHLY_1, date(2026, 2, 27)).index == 0
    assert recurrence.period_at(anchor, MONTHLY_1, date(2026, 2, 28)).index == 1
    assert recurrence.period_at(anchor, MONTHLY_1, date(2026, 3, 30)).index == 1
    assert recurrence.period_at(anchor, MONTHLY_1, date(2026, 3, 31)).index == 2
    # Day 10 of a month whose period starts on the 20th: the previous period.
    found = recurrence.period_at(date(2026, 1, 20), MONTHLY_1, date(2026, 5, 10))
    assert found == Period(3, date(2026, 4, 20), date(2026, 5, 19))


def test_period_at_is_computed_not_searched_over_centuries():
    anchor = date(1000, 1, 1)
    found = recurrence.period_at(anchor, Rule(DAILY, 1), date(9999, 12, 30))
    assert found.start == date(9999, 12, 30)
    assert found.index == (date(9999, 12, 30) - anchor).days


def test_period_at_rejects_days_before_the_anchor():
    with pytest.raises(ValueError, match="before the first period"):
        recurrence.period_at(date(2026, 1, 10), MONTHLY_1, date(2026, 1, 9))


def test_next_period_start_is_strictly_after_the_day():
    anchor = date(2026, 1, 10)
    assert recurrence.next_period_start(anchor, MONTHLY_1, date(2026, 1, 10)) == date(
        2026, 2, 10
    )
    assert recurrence.next_period_start(anchor, MONTHLY_1, date(2026, 2, 9)) == date(
        2026, 2, 10
    )
    assert recurrence.next_period_start(anchor, MONTHLY_1, date(2025, 12, 1)) == anchor


# -- due periods ------------------------------------------------------------


def test_due_periods_lists_every_start_between_next_date_and_today():
    due = recurrence.due_periods(
        date(2026, 1, 10), MONTHLY_1, date(2026, 1, 10), date(2026, 3, 15)
    )
    assert due == [
        Period(0, date(2026, 1, 10), date(2026, 2, 9)),
        Period(1, date(2026, 2, 10), date(2026, 3, 9)),
        Period(2, date(2026, 3, 10), date(2026, 4, 9)),
    ]


def test_a_period_starting_today_is_due():
    due = recurrence.due_periods(
        date(2026, 1, 5), WEEKLY_1, date(2026, 1, 12), date(2026, 1, 12)
    )
    assert [p.start for p in due] == [date(2026, 1, 12)]


def test_nothing_is_due_before_next_date():
    anchor = date(2026, 1, 10)
    assert recurrence.due_periods(anchor, MONTHLY_1, anchor, date(2026, 1, 9)) == []
    assert (
        recurrence.due_periods(anchor, MONTHLY_1, date(2026, 4, 10), date(2026, 3, 15))
        == []
    )


def test_due_periods_starts_at_the_first_period_on_or_after_next_date():
    due = recurrence.due_periods(
        date(2026, 1, 10), MONTHLY_1, date(2026, 1, 20), date(2026, 3, 15)
    )
    assert [p.start for p in due] == [date(2026, 2, 10), date(2026, 3, 10)]
    none_yet = recurrence.due_periods(
        date(2026, 1, 10), MONTHLY_1, date(2026, 1, 20), date(2026, 2, 9)
    )
    assert none_yet == []


def test_a_next_date_before_the_anchor_starts_at_the_anchor():
    due = recurrence.due_periods(
        date(2026, 1, 10), WEEKLY_1, date(2025, 12, 1), date(2026, 1, 17)
    )
    assert [p.start for p in due] == [date(2026, 1, 10), date(2026, 1, 17)]


# -- properties -------------------------------------------------------------

anchors = st.dates(min_value=date(1990, 1, 1), max_value=date(2400, 12, 31))
rules = st.builds(Rule, st.sampled_from(recurrence.UNITS), st.integers(1, 12))


def _month_number(day):
    return day.year * 12 + day.month


@pytest.mark.parametrize("anchor_day", range(1, 32))
def test_every_anchor_day_keeps_its_day_of_month_for_twenty_years(anchor_day):
    anchor = date(2024, 1, anchor_day)  # 2024, 2028... are leap years
    for k in range(240):
        start = recurrence.period_start(anchor, MONTHLY_1, k)
        last_day = calendar.monthrange(start.year, start.month)[1]
        assert start.day == min(anchor_day, last_day)
        assert _month_number(start) - _month_number(anchor) == k


@given(
    year=st.integers(1990, 2400),
    month=st.integers(1, 12),
    day=st.integers(1, 31),
    interval=st.integers(1, 12),
)
def test_monthly_anchor_never_drifts_over_twenty_years(year, month, day, interval):
    last = calendar.monthrange(year, month)[1]
    anchor = date(year, month, min(day, last))
    rule = Rule(MONTHLY, interval)
    for k in range(240 // interval + 1):
        start = recurrence.period_start(anchor, rule, k)
        last_day = calendar.monthrange(start.year, start.month)[1]
        assert start.day == min(anchor.day, last_day)
        assert _month_number(start) - _month_number(anchor) == k * interval


@given(anchor=anchors, unit=st.sampled_from(recurrence.UNITS), k=st.integers(0, 500))
def test_consecutive_periods_tile_the_timeline(anchor, unit, k):
    for interval in range(1, 13):
        rule = Rule(unit, interval)
        current = recurrence.period(anchor, rule, k)
        following = recurrence.period(anchor, rule, k + 1)
        assert current.end + timedelta(days=1) == following.start
        assert current.start <= current.end


@given(anchor=anchors, rule=rules, k=st.integers(0, 2000))
def test_daily_and_weekly_periods_are_fixed_multiples_of_days(anchor, rule, k):
    start = recurrence.period_start(anchor, rule, k)
    if rule.unit == DAILY:
        assert (start - anchor).days == rule.interval * k
    elif rule.unit == WEEKLY:
        assert (start - anchor).days == 7 * rule.interval * k


@given(anchor=anchors, rule=rules, offset=st.integers(-400, 20000))
def test_next_period_start_is_the_first_start_after_the_day(anchor, rule, offset):
    day = anchor + timedelta(days=offset)
    nxt = recurrence.next_period_start(anchor, rule, day)
    assert nxt > day
    if day < anchor:
        assert nxt == anchor
        return
    index = recurrence.period_at(anchor, rule, day).index
    assert nxt == recurrence.period_start(anchor, rule, index + 1)
    assert recurrence.period_start(anchor, rule, index) <= day


@given(anchor=anchors, rule=rules, offset=st.integers(0, 20000))
def test_period_at_contains_the_day(anchor, rule, offset):
    day = anchor + timedelta(days=offset)
    found = recurrence.period_at(anchor, rule, day)
    assert found.start <= day <= found.end
    assert found == recurrence.period(anchor, rule, found.index)


@given(
    anchor=anchors,
    rule=rules,
    gap=st.integers(-100, 3000),
    span=st.integers(-100, 3000),
)
def test_due_periods_are_exactly_the_starts_in_the_window(anchor, rule, gap, span):
    next_date = anchor + timedelta(days=gap)
    today = next_date + timedelta(days=span)
    due = recurrence.due_periods(anchor, rule, next_date, today)
    for period in due:
        assert next_date <= period.start <= today
        assert period == recurrence.period(anchor, rule, period.index)
    for earlier, later in zip(due, due[1:], strict=False):
        assert later.index == earlier.index + 1
    # Nothing in the window was left out, at either end.
    first_start = recurrence.next_period_start(
        anchor, rule, next_date - timedelta(days=1)
    )
    if due:
        assert due[0].start == first_start
        following = recurrence.next_period_start(anchor, rule, today)
        assert following == due[-1].end + timedelta(days=1)
    else:
        assert first_start > today
