"""What the network must know of a subscriber: FreeRADIUS rows, and when to cut.

The rules, as a network engineer would state them:

- A subscriber is known to RADIUS by a username and a password. A closed
  subscription is removed: the next Access-Request is rejected.
- Access lasts until the end of the last paid (granted) period: FreeRADIUS's
  ``Expiration`` check item rejects after that instant, and sets
  ``Session-Timeout`` so that a session open at that moment ends then. A
  subscriber who was never granted a period is rejected.
- A package with a data limit gives the volume left in the current period in
  the reply, split as the router's vendor requires: 32-bit attributes carry the
  low part, their *Gigawords* twin the number of 4 GiB (2**32 bytes) above it.
  Volumes are in decimal bytes: 1 GB = 10**9 bytes (see ``units``).
- A package without data limit gets no volume: access is limited in time only.
- A plan is also a speed tier: its speed (with a burst, on MikroTik) goes in
  every Access-Accept, and a throttle at the cap replaces it.
- At the cap (nothing left), the service says what happens: ``block`` (the
  next Access-Request is rejected, with a Reply-Message saying why) or
  ``throttle`` (accepted, without volume, with the vendor's rate limit).
- The cap holds between two usage imports: FreeRADIUS itself counts what
  radacct holds since the period started, at every Access-Request, against
  the period's volume that Odoo wrote (``ISP-Period-Start``,
  ``ISP-Period-Volume``: the ``isp_cap`` policy of ``radius/raddb``). A
  subscriber who logs in again gets only what is left, and at the cap is
  blocked or throttled as the service says, whatever Odoo last imported.
- A walled garden instead: a capped or expired subscriber (per service), or
  one never paid, is accepted into an address list (MikroTik) or an address
  pool (``Framed-Pool``) that only reaches the portal, to pay and come back
  by themselves. FreeRADIUS applies it at login once ``Expiration`` passed
  (the ``isp_expired`` policy), as Odoo writes nothing at that instant.
- A subscriber cut or throttled mid-session gets a Disconnect-Request or a CoA
  (RFC 5176) at the router of their open session.
- A service may allow only so many sessions at once (Simultaneous-Use, e.g.
  1): FreeRADIUS counts the user's open sessions in radacct at login, except
  those silent for longer than the stale delay (a router that lost them) and
  those of the same device (Calling-Station-Id) logging in again.
- Fair usage in steps (``fair_usage``): the step in force decides the
  speed or the block, the router gets the data left until the next step, and
  FreeRADIUS's ``isp_cap`` applies the next step at login once radacct
  reaches it. Traffic in a free (or cheaper) time window is not counted by
  Odoo; FreeRADIUS, which counts every byte of radacct, is told the period's
  volume plus what Odoo did not count, so both agree.
- Fair-usage alerts: each threshold (a percentage of the period's data) is
  announced once per period, when the usage crosses it.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from . import fair_usage
from .fair_usage import BLOCK, THROTTLE, WALLED, Step, Throttle

MIKROTIK = "mikrotik"
CHILLISPOT = "chillispot"
GENERIC = "generic"
VENDORS = (MIKROTIK, CHILLISPOT, GENERIC)

# What a subscriber whose paid access ended gets.
REJECT = "reject"
EXPIRED_ACTIONS = (REJECT, WALLED)

GIGAWORD = 2**32
# What a 32-bit RADIUS integer holds.
_MAX_32 = GIGAWORD - 1
# FreeRADIUS's date format for Expiration (read in the server's timezone, UTC).
EXPIRATION_FORMAT = "%b %d %Y %H:%M:%S"

# Letters, digits and . _ - @, as routers and FreeRADIUS accept them unquoted.
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")

# The volume attributes of each vendor: (low 32 bits, gigawords).
VOLUME_ATTRIBUTES = {
    MIKROTIK: ("Mikrotik-Total-Limit", "Mikrotik-Total-Limit-Gigawords"),
    CHILLISPOT: ("ChilliSpot-Max-Total-Octets", "ChilliSpot-Max-Total-Gigawords"),
}


@dataclass(frozen=True)
class Speed:
    """A plan's speed tier, in kbit/s, sent on every Access-Accept; with a
    burst (MikroTik): up to ``burst_*`` while the average of the last
    ``burst_seconds`` stays under ``threshold_pct`` of the burst."""

    down_kbps: int
    up_kbps: int
    burst_down_kbps: int = 0
    burst_up_kbps: int = 0
    threshold_pct: int = 75
    burst_seconds: int = 16

    def problem(self) -> str | None:
        """Why this speed cannot be sent, or None."""
        if self.down_kbps < 0 or self.up_kbps < 0:
            return "Speeds are 0 kbit/s (none) or more."
        if bool(self.down_kbps) != bool(self.up_kbps):
            return "Give both the download and the upload speed, or neither."
        if self.burst_down_kbps or self.burst_up_kbps:
            if not self.down_kbps:
                return "A burst needs a base speed."
            if (
                self.burst_down_kbps <= self.down_kbps
                or self.burst_up_kbps <= self.up_kbps
            ):
                return "A burst is faster than the base speed, both ways."
            if not 1 <= self.threshold_pct <= 100 or self.burst_seconds < 1:
                return "A burst needs a threshold from 1 to 100 % and 1 second or more."
        return None


def speed_attributes(vendor: str, speed: Speed | None) -> list[tuple[str, str, str]]:
    """The vendor's attributes of a speed tier (none without a speed)."""
    if not speed:
        return []
    problem = speed.problem()
    if problem:
        raise ValueError(problem)
    if not speed.down_kbps:
        return []
    if vendor != MIKROTIK or not speed.burst_down_kbps:
        return rate_limit_attributes(vendor, Throttle(speed.down_kbps, speed.up_kbps))
    # rx/tx as the router sees them: rx is the subscriber's upload.
    pct = speed.threshold_pct
    rate = (
        f"{speed.up_kbps}k/{speed.down_kbps}k "
        f"{speed.burst_up_kbps}k/{speed.burst_down_kbps}k "
        f"{speed.burst_up_kbps * pct // 100}k/{speed.burst_down_kbps * pct // 100}k "
        f"{speed.burst_seconds}/{speed.burst_seconds}"
    )
    return [("Mikrotik-Rate-Limit", ":=", rate)]


