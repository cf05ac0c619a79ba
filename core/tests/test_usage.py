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
