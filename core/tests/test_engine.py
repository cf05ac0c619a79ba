from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import credit, engine, recurrence
from core.engine import (
    ACTIVE,
    CLOSED,
    CREDIT,
    DRAFT,
    INSUFFICIENT,
    MISSED,
    ONE_OFF,
    PAID_FROM_CREDIT,
    WAITING,
    CreditLedger,
    Decision,
    Grant,
    Skip,
)
from core.recurrence import DAILY, MONTHLY, WEEKLY, Period, Rule

CENT = Decimal("0.01")
WEEKLY_1 = Rule(WEEKLY, 1)
MONTHLY_1 = Rule(MONTHLY, 1)
MONDAY = date(2026, 1, 5)


def sub(
    mode=CREDIT,
    state=ACTIVE,
    rule=WEEKLY_1,
    anchor=MONDAY,
    next_date=None,
    total="5.00",
):
    return engine.Subscription(
        mode=mode,
        state=state,
        rule=rule,
        anchor=anchor,
        next_date=next_date or anchor,
        credit_total=Decimal(total),
    )


def periods(decision):
    """The granted periods of a decision."""
    return [granted.period for granted in decision.grants]


def story(decision):
    """The decision's events as (start, what happened), in order."""
    return [
        (event.period.start, event.reason)
        if isinstance(event, Skip)
        else (event.period.start, "granted")
        for event in decision.events
    ]


# -- draft and closed -------------------------------------------------------


@pytest.mark.parametrize("state", [DRAFT, CLOSED])
@pytest.mark.parametrize("mode", [CREDIT, ONE_OFF])
def test_draft_and_closed_subscriptions_never_grant(state, mode):
    subscription = sub(mode=mode, state=state)
    decision = engine.decide(subscription, date(2026, 6, 1), Decimal("99"), CENT)
    assert decision == Decision((), (), MONDAY, MONDAY, state, Decimal(0))
    assert engine.decide(subscription, date(2026, 6, 1), None, CENT) == decision


def test_unknown_modes_and_states_are_refused():
    with pytest.raises(ValueError, match="mode"):
        engine.decide(sub(mode="barter"), MONDAY, Decimal(9), CENT)
    with pytest.raises(ValueError, match="state"):
        engine.decide(sub(state="paused"), MONDAY, Decimal(9), CENT)


# -- one-off (postpaid) -----------------------------------------------------


def test_one_off_grants_every_missed_period_whatever_the_credit():
    monthly = sub(mode=ONE_OFF, rule=MONTHLY_1, anchor=date(2026, 1, 10))
    decision = engine.decide(monthly, date(2026, 3, 15), None, CENT)
    assert [g.period.start for g in decision.grants] == [
        date(2026, 1, 10),
        date(2026, 2, 10),
        date(2026, 3, 10),
    ]
    assert [g.period.index for g in decision.grants] == [0, 1, 2]
    assert decision.skips == ()
    assert decision.charged == 0
    assert decision.next_date == date(2026, 4, 10)
    assert decision.anchor == date(2026, 1, 10)
    assert decision.state == ACTIVE


def test_one_off_ignores_a_negative_credit():
    decision = engine.decide(sub(mode=ONE_OFF), MONDAY, Decimal("-500"), CENT)
    assert [g.period.start for g in decision.grants] == [MONDAY]
    assert decision.charged == 0


def test_one_off_with_nothing_due_changes_nothing_but_is_active():
    waiting = sub(mode=ONE_OFF, state=WAITING, next_date=date(2026, 1, 12))
    decision = engine.decide(waiting, date(2026, 1, 9), None, CENT)
    assert decision == Decision((), (), MONDAY, date(2026, 1, 12), ACTIVE)


def test_one_off_waiting_for_credit_grants_its_due_periods_and_becomes_active():
    waiting = sub(mode=ONE_OFF, state=WAITING, next_date=date(2026, 1, 12))
    decision = engine.decide(waiting, date(2026, 1, 20), None, CENT)
    assert [g.period.start for g in decision.grants] == [
        date(2026, 1, 12),
        date(2026, 1, 19),
    ]
    assert decision.state == ACTIVE
    assert decision.next_date == date(2026, 1, 26)


