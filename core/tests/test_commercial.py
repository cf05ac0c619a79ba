from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import engine, proration, rollover
from core.engine import ACTIVE, CLOSED, CREDIT, ONE_OFF, WAITING
from core.recurrence import WEEKLY, Period, Rule

CENT = Decimal("0.01")
MONDAY = date(2026, 1, 5)


def sub(mode=CREDIT, state=ACTIVE, closing=False, next_date=MONDAY, policy="posted"):
    return engine.Subscription(
        mode,
        state,
        Rule(WEEKLY, 1),
        MONDAY,
        next_date,
        Decimal("5"),
        policy,
        Decimal("5"),
        closing,
    )


# -- retired packages ------------------------------------------------------------


def test_a_closing_subscription_closes_when_its_next_period_is_due_not_before():
    decision = engine.decide(
        sub(closing=True, next_date=date(2026, 1, 12)),
        date(2026, 1, 11),
        Decimal(9),
        CENT,
    )
    assert decision.state == ACTIVE and not decision.events
    due = engine.decide(
        sub(closing=True, next_date=date(2026, 1, 12)),
        date(2026, 1, 12),
        Decimal(9),
        CENT,
    )
    assert (due.state, due.grants, due.skips) == (CLOSED, (), ())
    assert due.charged == 0


def test_a_closing_subscription_that_waits_closes_at_once():
    decision = engine.decide(
        sub(state=WAITING, closing=True, next_date=date(2026, 1, 12)),
        date(2026, 1, 9),
        Decimal(99),
        CENT,
    )
    assert decision.state == CLOSED and not decision.grants


# -- add-on packs -----------------------------------------------------------------

PERIOD = Period(0, MONDAY, date(2026, 1, 11))


def test_an_addon_pack_is_paid_from_credit_or_refused_with_the_missing_amount():
    pack = sub()  # the pack's data (5) and total (5)
    decision = engine.add_pack(pack, Decimal("10"), PERIOD, CENT)
    (granted,) = decision.grants
    assert (granted.kind, granted.billing, granted.amount, granted.period) == (
        "addon",
        engine.PAID_FROM_CREDIT,
        5,
        PERIOD,
    )
    assert (decision.charged, decision.next_date, decision.state) == (
        5,
        pack.next_date,
        pack.state,
    ), "a pack charges its total and leaves the schedule alone"
    with pytest.raises(engine.NotEnoughCredit) as refused:
        engine.add_pack(pack, Decimal("2.5"), PERIOD, CENT)
    assert refused.value.missing == Decimal("2.50")
    postpaid = engine.add_pack(sub(mode=ONE_OFF, policy="draft"), None, PERIOD, CENT)
    assert postpaid.grants[0].billing == engine.DRAFT_INVOICE
    assert postpaid.charged == 0


# -- plan change now ----------------------------------------------------------------


def test_the_unused_part_of_a_period_is_worth_its_days():
    month = Period(0, date(2026, 1, 1), date(2026, 1, 31))
    assert proration.unused_share(Decimal("31"), month, date(2026, 1, 1), CENT) == 31
    assert proration.unused_share(Decimal("31"), month, date(2026, 1, 16), CENT) == 16
    assert proration.unused_share(
        Decimal("10"), month, date(2026, 1, 31), CENT
    ) == Decimal("0.32")
    with pytest.raises(ValueError, match="not in the period"):
        proration.unused_share(Decimal("10"), month, date(2026, 2, 1), CENT)


def test_an_upgrade_counts_what_the_change_credits_back():
    assert (
        proration.upgrade_missing(Decimal("2"), Decimal("5"), Decimal("7"), CENT) == 0
    )
    assert proration.upgrade_missing(
        Decimal("2"), Decimal("5"), Decimal("9.5"), CENT
    ) == Decimal("2.50")


@given(st.integers(0, 30), st.decimals(0, 1000, places=2))
def test_the_unused_part_never_exceeds_the_price(offset, total):
    month = Period(0, date(2026, 1, 1), date(2026, 1, 31))
    day = date(2026, 1, 1 + offset)
    share = proration.unused_share(total, month, day, CENT)
    assert 0 <= share <= total


# -- rollover -------------------------------------------------------------------------

D = Decimal


def test_carried_data_is_used_first_and_what_is_left_carries_on():
    # Period 1 got 10 GB and 3 GB carried from period 0, and used 5 GB.
    carried = rollover.carry([(0, D(3))], D(10), D(5), 1, 2, max_periods=2)
    assert carried == [(1, D("8.000"))], "the 3 carried went first"
    assert rollover.total(carried) == 8


def test_old_chunks_expire_and_the_total_is_capped():
    chunks = [(0, D(2)), (1, D(3))]
    # Nothing used in period 2 (own 10): chunk of period 0 is 3 periods old at 3.
    assert rollover.carry(chunks, D(10), D(0), 2, 3, max_periods=2) == [
        (1, D("3.000")),
        (2, D("10.000")),
    ]
    capped = rollover.carry(chunks, D(10), D(0), 2, 3, max_periods=0, max_gb=D(12))
    assert capped == [(1, D("2.000")), (2, D("10.000"))], "the oldest cut first"


@given(
    st.lists(st.tuples(st.integers(0, 5), st.decimals(0, 50, places=3)), max_size=4),
    st.decimals(0, 50, places=3),
    st.decimals(0, 200, places=3),
    st.integers(0, 3),
    st.decimals(0, 40, places=3),
)
def test_rollover_never_creates_data(chunks, own, used, max_periods, max_gb):
    carried = rollover.carry(chunks, own, used, 6, 7, max_periods, max_gb)
    available = rollover.total(chunks) + own
    assert rollover.total(carried) <= max(available - used, 0) + D("0.001")
    if max_gb:
        assert rollover.total(carried) <= max_gb
    assert all(7 - origin <= max_periods for origin, _gb in carried) or not max_periods
