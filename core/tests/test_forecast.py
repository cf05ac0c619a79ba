"""Which coming renewals the credit pays: one rule for the runway and the
low-credit warning, and the same answer the runs give."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from core import engine, forecast
from core.engine import ACTIVE, CREDIT, ONE_OFF, WAITING, CreditLedger
from core.recurrence import MONTHLY, WEEKLY, Rule

CENT = Decimal("0.01")
WEEKLY_1 = Rule(WEEKLY, 1)
MONDAY = date(2026, 1, 5)


def sub(mode=CREDIT, state=ACTIVE, rule=WEEKLY_1, next_date=MONDAY, total="5.00"):
    return engine.Subscription(
        mode, state, rule, next_date, next_date, Decimal(total), engine.POSTED_INVOICE
    )


def test_the_runway_is_the_first_renewal_the_credit_cannot_pay():
    weekly = [("w", sub(next_date=date(2026, 1, 12)))]
    assert forecast.runway(Decimal("12"), weekly, MONDAY, CENT) == date(2026, 1, 26), (
        "12 pays the renewals of Jan 12 and 19, not Jan 26"
    )
    assert forecast.runway(Decimal("4.99"), weekly, MONDAY, CENT) == date(2026, 1, 12)


def test_a_waiting_subscription_runs_out_today_and_one_off_weighs_on_the_rest():
    waiting = [("w", sub(state=WAITING, next_date=date(2026, 1, 12)))]
    assert forecast.runway(Decimal("1"), waiting, MONDAY, CENT) == MONDAY
    # Monday: the one-off invoice (5) then the prepaid one (5) out of 12;
    # Jan 12: the one-off takes the last 2 and more, the prepaid is short.
    both = [("post", sub(mode=ONE_OFF)), ("pre", sub())]
    assert forecast.runway(Decimal("12"), both, MONDAY, CENT) == date(2026, 1, 12)


def test_a_credit_that_outlasts_the_horizon_has_no_runway():
    monthly = [("m", sub(rule=Rule(MONTHLY, 1), next_date=date(2026, 2, 5), total="1"))]
    assert forecast.runway(Decimal("1000"), monthly, MONDAY, CENT) is None


def test_short_renewals_follow_the_order_and_consume_only_what_they_pay():
    subs = [
        ("a", sub(next_date=date(2026, 1, 6))),
        ("b", sub(next_date=date(2026, 1, 6))),
        ("c", sub(next_date=date(2026, 1, 6), total="3")),
    ]
    short = forecast.short_before(Decimal("8"), subs, MONDAY, date(2026, 1, 8), CENT)
    assert short == {"b": Decimal("2.00")}, "b is skipped; c takes the 3 left"


def test_a_posted_one_off_renewal_makes_the_prepaid_one_short():
    subs = [
        ("post", sub(mode=ONE_OFF, next_date=date(2026, 1, 6))),
        ("pre", sub(next_date=date(2026, 1, 7))),
    ]
    short = forecast.short_before(Decimal("8"), subs, MONDAY, date(2026, 1, 8), CENT)
    assert short == {"pre": Decimal("2.00")}


def test_a_renewal_today_or_past_the_window_is_not_warned_of():
    subs = [
        ("today", sub(next_date=MONDAY)),
        ("later", sub(next_date=date(2026, 1, 20))),
    ]
    assert (
        forecast.short_before(Decimal("0"), subs, MONDAY, date(2026, 1, 8), CENT) == {}
    )


@given(
    credit=st.decimals(0, 60, places=2),
    totals=st.lists(st.decimals(0, 20, places=2), min_size=1, max_size=4),
    modes=st.lists(st.sampled_from([CREDIT, ONE_OFF]), min_size=4, max_size=4),
    lags=st.lists(st.integers(0, 13), min_size=4, max_size=4),
)
def test_the_forecast_is_what_daily_runs_decide(credit, totals, modes, lags):
    """Run the engine day by day with the same credit: the first period a
    run skips for lack of credit is the runway, and each renewal the
    forecast says is paid is granted by the run that day."""
    subs = [
        (
            i,
            sub(
                mode=modes[i], next_date=MONDAY + timedelta(days=lags[i]), total=str(t)
            ),
        )
        for i, t in enumerate(totals)
    ]
    end = MONDAY + timedelta(days=35)
    expected = forecast.renewals(credit, subs, MONDAY, CENT, end)
    ledger = CreditLedger({"p": credit})
    state = dict(subs)
    granted, skipped = set(), []
    day = MONDAY
    while day <= end:
        for key, current in sorted(state.items()):
            decision = ledger.decide("p", current, day, CENT)
            granted.update((key, g.period.start) for g in decision.grants)
            skipped.extend(
                (s.period.start, key)
                for s in decision.skips
                if s.reason == engine.INSUFFICIENT
            )
            state[key] = engine.Subscription(
                current.mode,
                decision.state,
                current.rule,
                decision.anchor,
                decision.next_date,
                current.credit_total,
                current.invoice_policy,
            )
        day += timedelta(days=1)
    assert {(r.key, r.day) for r in expected if r.paid} == {(k, d) for k, d in granted}
    first_skip = min(skipped, default=(None,))[0]
    ran_out = forecast.runway(credit, subs, MONDAY, CENT)
    assert (ran_out if ran_out and ran_out <= end else None) == first_skip
