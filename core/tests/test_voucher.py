import random
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import voucher

NOW = datetime(2026, 12, 5, 12, 0, 0)


def test_pins_are_sixteen_digits_distinct_and_never_an_existing_one():
    taken = {"0" * 16}
    rigged = iter([0, 0, 7, 42])
    pins = voucher.new_pins(2, taken, randbelow=lambda _n: next(rigged))
    assert pins == ["0000000000000007", "0000000000000042"]
    real = voucher.new_pins(1000)
    assert len(set(real)) == 1000
    assert all(len(pin) == 16 and pin.isdigit() for pin in real)


def test_a_rigged_source_still_gives_distinct_pins():
    rigged = iter([5, 5, 5, 6, 7])
    pins = voucher.new_pins(3, randbelow=lambda _n: next(rigged))
    assert pins == ["0000000000000005", "0000000000000006", "0000000000000007"]
    with pytest.raises(ValueError):
        voucher.new_pins(0)


@given(st.integers(0, 10**16 - 1))
def test_a_printed_pin_is_typed_back_with_or_without_dashes(number):
    pin = f"{number:016d}"
    printed = voucher.display(pin)
    assert printed.count("-") == 3
    assert voucher.normalize(printed) == pin
    assert voucher.normalize(printed.replace("-", " ")) == pin
    assert voucher.normalize(pin[:-1]) is None
    assert voucher.normalize(pin[:-1] + "x") is None


def test_a_card_is_refused_once_used_cancelled_expired_or_not_on_sale():
    today = date(2026, 12, 5)
    ok = voucher.refusal(voucher.AVAILABLE, "active", today, today)
    assert ok is None, "valid through its last day"
    assert "already used" in voucher.refusal(voucher.REDEEMED, "active", None, today)
    assert "cancelled" in voucher.refusal(voucher.AVAILABLE, "cancelled", None, today)
    expired = voucher.refusal(voucher.AVAILABLE, "active", date(2026, 12, 4), today)
    assert "expired on 2026-12-04" in expired
    assert "not on sale" in voucher.refusal(voucher.AVAILABLE, "draft", None, today)


def test_five_wrong_pins_are_free_then_each_try_waits_longer():
    failures = [NOW - timedelta(seconds=10 * i) for i in range(4)]
    assert voucher.may_try(failures, NOW).allowed
    failures = [NOW - timedelta(seconds=1)] * 5
    verdict = voucher.may_try(failures, NOW)
    assert (verdict.allowed, verdict.wait) == (False, 1)
    assert voucher.may_try(failures, NOW + timedelta(seconds=2)).allowed
    failures = [NOW] * 10
    assert voucher.may_try(failures, NOW).wait == 64


def test_twenty_wrong_pins_lock_out_for_the_hour():
    failures = [NOW - timedelta(minutes=30)] + [NOW] * 19
    verdict = voucher.may_try(failures, NOW + timedelta(minutes=10))
    assert not verdict.allowed and verdict.wait is None
    assert "locked out" in verdict.message and "21 minutes" in verdict.message
    assert voucher.may_try(failures, NOW + timedelta(minutes=61)).allowed


@given(st.lists(st.integers(0, 7200), max_size=40), st.integers(0, 7200))
def test_whoever_is_allowed_had_fewer_than_twenty_wrong_pins_within_the_hour(
    offsets, now_offset
):
    now = NOW + timedelta(seconds=now_offset)
    failures = [NOW + timedelta(seconds=o) for o in offsets if o <= now_offset]
    verdict = voucher.may_try(failures, now)
    recent = [at for at in failures if now - at < voucher.WINDOW]
    if verdict.allowed:
        assert len(recent) < voucher.LOCK_AFTER
    if len(recent) < voucher.FREE_TRIES:
        assert verdict.allowed


def test_pins_are_spread_over_all_digits():
    pins = voucher.new_pins(2000, randbelow=random.Random(1).randrange)
    first = {pin[0] for pin in pins}
    assert first == set("0123456789")
