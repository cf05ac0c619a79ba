"""Usage, from RADIUS accounting: how many bytes each period really used.

The rules, as a network engineer would state them:

- A router reports a session's counters from its start: Start (0), then
  Interim-Update and Stop with the bytes so far (FreeRADIUS stores input and
  output octets with their gigawords already combined). What a report adds is
  its total minus the total last seen for that session, never the total
  again: a report read twice, or re-read after a crash, adds nothing.
- A counter smaller than the one already seen (a router reset), or a
  negative one, is ignored and reported: it never lowers the usage, and the
  next good report counts from the last good total.
- A router that never sends gigawords wraps its 32-bit counters at 4 GiB.
  For such routers (a setting of the RADIUS server), a total that fell by
  more than 2 GiB is a wrap, not a reset: what it adds is the new total plus
  4 GiB less the one seen (one interim interval never carries 2 GiB more).
- What a report adds belongs to the period that contains the day of that
  report, in the company's timezone. A session that spans two periods is thus
  split at the first report of the new period: the usage of a period is exact
  to one interim interval (routers send one every few minutes).
- A report for a username that no subscription holds is ignored and reported.
- Once routers are declared in Odoo for a RADIUS server, a report from an
  address none of them has (a router nobody declared, or a forged packet the
  server let through) is ignored and reported, whatever its username. With
  no router declared, the server's own client list is the only gate.
"""

import ipaddress
from dataclasses import dataclass
from datetime import date

NEGATIVE = "negative"
BACKWARDS = "backwards"
UNKNOWN_USER = "unknown_user"
UNKNOWN_NAS = "from a router not declared"
WRAPPED = "wrapped"

GIGAWORD = 2**32
# A fall larger than this, from a router without gigawords, is a wrap.
_WRAP_DROP = 2**31


@dataclass(frozen=True)
class Report:
    """One accounting row as read: its session, user, counters and day."""

    session: str
    username: str
    total: int
    day: date


@dataclass(frozen=True)
class Counted:
    """What a report adds (``delta``) and the session total to remember; or
    why it is ignored (``problem``). ``note`` is said but not a problem (a
    counted wrap). ``total`` is the session's total as its router counts it
    (after a wrap, the wrapped counter: the next report counts from it)."""

    delta: int
    total: int
    problem: str | None = None
    note: str | None = None


def count(report: Report, last_total: int | None, wraps: bool = False) -> Counted:
    """What ``report`` adds to the usage, ``last_total`` being the session's
    total already counted (None for a session never seen); ``wraps``: its
    router sends no gigawords, so its counters wrap at 4 GiB."""
    seen = last_total or 0
    if report.total < 0:
        return Counted(0, seen, NEGATIVE)
    if report.total < seen:
        if wraps and seen - report.total > _WRAP_DROP:
            return Counted(report.total + GIGAWORD - seen, report.total, note=WRAPPED)
        return Counted(0, seen, BACKWARDS)
    return Counted(report.total - seen, report.total)


@dataclass(frozen=True)
class Span:
    """A granted period of a subscription: ``key`` names it (a grant id)."""

    key: object
    start: date
    end: date


def period_of(day: date, spans: list[Span]) -> object | None:
    """The key of the span that contains ``day``, None when none does."""
    for span in spans:
        if span.start <= day <= span.end:
            return span.key
    return None


def router_key(address) -> str:
    """An address as one text whatever its spelling (``::1`` and
    ``0:0::1`` are one router); the text itself when it is no address."""
    try:
        return ipaddress.ip_address(str(address or "").strip()).compressed
    except ValueError:
        return str(address or "").strip()


def from_declared_router(address, declared: set[str]) -> bool:
    """Whether a report from ``address`` counts, given the ``router_key``s
    of the declared routers (none declared: every address counts)."""
    return not declared or router_key(address) in declared