@dataclass(frozen=True)
class Access:
    """What a subscriber may do on the network now.

    ``expires`` is the UTC instant access ends (None: never paid, rejected).
    ``volume`` is the bytes left until the next fair-usage step (the cap,
    without steps), None without a data limit or past the last step.
    ``capped`` is the action of the step in force: None, BLOCK, THROTTLE (at
    ``throttle``) or WALLED; ``step_pct`` its threshold (0: none).
    ``limit`` is the bytes of the period at which the next step begins, plus
    ``uncounted`` (traffic Odoo did not count, which radacct holds), and
    ``period_start`` the UTC instant the period began (None: FreeRADIUS does
    not count at authorize time); ``cap_action`` and ``next_throttle`` are
    what the next step does. ``sessions`` is how many sessions may be open at
    once (0: no limit).
    """

    username: str
    password: str
    expires: datetime | None
    volume: int | None
    capped: str | None = None
    limit: int | None = None
    period_start: datetime | None = None
    cap_action: str = BLOCK
    sessions: int = 0
    expired_action: str = REJECT
    throttle: Throttle | None = None
    next_throttle: Throttle | None = None
    step_pct: int = 0
    uncounted: int = 0

    @property
    def rejected(self) -> bool:
        if self.expires is None:
            return self.expired_action != WALLED
        return self.capped == BLOCK

    @property
    def walls(self) -> bool:
        """Whether the walled garden may be needed, now or at a next step."""
        return WALLED in (self.capped, self.expired_action) or (
            self.limit is not None and self.cap_action == WALLED
        )


@dataclass(frozen=True)
class Rows:
    """The rows of one user in FreeRADIUS's radcheck and radreply tables,
    each ``(attribute, op, value)``."""

    check: tuple[tuple[str, str, str], ...]
    reply: tuple[tuple[str, str, str], ...]


def username_problem(username: str | None) -> str | None:
    """Why ``username`` cannot be a RADIUS username, or None."""
    if not username:
        return "A network username is required."
    if not _USERNAME.fullmatch(username):
        return (
            f"{username!r} cannot be a network username: use 1 to 64 letters, "
            "digits, dots, dashes, underscores or @, without spaces or quotes, "
            "starting with a letter or digit."
        )
    return None


def split_octets(volume: int) -> tuple[int, int]:
    """``(gigawords, low)``: ``volume == gigawords * 2**32 + low``."""
    if volume < 0:
        raise ValueError("A volume cannot be negative.")
    return divmod(int(volume), GIGAWORD)


