"""Voucher (PIN) cards: their PINs, when one may be redeemed, and how fast
someone may guess.

The rules, as an ISP's accountant would state them:

- A PIN is 16 random digits from the system's cryptographic source, printed
  in four groups (1234-5678-9012-3456): 10**16 possibilities, so that
  guessing one of even a million cards in circulation takes billions of
  tries. A PIN is typed with or without its dashes and spaces.
- A card is redeemed once. A card of a cancelled batch, an expired card (its
  batch's validity passed) or one already used is refused, saying which.
- Wrong PINs slow the guesser down, then lock them out: per portal user and
  per network address, counted over the last hour. The first 5 wrong PINs
  cost nothing; after that each new try waits 2, 4, 8, ... seconds (at most
  5 minutes) after the last wrong one; 20 wrong PINs lock out for the rest
  of the hour. A redeemed card does not clear the count: a guesser who owns
  one real card must not reset their lock with it.
"""

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

DIGITS = 16
GROUP = 4
FREE_TRIES = 5
LOCK_AFTER = 20
WINDOW = timedelta(hours=1)
MAX_WAIT = 300

AVAILABLE = "available"
REDEEMED = "redeemed"
CANCELLED = "cancelled"


def new_pins(count: int, taken=frozenset(), randbelow=secrets.randbelow) -> list[str]:
    """``count`` distinct new PINs, none of ``taken``."""
    if count < 1:
        raise ValueError("A batch has one card or more.")
    pins, seen = [], set(taken)
    while len(pins) < count:
        pin = f"{randbelow(10**DIGITS):0{DIGITS}d}"
        if pin not in seen:
            seen.add(pin)
            pins.append(pin)
    return pins


def normalize(typed: str | None) -> str | None:
    """The PIN in ``typed`` (dashes and spaces dropped), or None when it
    cannot be one."""
    pin = "".join(ch for ch in (typed or "") if ch not in " -\t")
    if len(pin) != DIGITS or not pin.isdigit():
        return None
    return pin


def display(pin: str) -> str:
    """1234-5678-9012-3456."""
    return "-".join(pin[i : i + GROUP] for i in range(0, len(pin), GROUP))


def refusal(
    state: str, batch_state: str, expires: date | None, today: date
) -> str | None:
    """Why a card cannot be redeemed today, or None."""
    if batch_state == CANCELLED or state == CANCELLED:
        return "This card's batch was cancelled: it cannot be used."
    if state == REDEEMED:
        return "This card was already used."
    if batch_state != "active":
        return "This card's batch is not on sale yet."
    if expires and today > expires:
        return f"This card expired on {expires.isoformat()}."
    return None


@dataclass(frozen=True)
class Verdict:
    """Whether a try may go ahead; if not, ``wait`` seconds before the next
    (None: locked out until the hour of wrong tries has passed)."""

    allowed: bool
    wait: int | None = 0
    message: str = ""


def may_try(failures: list[datetime], now: datetime) -> Verdict:
    """Whether one more PIN may be tried by whom ``failures`` (the instants
    of their wrong PINs) belong to."""
    recent = sorted(at for at in failures if now - at < WINDOW)
    if len(recent) >= LOCK_AFTER:
        unlock = recent[-LOCK_AFTER] + WINDOW
        minutes = max(int((unlock - now).total_seconds() // 60) + 1, 1)
        return Verdict(
            False,
            None,
            f"Too many wrong PINs: locked out. Try again in {minutes} minutes, "
            "or ask the shop that sold the card.",
        )
    if len(recent) < FREE_TRIES:
        return Verdict(True)
    wait = min(2 ** (len(recent) - FREE_TRIES + 1), MAX_WAIT)
    left = wait - int((now - recent[-1]).total_seconds())
    if left > 0:
        return Verdict(
            False, left, f"Too many wrong PINs: wait {left} seconds and try again."
        )
    return Verdict(True)
