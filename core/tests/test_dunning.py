from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import dunning
from core.dunning import RESTORE, SUSPEND, WAIT, Dunning

# Monday 2026-11-30 is due; 7 grace days.
DUE = date(2026, 11, 30)
WEEKEND = frozenset({5, 6})


def test_suspended_the_day_after_the_grace_days():
    sub = Dunning(DUE, 7)
    assert dunning.decide(sub, DUE + timedelta(days=7)) == WAIT
    assert dunning.decide(sub, DUE + timedelta(days=8)) == SUSPEND


def test_nobody_is_suspended_at_the_weekend_or_on_a_holiday():
    # Due Monday + 4 grace days: Saturday; the weekend waits until Monday,
    # which is a holiday: Tuesday.
    holiday = date(2026, 12, 7)
    sub = Dunning(DUE, 4, WEEKEND, frozenset({holiday}))
    assert dunning.suspension_day(DUE, 4, WEEKEND, {holiday}) == date(2026, 12, 8)
    for day in (date(2026, 12, 5), date(2026, 12, 6), holiday):
        assert dunning.decide(sub, day) == WAIT, day
    assert dunning.decide(sub, date(2026, 12, 8)) == SUSPEND


def test_an_accountants_hold_waits_and_restores_a_suspended_subscriber():
    held = Dunning(DUE, 0, hold_until=date(2026, 12, 10))
    assert dunning.decide(held, date(2026, 12, 10)) == WAIT
    assert dunning.decide(held, date(2026, 12, 11)) == SUSPEND
    suspended = Dunning(
        DUE, 0, suspended=True, fee_paid=False, hold_until=date(2026, 12, 10)
    )
    assert dunning.decide(suspended, date(2026, 12, 9)) == RESTORE


def test_access_comes_back_only_with_every_overdue_invoice_and_the_fee_paid():
    assert dunning.decide(Dunning(DUE, 0, suspended=True, fee_paid=False), DUE) == WAIT
    assert dunning.decide(Dunning(None, 0, suspended=True, fee_paid=False), DUE) == WAIT
    assert dunning.decide(Dunning(DUE, 0, suspended=True, fee_paid=True), DUE) == WAIT
    assert (
        dunning.decide(Dunning(None, 0, suspended=True, fee_paid=True), DUE) == RESTORE
    )
    assert dunning.decide(Dunning(None, 3), DUE) == WAIT, "nothing unpaid"


def test_weekdays_are_parsed_and_nonsense_is_refused():
    assert dunning.parse_weekdays("Sat, sunday") == {5, 6}
    assert dunning.parse_weekdays("") == frozenset()
    with pytest.raises(ValueError, match="not a weekday"):
        dunning.parse_weekdays("sat, funday")
    with pytest.raises(ValueError, match="Every day"):
        dunning.parse_weekdays("mon,tue,wed,thu,fri,sat,sun")
    with pytest.raises(ValueError):
        dunning.suspension_day(DUE, -1, WEEKEND, set())


@given(
    grace=st.integers(0, 60),
    weekdays=st.sets(st.integers(0, 6), max_size=6),
    offset=st.integers(0, 120),
)
def test_never_suspended_within_grace_nor_on_a_no_suspension_day(
    grace, weekdays, offset
):
    today = DUE + timedelta(days=offset)
    verdict = dunning.decide(Dunning(DUE, grace, frozenset(weekdays)), today)
    if verdict == SUSPEND:
        assert today > DUE + timedelta(days=grace)
        assert today.weekday() not in weekdays
    day = dunning.suspension_day(DUE, grace, weekdays, set())
    assert day.weekday() not in weekdays and day > DUE + timedelta(days=grace)
