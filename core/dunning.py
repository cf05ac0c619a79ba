"""Dunning of postpaid subscribers: when to suspend, and when to restore.

The rules, as an ISP's accountant would state them:

- A postpaid (one-off) subscriber with an invoice still unpaid after its due
  date is given the service's grace days: suspended on the first day after
  ``due date + grace days`` that is a suspension day.
- Nobody is suspended on the service's no-suspension weekdays (e.g. Saturday
  and Sunday: nobody answers the phone) nor on the company's holidays; the
  suspension waits for the next day that is neither.
- An accountant may hold the dunning of one subscription until a date (a
  promise to pay): nothing is suspended before it passes.
- On suspension, the service's reconnection fee is invoiced. Access comes
  back once every overdue invoice and that fee are paid, not before: a
  partial payment changes nothing.
"""

from dataclasses import dataclass
from datetime import date, timedelta

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

SUSPEND = "suspend"
RESTORE = "restore"
WAIT = "wait"


def parse_weekdays(text: str | None) -> frozenset[int]:
    """The weekdays (0 = Monday) of "sat, sun". Raises ValueError with what
    to type instead."""
    days = set()
    for part in (text or "").replace(";", ",").split(","):
        name = part.strip().lower()[:3]
        if not name:
            continue
        if name not in WEEKDAYS:
            raise ValueError(f"{part.strip()!r} is not a weekday: write e.g. sat, sun.")
        days.add(WEEKDAYS.index(name))
    if len(days) == 7:
        raise ValueError("Every day cannot be a no-suspension day.")
    return frozenset(days)


@dataclass(frozen=True)
class Dunning:
    """A postpaid subscription as dunning sees it."""

    oldest_unpaid_due: date | None
    grace_days: int
    no_suspend_weekdays: frozenset[int] = frozenset()
    holidays: frozenset[date] = frozenset()
    hold_until: date | None = None
    suspended: bool = False
    fee_paid: bool = True


def suspension_day(unpaid_due: date, grace_days: int, weekdays, holidays) -> date:
    """The first day on which a subscriber whose invoice was due on
    ``unpaid_due`` may be suspended."""
    if grace_days < 0:
        raise ValueError("Grace days are counted from 0 up.")
    day = unpaid_due + timedelta(days=grace_days + 1)
    while day.weekday() in weekdays or day in holidays:
        day += timedelta(days=1)
    return day


def decide(sub: Dunning, today: date) -> str:
    """SUSPEND, RESTORE or WAIT (nothing to do today)."""
    if sub.suspended:
        if sub.oldest_unpaid_due is None and sub.fee_paid:
            return RESTORE
        if sub.hold_until and today <= sub.hold_until:
            return RESTORE
        return WAIT
    if sub.oldest_unpaid_due is None:
        return WAIT
    if sub.hold_until and today <= sub.hold_until:
        return WAIT
    if today.weekday() in sub.no_suspend_weekdays or today in sub.holidays:
        return WAIT
    day = suspension_day(
        sub.oldest_unpaid_due, sub.grace_days, sub.no_suspend_weekdays, sub.holidays
    )
    return SUSPEND if today >= day else WAIT
