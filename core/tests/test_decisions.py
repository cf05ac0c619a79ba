from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import engine, recurrence
from core.engine import (
    ACTIVE,
    CLOSED,
    CREDIT,
    DRAFT,
    INSUFFICIENT,
    MISSED,
    ONE_OFF,
    WAITING,
)
from core.recurrence import MONTHLY, WEEKLY, Rule

CENT = Decimal("0.01")
WEEKLY_1 = Rule(WEEKLY, 1)
MONTHLY_1 = Rule(MONTHLY, 1)


def sub(
    mode=CREDIT,
    state=ACTIVE,
    rule=WEEKLY_1,
    anchor=date(2026, 1, 5),
    next_date=None,
    total="5.00",
):
    return engine.Subscription(
        mode=mode,
        state=state,
        rule=rule,
        anchor=anchor,
        next_date=next_date or anchor,
        total=Decimal(total),
    )


def test_enough_credit_grants_the_period_and_charges_its_total():
    decision = engine.decide(sub(), date(2026, 1, 5), Decimal("20"), CENT)
    assert [p.start for p in decision.grants] == [date(2026, 1, 5)]
    assert decision.skips == ()
    assert decision.charged == Decimal("5.00")
    assert decision.next_date == date(2026, 1, 12)
    assert decision.state == ACTIVE


def test_short_credit_skips_and_waits():
    decision = engine.decide(sub(), date(2026, 1, 5), Decimal("4.99"), CENT)
    assert decision.grants == ()
    assert [(s.period.start, s.reason) for s in decision.skips] == [
        (date(2026, 1, 5), INSUFFICIENT)
    ]
    assert decision.state == WAITING
    assert decision.charged == 0
    assert decision.next_date == date(2026, 1, 12)


def test_waiting_subscription_resumes_at_once_and_restarts_the_schedule():
    waiting = sub(state=WAITING, next_date=date(2026, 1, 12))
    decision = engine.decide(waiting, date(2026, 1, 9), Decimal("10"), CENT)
    assert [(p.start, p.end) for p in decision.grants] == [
        (date(2026, 1, 9), date(2026, 1, 15))
    ]
    assert decision.anchor == date(2026, 1, 9)
    assert decision.next_date == date(2026, 1, 16)
    assert decision.state == ACTIVE
    assert decision.skips == ()


def test_waiting_subscription_still_short_writes_nothing_until_a_period_passes():
    waiting = sub(state=WAITING, next_date=date(2026, 1, 12))
    quiet = engine.decide(waiting, date(2026, 1, 9), Decimal("1"), CENT)
    assert quiet.events == []
    assert quiet.next_date == date(2026, 1, 12)
    later = engine.decide(waiting, date(2026, 1, 12), Decimal("1"), CENT)
    assert [(s.period.start, s.reason) for s in later.skips] == [
        (date(2026, 1, 12), INSUFFICIENT)
    ]
    assert later.state == WAITING


def test_resume_after_downtime_marks_passed_periods_missed():
    waiting = sub(state=WAITING, next_date=date(2026, 1, 12))
    decision = engine.decide(waiting, date(2026, 1, 20), Decimal("10"), CENT)
    assert [(s.period.start, s.reason) for s in decision.skips] == [
        (date(2026, 1, 12), MISSED),
        (date(2026, 1, 19), MISSED),
    ]
    assert [p.start for p in decision.grants] == [date(2026, 1, 20)]


def test_credit_catch_up_grants_only_the_current_period():
    monthly = sub(rule=MONTHLY_1, anchor=date(2026, 1, 10))
    decision = engine.decide(monthly, date(2026, 3, 15), Decimal("100"), CENT)
    assert [
        (e.period.start, e.reason)
        if isinstance(e, engine.Skip)
        else (e.start, "granted")
        for e in decision.events
    ] == [
        (date(2026, 1, 10), MISSED),
        (date(2026, 2, 10), MISSED),
        (date(2026, 3, 10), "granted"),
    ]
    assert decision.charged == Decimal("5.00")
    assert decision.next_date == date(2026, 4, 10)


def test_one_off_grants_every_missed_period_whatever_the_credit():
    monthly = sub(mode=ONE_OFF, rule=MONTHLY_1, anchor=date(2026, 1, 10))
    decision = engine.decide(monthly, date(2026, 3, 15), None, CENT)
    assert [p.start for p in decision.grants] == [
        date(2026, 1, 10),
        date(2026, 2, 10),
        date(2026, 3, 10),
    ]
    assert decision.charged == 0
    assert decision.skips == ()


@pytest.mark.parametrize("state", [DRAFT, CLOSED])
def test_draft_and_closed_never_grant(state):
    decision = engine.decide(sub(state=state), date(2026, 6, 1), Decimal("99"), CENT)
    assert decision.events == []
    assert decision.state == state


def test_future_start_does_nothing_yet():
    future = sub(anchor=date(2026, 2, 1))
    decision = engine.decide(future, date(2026, 1, 20), Decimal("99"), CENT)
    assert decision.events == []
    assert decision.next_date == date(2026, 2, 1)


def test_credit_mode_needs_a_credit():
    with pytest.raises(ValueError):
        engine.decide(sub(), date(2026, 1, 5), None, CENT)


def test_ledger_shares_one_credit_between_subscriptions_of_one_subscriber():
    ledger = engine.CreditLedger({"alice": Decimal("12")})
    results = []
    for _ in range(2):
        decision = engine.decide(
            sub(total="10"), date(2026, 1, 5), ledger.balance("alice"), CENT
        )
        ledger.consume("alice", decision.charged)
        results.append(bool(decision.grants))
    assert results == [True, False]
    assert ledger.balance("alice") == Decimal("2")
    assert ledger.balance("bob") == 0


states = st.sampled_from([ACTIVE, WAITING])
modes = st.sampled_from([CREDIT, ONE_OFF])
rules = st.builds(Rule, st.sampled_from(["daily", WEEKLY, MONTHLY]), st.integers(1, 6))


@given(
    mode=modes,
    state=states,
    rule=rules,
    anchor=st.dates(date(2020, 1, 1), date(2030, 12, 31)),
    lag=st.integers(0, 400),
    extra=st.integers(0, 400),
    credit=st.decimals(-100, 100, places=2),
    total=st.decimals(0, 100, places=2),
)
def test_decision_invariants(mode, state, rule, anchor, lag, extra, credit, total):
    next_date = recurrence.period_start(anchor, rule, lag % 5)
    today = next_date + timedelta(days=extra)
    subscription = engine.Subscription(mode, state, rule, anchor, next_date, total)
    decision = engine.decide(subscription, today, credit, CENT)
    starts = [p.start for p in decision.grants]
    assert len(starts) == len(set(starts)), "a period is never granted twice"
    due = recurrence.due_periods(anchor, rule, next_date, today)
    if mode == ONE_OFF:
        assert list(decision.grants) == due
        assert decision.charged == 0
    else:
        assert len(decision.grants) <= 1
        if decision.grants:
            assert decision.charged == total
            assert credit >= total
        else:
            assert decision.charged == 0
    if due or decision.grants:
        assert decision.next_date > today
    for period in decision.grants:
        assert decision.next_date > period.start
