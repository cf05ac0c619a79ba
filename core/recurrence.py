"""Billing periods of a recurring package, always counted from its anchor date.

The rules, as an accountant would state them:

- A package recurs every N days, every N weeks or every N months (the rule).
- The first period starts on the anchor date (the subscription's start, or the
  day it restarted after waiting for credit). Period number ``k`` starts
  ``k * N`` units after the anchor: N days later for daily packages, 7 * N days
  for weekly ones, N months for monthly ones.
- Monthly starts are always counted from the anchor, never from the previous
  period. An anchor on January 31 gives January 31, February 28 (29 in a leap
  year), March 31, April 30...: a short month never pulls later periods
  earlier.
- A period ends the day before the next one starts, so periods follow each
  other with no gap and no overlap.
- Dates stop at December 31, 9999: a period beyond that is an error with a
  clear message, never a crash.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

DAILY = "daily"
WEEKLY = "weekly"
MONTHLY = "monthly"
UNITS = (DAILY, WEEKLY, MONTHLY)

# A start date must leave room for centuries of periods before year 9999.
LAST_START_YEAR = 2999

_BEYOND_9999 = (
    "Cannot schedule a period beyond year 9999: choose an earlier start date."
)


@dataclass(frozen=True)
class Rule:
    """How often a package recurs: every ``interval`` days, weeks or months."""

    unit: str
    interval: int

    def __post_init__(self):
        if self.unit not in UNITS:
            raise ValueError(
                f"Unknown recurrence {self.unit!r}: use daily, weekly or monthly."
            )
        if (
            isinstance(self.interval, bool)
            or not isinstance(self.interval, int)
            or self.interval < 1
        ):
            raise ValueError(
                "The recurrence interval must be a whole number of 1 or more, "
                f"not {self.interval!r}."
            )

    def days(self) -> int | None:
        """Length in days of a daily or weekly period; None for monthly ones."""
        if self.unit == DAILY:
            return self.interval
        if self.unit == WEEKLY:
            return 7 * self.interval
        return None


@dataclass(frozen=True)
class Period:
    """Period number ``index`` (0 is the first): from ``start`` to ``end``.

    Both days are included; ``end`` is the day before the next period starts.
    """

    index: int
    start: date
    end: date


def check_start(anchor: date) -> date:
    """Reject a start date too far in the future to schedule (a typing error)."""
    if anchor.year > LAST_START_YEAR:
        raise ValueError(
            f"The start date must be before year {LAST_START_YEAR + 1}: "
            "check the year you typed."
        )
    return anchor


def _check_index(index: int) -> None:
    if isinstance(index, bool) or not isinstance(index, int):
        raise ValueError(f"A period number must be a whole number, not {index!r}.")
    if index < 0:
        raise ValueError("A period number cannot be negative.")


def period_start(anchor: date, rule: Rule, index: int) -> date:
    """First day of period ``index`` (period 0 starts on the anchor).

    Counted from the anchor every time: daily ``anchor + N * index`` days,
    weekly ``anchor + 7 * N * index`` days, monthly ``anchor + N * index``
    months (the day of month is the anchor's, or the month's last day when the
    month is shorter).
    """
    _check_index(index)
    days = rule.days()
    try:
        if days is not None:
            return anchor + timedelta(days=days * index)
        return anchor + relativedelta(months=rule.interval * index)
    except (OverflowError, ValueError) as exc:
        raise ValueError(_BEYOND_9999) from exc


def period_end(anchor: date, rule: Rule, index: int) -> date:
    """Last day of period ``index``: the day before period ``index + 1`` starts."""
    _check_index(index)
    return period_start(anchor, rule, index + 1) - timedelta(days=1)


def period(anchor: date, rule: Rule, index: int) -> Period:
    """Period ``index`` with its first and last day."""
    return Period(
        index=index,
        start=period_start(anchor, rule, index),
        end=period_end(anchor, rule, index),
    )


def _index_at(anchor: date, rule: Rule, day: date) -> int:
    """Number of the period that contains ``day`` (``day >= anchor``).

    Computed, not searched: daily and weekly periods have a fixed length. For
    monthly ones the month count gives the answer, or one too many when
    ``day`` falls in a period's first month but before its start day (anchor
    on the 20th, day on the 10th): the previous period then contains it.
    """
    days = rule.days()
    if days is not None:
        return (day - anchor).days // days
    months = (day.year - anchor.year) * 12 + day.month - anchor.month
    index = months // rule.interval
    if period_start(anchor, rule, index) > day:
        index -= 1
    return index


def period_at(anchor: date, rule: Rule, day: date) -> Period:
    """The period that contains ``day``; ``day`` cannot be before the anchor."""
    if day < anchor:
        raise ValueError(
            f"{day.isoformat()} is before the first period, which starts on "
            f"{anchor.isoformat()}."
        )
    return period(anchor, rule, _index_at(anchor, rule, day))


def next_period_start(anchor: date, rule: Rule, after: date) -> date:
    """The first period start strictly after ``after`` (the anchor if earlier)."""
    if after < anchor:
        return anchor
    return period_start(anchor, rule, _index_at(anchor, rule, after) + 1)


def _first_index_on_or_after(anchor: date, rule: Rule, day: date) -> int:
    if day <= anchor:
        return 0
    index = _index_at(anchor, rule, day)
    if period_start(anchor, rule, index) < day:
        index += 1
    return index


def due_periods(anchor: date, rule: Rule, next_date: date, today: date) -> list[Period]:
    """Every period that starts on or after ``next_date`` and on or before
    ``today``, oldest first.

    ``next_date`` is normally itself a period start (the next one to process).
    If it is not, the first period starting after it is the first one due.
    Nothing is due when ``next_date`` is after ``today``.
    """
    if next_date > today or today < anchor:
        return []
    first = _first_index_on_or_after(anchor, rule, next_date)
    last = _index_at(anchor, rule, today)
    starts = [period_start(anchor, rule, k) for k in range(first, last + 2)]
    one_day = timedelta(days=1)
    return [
        Period(index=first + offset, start=start, end=following - one_day)
        for offset, (start, following) in enumerate(
            zip(starts, starts[1:], strict=False)
        )
    ]
