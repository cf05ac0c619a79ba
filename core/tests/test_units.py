from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import units

LIMIT_MESSAGE = "The data limit must be a finite number of GB, 0 or more."


def test_data_limits_are_kept_to_the_megabyte():
    assert units.normalize_data_limit(10) == Decimal("10.000")
    assert units.normalize_data_limit(1.5) == Decimal("1.500")
    assert units.normalize_data_limit(Decimal("2.0004")) == Decimal("2.000")
    assert units.normalize_data_limit(0.0005) == Decimal("0.001")  # half up
    assert units.normalize_data_limit("0.25") == Decimal("0.250")


@pytest.mark.parametrize("empty", [None, False, 0, 0.0, Decimal(0), "0"])
def test_no_data_limit_means_a_time_based_package(empty):
    assert units.normalize_data_limit(empty) == 0
    assert units.format_data(empty) == units.UNLIMITED_LABEL


@pytest.mark.parametrize(
    "bad",
    [-1, -0.001, float("nan"), float("inf"), "ten", "", [1], {}, True, Decimal("NaN")],
)
def test_negative_infinite_and_non_numeric_limits_are_refused(bad):
    with pytest.raises(ValueError) as error:
        units.normalize_data_limit(bad)
    assert str(error.value) == LIMIT_MESSAGE


def test_gigabytes_are_decimal():
    assert units.gb_to_bytes(1) == 1_000_000_000
    assert units.gb_to_bytes(2.5) == 2_500_000_000
    assert units.gb_to_bytes(0.001) == 1_000_000
    assert units.gb_to_bytes(0) == 0
    assert isinstance(units.gb_to_bytes(1.5), int)


def test_data_is_shown_in_accountant_units():
    assert units.format_data(10) == "10 GB"
    assert units.format_data(10.0) == "10 GB"
    assert units.format_data(1.5) == "1.5 GB"
    assert units.format_data(1) == "1 GB"
    assert units.format_data(100) == "100 GB"
    assert units.format_data(0.5) == "500 MB"
    assert units.format_data(0.001) == "1 MB"
    assert units.format_data(0) == "Unlimited"


@given(st.decimals(0, 10**6, places=3))
def test_normalising_twice_changes_nothing(value):
    once = units.normalize_data_limit(value)
    assert once == value
    assert units.normalize_data_limit(once) == once
    assert units.gb_to_bytes(once) == int(value * 10**9)
