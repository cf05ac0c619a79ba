from datetime import datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import clock, credit, units

CENT = Decimal("0.01")


def test_equal_credit_is_enough_and_a_cent_short_is_not():
    assert credit.can_afford(Decimal("5.00"), Decimal("5.00"), CENT)
    assert not credit.can_afford(Decimal("4.99"), Decimal("5.00"), CENT)
    assert credit.can_afford(Decimal("20"), Decimal("5.75"), CENT)


def test_comparison_happens_at_the_currency_rounding():
    # 4.996 rounds to 5.00: covered at cents.
    assert credit.can_afford(Decimal("4.996"), Decimal("5.00"), CENT)
    # Swiss-style 0.05 rounding: 4.97 rounds to 4.95, 4.98 rounds to 5.00.
    assert not credit.can_afford(Decimal("4.97"), Decimal("5.00"), Decimal("0.05"))
    assert credit.can_afford(Decimal("4.98"), Decimal("5.00"), Decimal("0.05"))


def test_round_money_is_half_up_like_odoo():
    assert credit.round_money(Decimal("2.675"), CENT) == Decimal("2.68")
    assert credit.round_money(2.675, CENT) == Decimal("2.68")
    assert credit.round_money(Decimal("-2.675"), CENT) == Decimal("-2.68")
    assert credit.round_money(Decimal("7"), Decimal("5")) == Decimal("5")


def test_prepaid_credit_is_minus_the_receivable_balance():
    assert credit.available_credit(-20.0) == Decimal("20.0")
    assert credit.available_credit(Decimal("18")) == Decimal("-18")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "abc", None, True])
def test_amounts_must_be_finite_numbers(bad):
    with pytest.raises(ValueError):
        credit.to_decimal(bad)


def test_a_negative_total_is_refused():
    with pytest.raises(ValueError):
        credit.can_afford(Decimal(10), Decimal(-1), CENT)


@given(
    balance=st.decimals(-(10**6), 10**6, places=2),
    total=st.decimals(0, 10**6, places=2),
)
def test_can_afford_matches_plain_comparison_of_cents(balance, total):
    assert credit.can_afford(balance, total, CENT) == (balance >= total)


def test_data_limit_normalisation():
    assert units.normalize_data_limit(10) == Decimal("10.000")
    assert units.normalize_data_limit(0.0005) == Decimal("0.001")
    assert units.normalize_data_limit(None) == 0
    assert units.normalize_data_limit(False) == 0
    for bad in (-1, float("nan"), float("inf"), "ten", [1], True):
        with pytest.raises(ValueError, match="finite number of GB"):
            units.normalize_data_limit(bad)


def test_data_is_shown_in_accountant_units():
    assert units.format_data(10) == "10 GB"
    assert units.format_data(1.5) == "1.5 GB"
    assert units.format_data(0.5) == "500 MB"
    assert units.format_data(0) == "Unlimited"
    assert units.gb_to_bytes(2.5) == 2_500_000_000


def test_today_is_the_date_in_the_company_timezone():
    late = datetime(2026, 2, 28, 23, 30)
    assert clock.local_today(late, "Europe/Paris").isoformat() == "2026-03-01"
    assert clock.local_today(late, "UTC").isoformat() == "2026-02-28"
    assert clock.local_today(late, None).isoformat() == "2026-02-28"
    assert clock.local_today(late, "Not/AZone").isoformat() == "2026-02-28"
    aware = datetime(2026, 1, 1, 3, 0, tzinfo=timezone.utc)
    assert clock.local_today(aware, "America/New_York").isoformat() == "2025-12-31"
