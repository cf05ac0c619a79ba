"""Which calendar day it is for a company: its timezone decides."""

from datetime import timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def local_today(utc_now, tz_name):
    """The date in ``tz_name`` at ``utc_now`` (naive means UTC).

    An empty or unknown timezone falls back to UTC.
    """
    if utc_now.tzinfo is None:
        utc_now = utc_now.replace(tzinfo=timezone.utc)
    try:
        zone = ZoneInfo(tz_name) if tz_name else timezone.utc
    except (ZoneInfoNotFoundError, ValueError):
        zone = timezone.utc
    return utc_now.astimezone(zone).date()
