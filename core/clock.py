"""Which calendar day it is for a company: its timezone decides.

The rule, as an accountant would state it: a period that starts on March 1
starts at midnight in the company's timezone, not at midnight UTC. At 23:30
UTC on February 28 it is already March 1 in Paris (UTC+1), so a Paris
company's March periods are due. Without a timezone (or with one the system
does not know) the day is taken in UTC.
"""

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def local_today(utc_now: datetime, tz_name: str | None) -> date:
    """The calendar date in timezone ``tz_name`` at the instant ``utc_now``.

    A ``utc_now`` without timezone is taken as UTC (as Odoo stores times).
    An empty or unknown ``tz_name`` falls back to UTC.
    """
    if utc_now.tzinfo is None:
        utc_now = utc_now.replace(tzinfo=timezone.utc)
    return utc_now.astimezone(zone(tz_name)).date()


def zone(tz_name):
    """The timezone named ``tz_name``; UTC when empty or unknown."""
    if not tz_name or not isinstance(tz_name, str):
        return timezone.utc
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return timezone.utc


def day_start_utc(day: date, tz_name: str | None) -> datetime:
    """The UTC instant (naive, as Odoo stores times) at which ``day`` begins
    in timezone ``tz_name``."""
    local = datetime.combine(day, time.min).replace(tzinfo=zone(tz_name))
    return local.astimezone(timezone.utc).replace(tzinfo=None)
