"""Changing plan in the middle of a period: what the unused part is worth.

The rules, as an accountant would state them:

- A plan changed *now* takes effect today: today belongs to the new plan.
- The unused part of the current period runs from today to its last day; it
  is worth the period's price times the unused days over the period's days,
  rounded to the currency (half up). A change on the first day of a period
  gives the whole price back; on its last day, one day's worth.
- Credit-based: the unused part is credited back (a credit note), then the
  new plan's first period, starting today, is paid from the credit as any
  grant; an upgrade the credit (with what is credited back) cannot pay is
  refused with the missing amount. One-off: the unused part reduces the next
  invoice.
"""

from datetime import date
from decimal import Decimal

from . import credit
from .recurrence import Period


def unused_share(total: credit.Amount, period: Period, day: date, rounding) -> Decimal:
    """What the days of ``period`` from ``day`` on are worth of ``total``."""
    if not period.start <= day <= period.end:
        raise ValueError(
            f"{day.isoformat()} is not in the period "
            f"{period.start.isoformat()} to {period.end.isoformat()}."
        )
    days = (period.end - period.start).days + 1
    unused = (period.end - day).days + 1
    return credit.round_money(credit.to_decimal(total) * unused / days, rounding)


def upgrade_missing(available, refund, new_total, rounding) -> Decimal:
    """What the credit lacks for the new plan's first period, counting what
    the change credits back (0 when it pays)."""
    return credit.missing_credit(
        credit.to_decimal(available) + credit.to_decimal(refund), new_total, rounding
    )
