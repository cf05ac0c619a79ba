from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import credit

CENT = Decimal("0.01")
NICKEL = Decimal("0.05")


# -- amounts ----------------------------------------------------------------


def test_amounts_become_exact_decimals():
    assert credit.to_decimal(5) == Decimal("5")
    assert credit.to_decimal("4.99") == Decimal("4.99")
    assert credit.to_decimal(Decimal("1.10")) == Decimal("1.10")
    # A float is taken as written, without its binary noise.
    assert credit.to_decimal(0.1) == Decimal("0.1")
    assert credit.to_decimal(2.675) == Decimal("2.675")
    assert credit.to_decimal(0.1) + credit.to_decimal(0.2) == Decimal("0.3")


@pytest.mark.parametrize(
    "bad",
    [
        float("nan"),
        float("inf"),
        float("-inf"),
        "NaN",
        "Infinity",
        Decimal("NaN"),
        "abc",
        "",
        None,
        True,
        [1],
    ],
)
def test_amounts_must_be_finite_numbers(bad):
    with pytest.raises(ValueError):
        credit.to_decimal(bad)


# -- rounding ---------------------------------------------------------------


def test_round_money_is_half_up_like_odoo():
    assert credit.round_money(Decimal("2.675"), CENT) == Decimal("2.68")
    assert credit.round_money(2.675, CENT) == Decimal("2.68")
    assert credit.round_money(Decimal("2.674"), CENT) == Decimal("2.67")
    assert credit.round_money(Decimal("-2.675"), CENT) == Decimal("-2.68")
    assert credit.round_money(Decimal("0.125"), "0.01") == Decimal("0.13")


def test_round_money_follows_the_currency_step():
    assert credit.round_money(Decimal("4.97"), NICKEL) == Decimal("4.95")
    assert credit.round_money(Decimal("4.975"), NICKEL) == Decimal("5.00")
    assert credit.round_money(Decimal("4.98"), NICKEL) == Decimal("5.00")
    assert credit.round_money(Decimal("7.5"), Decimal("1")) == Decimal("8")
    assert credit.round_money(Decimal("7.49"), 1) == Decimal("7")
    assert credit.round_money(Decimal("7"), Decimal("5")) == Decimal("5")


@pytest.mark.parametrize("step", [0, -0.01, "nan"])
def test_a_currency_rounding_must_be_positive(step):
    with pytest.raises(ValueError):
        credit.round_money(Decimal("1"), step)


def test_round_money_keeps_large_amounts_exact():
    big = Decimal("123456789012345678901234567890.125")
    assert credit.round_money(big, CENT) == Decimal("123456789012345678901234567890.13")


# -- credit -----------------------------------------------------------------


def test_prepaid_credit_is_minus_the_receivable_balance():
    assert credit.available_credit(-20.0) == Decimal("20.0")
    assert credit.available_credit(Decimal("18")) == Decimal("-18")
    assert credit.available_credit(0) == 0


def test_equal_credit_is_enough_and_a_cent_short_is_not():
    assert credit.can_afford(Decimal("5.00"), Decimal("5.00"), CENT)
    assert credit.can_afford(Decimal("5"), Decimal("5.00"), CENT)
    assert not credit.can_afford(Decimal("4.99"), Decimal("5.00"), CENT)
    assert credit.can_afford(Decimal("20"), Decimal("5.75"), CENT)


def test_a_free_grant_needs_no_credit_but_a_debt_blocks_a_paid_one():
    assert credit.can_afford(Decimal("0"), Decimal("0"), CENT)
    assert not credit.can_afford(Decimal("-0.01"), Decimal("0"), CENT)
    assert not credit.can_afford(Decimal("-10"), Decimal("5"), CENT)


def test_the_comparison_happens_at_the_currency_rounding():
    # 4.996 rounds to 5.00: covered at cents, while 4.994 is not.
    assert credit.can_afford(Decimal("4.996"), Decimal("5.00"), CENT)
    assert not credit.can_afford(Decimal("4.994"), Decimal("5.00"), CENT)
    # 0.05 rounding: 4.97 rounds to 4.95 (short), 4.98 rounds to 5.00.
    assert not credit.can_afford(Decimal("4.97"), Decimal("5.00"), NICKEL)
    assert credit.can_afford(Decimal("4.98"), Decimal("5.00"), NICKEL)
    # Whole units: 4.50 rounds to 5.
    assert credit.can_afford(Decimal("4.50"), Decimal("5"), Decimal("1"))
    assert not credit.can_afford(Decimal("4.49"), Decimal("5"), Decimal("1"))


def test_floats_from_the_database_compare_without_binary_noise():
    # 0.1 + 0.2 is 0.30000000000000004 in binary floating point.
    assert credit.can_afford(0.1 + 0.2, "0.30", 0.01)
    assert credit.can_afford(0.3, 0.1 + 0.2, 0.01)


def test_a_negative_total_is_refused():
    with pytest.raises(ValueError, match="cannot be negative"):
        credit.can_afford(Decimal(10), Decimal(-1), CENT)


def test_missing_credit_is_what_a_top_up_must_bring():
    assert credit.missing_credit(Decimal("3.20"), Decimal("5.00"), CENT) == Decimal(
        "1.80"
    )
    assert credit.missing_credit(Decimal("-2"), Decimal("5"), CENT) == Decimal("7.00")
    assert credit.missing_credit(Decimal("9"), Decimal("5"), CENT) == 0


def test_top_up_amounts_must_be_positive_and_plausible():
    assert credit.top_up_problem(Decimal("10"), CENT) is None
    assert credit.top_up_problem(Decimal("0"), CENT) == credit.NOT_POSITIVE
    assert credit.top_up_problem(Decimal("-5"), CENT) == credit.NOT_POSITIVE
    assert credit.top_up_problem(Decimal("0.004"), CENT) == credit.NOT_POSITIVE
    assert credit.top_up_problem(credit.TOP_UP_LIMIT, CENT) == credit.TOO_LARGE
    with pytest.raises(ValueError):
        credit.top_up_problem(float("nan"), CENT)


# -- properties -------------------------------------------------------------

cents = st.decimals(-(10**6), 10**6, places=2)
steps = st.sampled_from([Decimal("0.01"), Decimal("0.05"), Decimal("1")])


@given(balance=cents, total=st.decimals(0, 10**6, places=2))
def test_at_cents_can_afford_is_the_plain_comparison(balance, total):
    assert credit.can_afford(balance, total, CENT) == (balance >= total)


@given(amount=st.decimals(-(10**9), 10**9, places=4), step=steps)
def test_rounding_lands_on_the_nearest_step(amount, step):
    rounded = credit.round_money(amount, step)
    assert rounded % step == 0
    assert abs(rounded - amount) <= step / 2
    assert credit.round_money(rounded, step) == rounded


@given(credit_=cents, total=st.decimals(0, 10**6, places=3), step=steps)
def test_missing_credit_is_zero_exactly_when_affordable(credit_, total, step):
    affordable = credit.can_afford(credit_, total, step)
    assert (credit.missing_credit(credit_, total, step) == 0) == affordable