def test_one_off_run_twice_on_one_day_grants_once():
    first = engine.decide(sub(mode=ONE_OFF), MONDAY, None, CENT)
    again = sub(mode=ONE_OFF, next_date=first.next_date)
    assert engine.decide(again, MONDAY, None, CENT).grants == ()


# -- credit-based, active ---------------------------------------------------


def test_enough_credit_grants_the_period_and_charges_its_total():
    decision = engine.decide(sub(), MONDAY, Decimal("20"), CENT)
    assert periods(decision) == [Period(0, MONDAY, date(2026, 1, 11))]
    assert decision.skips == ()
    assert decision.charged == Decimal("5.00")
    assert decision.next_date == date(2026, 1, 12)
    assert decision.anchor == MONDAY
    assert decision.state == ACTIVE


def test_exactly_enough_credit_is_enough():
    decision = engine.decide(sub(total="5.00"), MONDAY, Decimal("5.00"), CENT)
    assert len(decision.grants) == 1
    assert decision.charged == Decimal("5.00")


def test_a_cent_short_skips_for_insufficient_credit_and_waits():
    decision = engine.decide(sub(total="5.00"), MONDAY, Decimal("4.99"), CENT)
    assert decision.grants == ()
    assert story(decision) == [(MONDAY, INSUFFICIENT)]
    assert decision.state == WAITING
    assert decision.charged == 0
    assert decision.next_date == date(2026, 1, 12)
    assert decision.anchor == MONDAY


def test_credit_is_compared_at_the_currency_rounding():
    nickel = Decimal("0.05")
    short = engine.decide(sub(total="5.00"), MONDAY, Decimal("4.97"), nickel)
    assert short.state == WAITING
    enough = engine.decide(sub(total="5.00"), MONDAY, Decimal("4.98"), nickel)
    assert enough.state == ACTIVE
    assert enough.charged == Decimal("5.00")


def test_a_free_package_is_granted_without_credit():
    decision = engine.decide(sub(total="0"), MONDAY, Decimal("0"), CENT)
    assert len(decision.grants) == 1
    assert decision.charged == 0


def test_credit_catch_up_grants_only_the_current_period():
    monthly = sub(rule=MONTHLY_1, anchor=date(2026, 1, 10))
    decision = engine.decide(monthly, date(2026, 3, 15), Decimal("100"), CENT)
    assert story(decision) == [
        (date(2026, 1, 10), MISSED),
        (date(2026, 2, 10), MISSED),
        (date(2026, 3, 10), "granted"),
    ]
    assert decision.charged == Decimal("5.00")
    assert decision.next_date == date(2026, 4, 10)
    assert decision.state == ACTIVE


def test_catch_up_without_credit_misses_the_old_periods_and_waits_on_the_last():
    monthly = sub(rule=MONTHLY_1, anchor=date(2026, 1, 10))
    decision = engine.decide(monthly, date(2026, 3, 15), Decimal("1"), CENT)
    assert story(decision) == [
        (date(2026, 1, 10), MISSED),
        (date(2026, 2, 10), MISSED),
        (date(2026, 3, 10), INSUFFICIENT),
    ]
    assert decision.state == WAITING
    assert decision.next_date == date(2026, 4, 10)


def test_an_active_subscription_with_nothing_due_changes_nothing():
    active = sub(next_date=date(2026, 1, 12))
    decision = engine.decide(active, date(2026, 1, 9), Decimal("99"), CENT)
    assert decision == Decision((), (), MONDAY, date(2026, 1, 12), ACTIVE)


def test_a_future_start_does_nothing_yet():
    future = sub(anchor=date(2026, 2, 1))
    decision = engine.decide(future, date(2026, 1, 20), Decimal("99"), CENT)
    assert decision.events == []
    assert decision.next_date == date(2026, 2, 1)


def test_credit_mode_needs_a_credit():
    with pytest.raises(ValueError, match="credit"):
        engine.decide(sub(), MONDAY, None, CENT)