def access(
    *,
    username: str,
    password: str,
    expires: datetime | None,
    granted: int | None,
    used: int,
    cap_action: str = BLOCK,
    period_start: datetime | None = None,
    sessions: int = 0,
    expired_action: str = REJECT,
    steps: tuple[Step, ...] = (),
    throttle: Throttle | None = None,
    uncounted: int = 0,
) -> Access:
    """The Access of a subscriber whose current period, begun at
    ``period_start`` (UTC), gives ``granted`` bytes (None: no data limit) of
    which ``used`` are counted (as last imported) and ``uncounted`` more were
    carried in free time windows; ``steps`` are the service's fair-usage
    steps (none: ``cap_action`` at 100 %, throttled at ``throttle``)."""
    ladder = fair_usage.ladder(steps, cap_action, throttle)
    if sessions < 0:
        raise ValueError("Simultaneous sessions are counted from 0 (no limit) up.")
    if expired_action not in EXPIRED_ACTIONS:
        raise ValueError(f"Unknown action once access ended {expired_action!r}.")
    if granted is None:
        return Access(
            username,
            password,
            expires,
            None,
            cap_action=cap_action,
            sessions=sessions,
            expired_action=expired_action,
        )
    used = max(int(used), 0)
    where = fair_usage.stage(int(granted), used, ladder)
    step, following = where.step, where.next
    return Access(
        username,
        password,
        expires,
        None if where.limit is None else where.limit - used,
        step.action if step else None,
        limit=None if where.limit is None else where.limit + max(int(uncounted), 0),
        period_start=period_start,
        cap_action=following.action if following else ladder[-1].action,
        sessions=sessions,
        expired_action=expired_action,
        throttle=step.throttle if step else None,
        next_throttle=following.throttle if following else None,
        step_pct=step.threshold_pct if step else 0,
        uncounted=max(int(uncounted), 0),
    )


def radius_rows(
    entitled: Access,
    vendor: str,
    throttle: Throttle | None = None,
    stale_after: int = 0,
    speed: Speed | None = None,
    walled_garden: str = "",
) -> Rows:
    """The radcheck and radreply rows that give ``entitled`` to the routers
    of ``vendor``; ``stale_after`` (seconds) is when an open session without
    report stops counting against the simultaneous sessions;
    ``walled_garden`` is the address list or pool of the walled garden."""
    if vendor not in VENDORS:
        raise ValueError(f"Unknown router vendor {vendor!r}.")
    walls = entitled.walls
    if walls and not walled_garden:
        raise ValueError(
            "A walled garden needs the name of its address list or pool on the "
            "RADIUS server."
        )
    check = [("Cleartext-Password", ":=", entitled.password)]
    reply = []
    if walls:
        check += [
            ("ISP-Walled-Garden", ":=", walled_garden),
            ("ISP-Vendor", ":=", vendor),
        ]
    if entitled.expired_action == WALLED:
        check.append(("ISP-Expired-Action", ":=", WALLED))
    if entitled.expires is None:
        if entitled.expired_action == WALLED:
            reply.extend(walled_garden_attributes(vendor, walled_garden))
        else:
            check.append(("Auth-Type", ":=", "Reject"))
            reply.append(("Reply-Message", ":=", "No paid period: top up to connect."))
    else:
        check.append(("Expiration", ":=", entitled.expires.strftime(EXPIRATION_FORMAT)))
        if entitled.capped == WALLED:
            reply.extend(walled_garden_attributes(vendor, walled_garden))
        elif entitled.capped == BLOCK:
            check.append(("Auth-Type", ":=", "Reject"))
            reply.append(
                ("Reply-Message", ":=", "Data used up: it comes back next period.")
            )
        else:
            if entitled.capped == THROTTLE:
                reply.extend(
                    rate_limit_attributes(vendor, entitled.throttle or throttle)
                )
            else:
                reply.extend(speed_attributes(vendor, speed))
            if entitled.volume is not None:
                # Until the next step: the router ends the session there.
                reply.extend(volume_attributes(vendor, entitled.volume))
                check.extend(
                    cap_check_attributes(
                        entitled, vendor, entitled.next_throttle or throttle
                    )
                )
        if entitled.sessions:
            check.append(("ISP-Simultaneous-Use", ":=", str(entitled.sessions)))
            check.append(("ISP-Stale-After", ":=", str(max(int(stale_after), 0))))
    # Each attribute once (the vendor is named for both the cap and the wall).
    check = list({row[0]: row for row in reversed(check)}.values())[::-1]
    return Rows(tuple(check), tuple(reply))


