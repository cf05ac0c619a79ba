"""Periods of a recurring package, always counted from an anchor date.

Period ``k`` starts at ``anchor + k * interval`` units. Monthly periods are
computed from the anchor every time (never from the previous period), so an
anchor on the 31st gives Jan 31, Feb 28 (29), Mar 31, Apr 30: no drift.
A period ends the day before the next one starts.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

DAILY = "daily"
WEEKLY = "weekly"
MONTHLY = "monthly"
UNITS = (DAILY, WEEKLY, MONTHLY)
# Schedules must have room for centuries of periods before date.max.
LAST_START_YEAR = 2999


@dataclass(frozen=True)
class Rule:
    """Every ``interval`` days, weeks or months."""

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
                "The recurrence interval must be a whole number of 1 or more."
            )

    def days(self):
        """Length in days of a daily or weekly period (None for monthly)."""
        if self.unit == DAILY:
            return self.interval
        if self.unit == WEEKLY:
            return 7 * self.interval
        return None


@dataclass(frozen=True)
class Period:
    index: int
    start: date
    end: date


def check_start(anchor):
    """Reject a start date too far in the future to schedule."""
    if anchor.year > LAST_START_YEAR:
        raise ValueError(
            f"The start date must be before year {LAST_START_YEAR + 1}: "
            "check the year you typed."
        )
    return anchor


def period_start(anchor, rule, index):
    """Start of the ``index``-th period (0 is the anchor itself)."""
    if index < 0:
        raise ValueError("A period index cannot be negative.")
    try:
        days = rule.days()
        if days is not None:
            return anchor + timedelta(days=days * index)
        return anchor + relativedelta(months=rule.interval * index)
    except (OverflowError, ValueError) as exc:
        raise ValueError(
            "This schedule reaches beyond year 9999: choose an earlier start date."
        ) from exc


def period(anchor, rule, index):
    start = period_start(anchor, rule, index)
    end = period_start(anchor, rule, index + 1) - timedelta(days=1)
    return Period(index=index, start=start, end=end)


def _index_at(anchor, rule, day):
    """Index of the period containing ``day`` (``day >= anchor``)."""
    days = rule.days()
    if days is not None:
        return (day - anchor).days // days
    months = (day.year - anchor.year) * 12 + day.month - anchor.month
    index = max(months // rule.interval, 0)
    # The estimate is exact or one too high (day of month before the anchor's).
    while index > 0 and period_start(anchor, rule, index) > day:
        index -= 1
    return index


def period_at(anchor, rule, day):
    """The period that contains ``day``."""
    if day < anchor:
        raise ValueError("The day lies before the first period.")
    return period(anchor, rule, _index_at(anchor, rule, day))


def next_period_start(anchor, rule, after):
    """First period start strictly after ``after``."""
    if after < anchor:
        return anchor
    return period_start(anchor, rule, _index_at(anchor, rule, after) + 1)


def due_periods(anchor, rule, next_date, today):
    """Periods starting on or after ``next_date`` and on or before ``today``."""
    if next_date > today:
        return []
    if next_date <= anchor:
        index = 0
    else:
        index = _index_at(anchor, rule, next_date)
        if period_start(anchor, rule, index) < next_date:
            index += 1
    periods = []
    while True:
        current = period(anchor, rule, index)
        if current.start > today:
            return periods
        periods.append(current)
        index += 1