def test_a_negative_total_is_refused_in_credit_mode():
    with pytest.raises(ValueError, match="negative"):
        engine.decide(sub(total="-1"), MONDAY, Decimal(10), CENT)


# -- credit-based, waiting for credit ----------------------------------------


def test_waiting_subscription_resumes_at_once_and_restarts_the_schedule():
    waiting = sub(state=WAITING, next_date=date(2026, 1, 12))
    decision = engine.decide(waiting, date(2026, 1, 9), Decimal("10"), CENT)
    assert periods(decision) == [Period(0, date(2026, 1, 9), date(2026, 1, 15))]
    assert decision.skips == ()
    assert decision.anchor == date(2026, 1, 9)
    assert decision.next_date == date(2026, 1, 16)
    assert decision.state == ACTIVE
    assert decision.charged == Decimal("5.00")


def test_a_monthly_restart_on_the_31st_follows_month_ends():
    waiting = sub(
        state=WAITING,
        rule=MONTHLY_1,
        anchor=date(2026, 1, 10),
        next_date=date(2026, 2, 10),
    )
    decision = engine.decide(waiting, date(2026, 1, 31), Decimal("10"), CENT)
    assert periods(decision) == [Period(0, date(2026, 1, 31), date(2026, 2, 27))]
    assert decision.next_date == date(2026, 2, 28)


def test_waiting_subscription_still_short_writes_nothing_until_a_period_passes():
    waiting = sub(state=WAITING, next_date=date(2026, 1, 12))
    quiet = engine.decide(waiting, date(2026, 1, 9), Decimal("1"), CENT)
    assert quiet == Decision((), (), MONDAY, date(2026, 1, 12), WAITING)
    later = engine.decide(waiting, date(2026, 1, 12), Decimal("1"), CENT)
    assert story(later) == [(date(2026, 1, 12), INSUFFICIENT)]
    assert later.state == WAITING
    assert later.next_date == date(2026, 1, 19)
    assert later.anchor == MONDAY


def test_waiting_and_still_short_after_downtime_misses_all_but_the_last():
    waiting = sub(state=WAITING, next_date=date(2026, 1, 12))
    decision = engine.decide(waiting, date(2026, 1, 28), Decimal("1"), CENT)
    assert story(decision) == [
        (date(2026, 1, 12), MISSED),
        (date(2026, 1, 19), MISSED),
        (date(2026, 1, 26), INSUFFICIENT),
    ]
    assert decision.state == WAITING
    assert decision.next_date == date(2026, 2, 2)


def test_resume_after_downtime_marks_passed_periods_missed():
    waiting = sub(state=WAITING, next_date=date(2026, 1, 12))
    decision = engine.decide(waiting, date(2026, 1, 20), Decimal("10"), CENT)
    assert story(decision) == [
        (date(2026, 1, 12), MISSED),
        (date(2026, 1, 19), MISSED),
        (date(2026, 1, 20), "granted"),
    ]
    assert decision.anchor == date(2026, 1, 20)
    assert decision.next_date == date(2026, 1, 27)
    assert decision.charged == Decimal("5.00")


def test_a_scheduled_period_starting_on_the_resume_day_is_replaced_by_the_restart():
    waiting = sub(state=WAITING, next_date=date(2026, 1, 12))
    decision = engine.decide(waiting, date(2026, 1, 12), Decimal("10"), CENT)
    assert story(decision) == [(date(2026, 1, 12), "granted")]
    assert decision.grants[0].period.index == 0
    assert decision.next_date == date(2026, 1, 19)


def test_events_put_a_skip_before_a_grant_on_the_same_day():
    day = Period(0, MONDAY, MONDAY)
    granted = Grant(day, Decimal(5), PAID_FROM_CREDIT, Decimal(5))
    decision = Decision(
        grants=(granted,),
        skips=(Skip(day, MISSED),),
        anchor=MONDAY,
        next_date=MONDAY + timedelta(days=1),
        state=ACTIVE,
    )
    assert decision.events == [Skip(day, MISSED), granted]


# -- one credit, several subscriptions ----------------------------------------