def walled_garden_attributes(vendor: str, name: str) -> list[tuple[str, str, str]]:
    """The vendor's attributes that put a session in the walled garden."""
    if vendor == MIKROTIK:
        return [("Mikrotik-Address-List", ":=", name)]
    return [("Framed-Pool", ":=", name)]


def cap_check_attributes(
    entitled: Access, vendor: str, throttle: Throttle | None = None
) -> list[tuple[str, str, str]]:
    """The control attributes with which FreeRADIUS's ``isp_cap`` policy
    counts the period's usage at every Access-Request: when the period
    began (seconds since 1970, UTC), the bytes of radacct at which the next
    step begins (the cap, without steps), and what that step does for this
    vendor (none without a period start)."""
    if entitled.period_start is None or entitled.limit is None:
        return []
    start = entitled.period_start.replace(tzinfo=timezone.utc).timestamp()
    attributes = [
        ("ISP-Period-Start", ":=", str(int(start))),
        ("ISP-Period-Volume", ":=", str(entitled.limit)),
        ("ISP-Cap-Action", ":=", entitled.cap_action),
        ("ISP-Vendor", ":=", vendor),
    ]
    if entitled.cap_action == THROTTLE:
        if not throttle:
            raise ValueError("A throttled package needs its throttled speed.")
        attributes += [
            ("ISP-Throttle-Down", ":=", str(throttle.down_kbps)),
            ("ISP-Throttle-Up", ":=", str(throttle.up_kbps)),
        ]
    return attributes


def volume_attributes(vendor: str, volume: int) -> list[tuple[str, str, str]]:
    """The vendor's attributes for ``volume`` bytes (none for a generic
    router, which has no standard volume attribute)."""
    if vendor not in VOLUME_ATTRIBUTES:
        return []
    low_name, high_name = VOLUME_ATTRIBUTES[vendor]
    gigawords, low = split_octets(volume)
    attributes = [(low_name, ":=", str(low))]
    if gigawords:
        attributes.append((high_name, ":=", str(gigawords)))
    return attributes


def rate_limit_attributes(
    vendor: str, throttle: Throttle | None
) -> list[tuple[str, str, str]]:
    """The vendor's attributes that throttle to ``throttle``."""
    if not throttle:
        raise ValueError("A throttled package needs its throttled speed.")
    if vendor == MIKROTIK:
        # Rate-Limit reads rx/tx from the router: rx is the subscriber's upload.
        rate = f"{throttle.up_kbps}k/{throttle.down_kbps}k"
        return [("Mikrotik-Rate-Limit", ":=", rate)]
    if vendor == CHILLISPOT:
        return [
            ("ChilliSpot-Bandwidth-Max-Down", ":=", str(throttle.down_kbps)),
            ("ChilliSpot-Bandwidth-Max-Up", ":=", str(throttle.up_kbps)),
        ]
    return [
        (
            "WISPr-Bandwidth-Max-Down",
            ":=",
            str(min(throttle.down_kbps * 1000, _MAX_32)),
        ),
        ("WISPr-Bandwidth-Max-Up", ":=", str(min(throttle.up_kbps * 1000, _MAX_32))),
    ]


def parse_thresholds(text: str | None) -> tuple[int, ...]:
    """The alert thresholds of "80, 100": percentages from 1 to 100, sorted,
    each once. Raises ValueError with what to type instead."""
    if not text or not text.strip():
        return ()
    try:
        values = {
            int(part) for part in text.replace(";", ",").split(",") if part.strip()
        }
    except ValueError as exc:
        raise ValueError(
            f"{text!r} is not a list of percentages: write e.g. 80, 100."
        ) from exc
    if any(value < 1 or value > 100 for value in values):
        raise ValueError("Alert thresholds are percentages from 1 to 100.")
    return tuple(sorted(values))


def alerts_due(
    granted: int | None, used: int, thresholds: tuple[int, ...], sent: tuple[int, ...]
) -> tuple[int, ...]:
    """The thresholds that ``used`` of ``granted`` bytes reached and that
    were not announced yet this period."""
    if not granted:
        return ()
    reached = {t for t in thresholds if used * 100 >= t * granted}
    return tuple(sorted(reached - set(sent)))


def retry_delay(attempts: int) -> int:
    """Seconds before delivery is tried again after ``attempts`` failures:
    1, 2, 4, ... minutes, at most an hour."""
    return min(60 * 2 ** max(attempts - 1, 0), 3600)
