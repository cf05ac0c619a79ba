from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from core import usage
from core.usage import BACKWARDS, NEGATIVE, Report, Span

DAY = date(2026, 1, 10)


def report(total, day=DAY, session="s1"):
    return Report(session=session, username="alice", total=total, day=day)


def test_a_session_adds_what_each_report_adds_not_its_total_again():
    first = usage.count(report(1000), None)
    assert (first.delta, first.total, first.problem) == (1000, 1000, None)
    second = usage.count(report(4000), first.total)
    assert (second.delta, second.total) == (3000, 4000)
    again = usage.count(report(4000), second.total)
    assert again.delta == 0, "a report read twice adds nothing"


def test_a_counter_that_goes_backwards_or_below_zero_is_ignored():
    backwards = usage.count(report(10), 4000)
    assert (backwards.delta, backwards.total, backwards.problem) == (0, 4000, BACKWARDS)
    negative = usage.count(report(-5), 4000)
    assert (negative.delta, negative.total, negative.problem) == (0, 4000, NEGATIVE)
    resumed = usage.count(report(5000), backwards.total)
    assert resumed.delta == 1000, "counting resumes from the last good total"


def test_a_report_belongs_to_the_period_of_its_day():
    spans = [
        Span("jan", date(2026, 1, 1), date(2026, 1, 31)),
        Span("feb", date(2026, 2, 1), date(2026, 2, 28)),
    ]
    assert usage.period_of(date(2026, 1, 31), spans) == "jan"
    assert usage.period_of(date(2026, 2, 1), spans) == "feb"
    assert usage.period_of(date(2026, 3, 1), spans) is None


@given(st.lists(st.integers(-10, 10**12), min_size=1, max_size=30))
def test_the_usage_counted_never_exceeds_the_highest_total_nor_goes_down(totals):
    last, counted = None, 0
    for total in totals:
        result = usage.count(report(total), last)
        assert result.delta >= 0
        counted += result.delta
        last = result.total
    # Counting per report adds up to the highest good total: what the session
    # really used, whatever the order, repeats and bad reports.
    assert counted == max([0, *[t for t in totals if t >= 0]])
    assert counted == (last or 0)


def test_a_router_without_gigawords_wraps_at_4_gib_and_the_wrap_is_counted():
    near_top = usage.count(report(4_294_000_000), None, wraps=True)
    wrapped = usage.count(report(1_000_000), near_top.total, wraps=True)
    assert wrapped.note == usage.WRAPPED and wrapped.problem is None
    assert wrapped.delta == 1_000_000 + 2**32 - 4_294_000_000
    again = usage.count(report(1_000_000), wrapped.total, wraps=True)
    assert again.delta == 0, "read twice, counted once"
    reset = usage.count(report(10), 1000, wraps=True)
    assert reset.problem == usage.BACKWARDS, "a small fall is a reset, not a wrap"
    assert usage.count(report(1_000_000), 4_294_000_000).problem == usage.BACKWARDS


@given(
    st.lists(st.integers(0, 2**31 - 1), min_size=1, max_size=30),
)
def test_counting_a_wrapping_counter_adds_up_to_the_bytes_sent(steps):
    """Bytes sent in steps under 2 GiB, reported by a 32-bit counter."""
    sent, seen, counted = 0, None, 0
    for step in steps:
        sent += step
        result = usage.count(report(sent % 2**32), seen, wraps=True)
        assert result.problem is None
        counted += result.delta
        seen = result.total
    assert counted == sent


def test_reports_from_an_undeclared_router_do_not_count_once_routers_are_declared():
    declared = {usage.router_key("10.0.0.1"), usage.router_key("2001:db8:0::1")}
    assert usage.from_declared_router("10.0.0.1", declared)
    assert usage.from_declared_router("2001:db8::1", declared), (
        "one IPv6, two spellings"
    )
    assert not usage.from_declared_router("10.9.9.9", declared)
    assert not usage.from_declared_router(None, declared)
    assert usage.from_declared_router("10.9.9.9", set()), "none declared: all count"