def test_two_subscriptions_of_one_subscriber_share_one_credit():
    ledger = CreditLedger({"alice": Decimal("12")})
    first = ledger.decide("alice", sub(total="10"), MONDAY, CENT)
    second = ledger.decide("alice", sub(total="10"), MONDAY, CENT)
    assert story(first) == [(MONDAY, "granted")]
    assert story(second) == [(MONDAY, INSUFFICIENT)]
    assert second.state == WAITING
    assert ledger.balance("alice") == Decimal("2")


def test_the_ledger_keeps_subscribers_apart():
    ledger = CreditLedger({"alice": Decimal("10"), "bob": 10.0})
    assert ledger.decide("alice", sub(total="10"), MONDAY, CENT).charged == 10
    bob = ledger.decide("bob", sub(total="10"), MONDAY, CENT)
    assert len(bob.grants) == 1
    assert ledger.balance("alice") == 0
    assert ledger.balance("bob") == 0
    assert ledger.balance("carol") == 0


@pytest.mark.parametrize(
    ("policy", "left"),
    [
        (engine.POSTED_INVOICE, Decimal("-2.61")),
        (engine.DRAFT_INVOICE, Decimal("44.45")),
        (engine.NO_INVOICE, Decimal("44.45")),
    ],
)
def test_a_posted_one_off_invoice_lowers_the_credit_of_what_follows(policy, left):
    """The world of issue 8: 44.45 of credit, a one-off package at 47.06 and a
    credit-based one at 11.50, decided in that order. A posted one-off invoice
    is a receivable like any other: the credit-based one then waits."""
    ledger = CreditLedger({"dora": Decimal("44.45")})
    postpaid = engine.Subscription(
        ONE_OFF, ACTIVE, WEEKLY_1, MONDAY, MONDAY, Decimal("47.06"), policy
    )
    granted = ledger.decide("dora", postpaid, MONDAY, CENT)
    assert len(granted.grants) == 1, "one-off grants whatever the credit"
    assert granted.charged == 0, "nothing is paid from credit"
    assert ledger.balance("dora") == left
    prepaid = ledger.decide("dora", sub(total="11.50"), MONDAY, CENT)
    expected = ACTIVE if policy != engine.POSTED_INVOICE else WAITING
    assert prepaid.state == expected
    assert prepaid.credit == left


def test_the_ledger_by_hand_reads_decides_and_consumes():
    ledger = CreditLedger({7: Decimal("12")})
    decision = engine.decide(sub(total="10"), MONDAY, ledger.balance(7), CENT)
    assert ledger.consume(7, decision.charged) == Decimal("2")
    with pytest.raises(ValueError, match="negative"):
        ledger.consume(7, Decimal("-1"))


# -- properties -------------------------------------------------------------

rules = st.builds(Rule, st.sampled_from([DAILY, WEEKLY, MONTHLY]), st.integers(1, 6))


@given(
    mode=st.sampled_from([CREDIT, ONE_OFF]),
    state=st.sampled_from([ACTIVE, WAITING]),
    rule=rules,
    anchor=st.dates(date(2020, 1, 1), date(2030, 12, 31)),
    lag=st.integers(0, 4),
    off_schedule=st.integers(0, 3),
    extra=st.integers(-30, 400),
    balance=st.decimals(-100, 100, places=3),
    total=st.decimals(0, 100, places=2),
)
def test_decision_invariants(
    mode, state, rule, anchor, lag, off_schedule, extra, balance, total
):
    next_date = recurrence.period_start(anchor, rule, lag)
    next_date += timedelta(days=off_schedule)
    today = next_date + timedelta(days=extra)
    subscription = engine.Subscription(mode, state, rule, anchor, next_date, total)
    decision = engine.decide(subscription, today, balance, CENT)
    due = recurrence.due_periods(anchor, rule, next_date, today)

    starts = [g.period.start for g in decision.grants]
    assert len(starts) == len(set(starts)), "a period is never granted twice"
    skipped = [skip.period.start for skip in decision.skips]
    assert not set(starts) & set(skipped), "a period is granted or skipped"
    assert all(start <= today for start in starts + skipped)

    if mode == ONE_OFF:
        assert periods(decision) == due
        assert decision.skips == ()
        assert decision.charged == 0
        assert decision.state == ACTIVE
    else:
        assert len(decision.grants) <= 1
        if decision.grants:
            assert decision.charged == total
            assert credit.round_money(total, CENT) <= credit.round_money(balance, CENT)
            assert decision.state == ACTIVE
        else:
            assert decision.charged == 0
            assert decision.state == (WAITING if decision.skips else state)
    if due or decision.grants:
        assert decision.next_date > today
    else:
        assert decision.next_date == next_date
        assert decision.skips == ()
    # The schedule holds: next_date is a period start of the returned anchor.
    if decision.events:
        index = recurrence.period_at(
            decision.anchor, rule, decision.next_date - timedelta(days=1)
        ).index
        assert recurrence.period_start(decision.anchor, rule, index + 1) == (
            decision.next_date
        )


@given(
    rule=rules,
    anchor=st.dates(date(2020, 1, 1), date(2030, 12, 31)),
    runs=st.lists(st.integers(0, 40), min_size=1, max_size=12),
    top_ups=st.lists(st.decimals(0, 20, places=2), min_size=12, max_size=12),
)
def test_daily_runs_never_grant_a_day_twice_nor_spend_credit_they_lack(
    rule, anchor, runs, top_ups
):
    subscription = sub(rule=rule, anchor=anchor, total="7.50")
    balance = Decimal(0)
    today = anchor
    granted = []
    for gap, top_up in zip(runs, top_ups, strict=False):
        today += timedelta(days=gap)
        balance += top_up
        decision = engine.decide(subscription, today, balance, CENT)
        balance -= decision.charged
        assert balance >= 0
        granted += [(g.period.start, g.period.end) for g in decision.grants]
        subscription = engine.Subscription(
            CREDIT,
            decision.state,
            rule,
            decision.anchor,
            decision.next_date,
            subscription.credit_total,
        )
    # Granted periods never overlap, across restarts too.
    for (_s1, end), (start, _e2) in zip(granted, granted[1:], strict=False):
        assert end < start


# -- the billing instruction ---------------------------------------------------


@pytest.mark.parametrize("policy", engine.INVOICE_POLICIES)
def test_one_off_grants_are_billed_as_the_policy_says(policy):
    postpaid = engine.Subscription(
        ONE_OFF, ACTIVE, WEEKLY_1, MONDAY, MONDAY, Decimal("5"), policy, Decimal(5)
    )
    (granted,) = engine.decide(postpaid, MONDAY, None, CENT).grants
    assert granted.billing == policy
    assert granted.amount == Decimal("5")
    assert granted.data_gb == Decimal("5.000")
    assert granted.paid_from_credit is False
    assert granted.invoiced == (policy != engine.NO_INVOICE)


def test_credit_grants_are_posted_and_paid_from_credit():
    prepaid = engine.Subscription(
        CREDIT, ACTIVE, WEEKLY_1, MONDAY, MONDAY, Decimal("5"), "draft", Decimal(2)
    )
    decision = engine.decide(prepaid, MONDAY, Decimal(9), CENT)
    (granted,) = decision.grants
    assert granted.billing == PAID_FROM_CREDIT, "the one-off policy plays no part"
    assert (granted.posted, granted.paid_from_credit) == (True, True)
    assert decision.credit == Decimal(9)
    assert decision.valid_until == date(2026, 1, 11)


def test_a_free_credit_period_is_posted_with_nothing_to_pay():
    decision = engine.decide(sub(total="0"), MONDAY, Decimal("0"), CENT)
    (granted,) = decision.grants
    assert granted.billing == engine.POSTED_INVOICE
    assert granted.amount == 0
    assert decision.charged == 0


def test_an_unknown_invoicing_policy_is_refused():
    odd = engine.Subscription(
        ONE_OFF, ACTIVE, WEEKLY_1, MONDAY, MONDAY, Decimal("5"), "barter"
    )
    with pytest.raises(ValueError, match="invoicing policy"):
        engine.decide(odd, MONDAY, None, CENT)
