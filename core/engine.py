"""What happens to one subscription on one day: the Data Recurring rules.

The rules, as an accountant would state them. "Due" periods are the scheduled
periods that started since the last run (from the subscription's next date up
to today, see ``recurrence.due_periods``).

- Draft and closed subscriptions never grant anything.
- One-off (postpaid or pre-authorized): every due period is granted, in
  order, each exactly once, whatever the credit. Postpaid revenue is never
  lost, even after the system was down for weeks. The subscription is active.
- Credit-based (prepaid), active: only the current period (the last one due)
  can be granted. Earlier due periods passed while nothing ran: they are
  skipped as *missed* and never charged. The current period is granted when
  the prepaid credit pays for its invoice total, taxes included
  (``credit.can_afford``). Otherwise it is skipped for *insufficient credit*
  and the subscription waits for credit. Either way the next date moves to
  the start of the following period.
- Credit-based, waiting for credit: retried on every run, even when no new
  period is due. As soon as the credit pays, the grant happens at once and
  the schedule restarts on that day: a new period starts today, and the
  following ones are counted from today. Periods that started while waiting
  are recorded as missed and never granted afterwards. While the credit still
  does not pay, newly due periods are skipped exactly as for an active
  subscription, and it keeps waiting.
- One subscriber's credit is shared by all of their subscriptions: see
  ``CreditLedger``, which hands the credit to them one after the other.
"""

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from . import credit as credit_rules
from . import recurrence
from .recurrence import Period, Rule

# Recurring modes
CREDIT = "credit"
ONE_OFF = "one_off"
MODES = (CREDIT, ONE_OFF)

# Subscription states
DRAFT = "draft"
ACTIVE = "active"
WAITING = "waiting_credit"
CLOSED = "closed"
STATES = (DRAFT, ACTIVE, WAITING, CLOSED)

# Why a period was skipped
INSUFFICIENT = "insufficient_credit"
MISSED = "missed"
REASONS = (INSUFFICIENT, MISSED)


@dataclass(frozen=True)
class Subscription:
    """What the rules need to know about one subscription.

    ``total`` is the invoice total of one grant, taxes included (may be 0).
    ``next_date`` is the start of the next period to process.
    """

    mode: str
    state: str
    rule: Rule
    anchor: date
    next_date: date
    total: Decimal


@dataclass(frozen=True)
class Skip:
    """A period that is not granted, and why (MISSED or INSUFFICIENT)."""

    period: Period
    reason: str


@dataclass(frozen=True)
class Decision:
    """What to record for one subscription, and its new schedule and state.

    ``charged`` is the credit the grants consume: the grant total in credit
    mode when a period is granted, else 0 (one-off grants are invoiced, not
    paid from credit).
    """

    grants: tuple[Period, ...]
    skips: tuple[Skip, ...]
    anchor: date
    next_date: date
    state: str
    charged: Decimal = Decimal(0)

    @property
    def events(self) -> list[Period | Skip]:
        """Grants and skips by period start; a skip comes first on a tie."""
        items = [(skip.period.start, 0, skip) for skip in self.skips]
        items += [(granted.start, 1, granted) for granted in self.grants]
        items.sort(key=lambda item: item[:2])
        return [event for _start, _order, event in items]


def decide(
    sub: Subscription, today: date, credit: Decimal | None, rounding: Decimal
) -> Decision:
    """The Decision for ``sub`` on ``today``.

    ``credit`` is the subscriber's prepaid credit still available (required in
    credit mode, ignored in one-off mode); ``rounding`` is the currency's
    rounding step used to compare it with the total.
    """
    if sub.state not in STATES:
        raise ValueError(f"Unknown subscription state {sub.state!r}.")
    if sub.state in (DRAFT, CLOSED):
        return _unchanged(sub)
    if sub.mode not in MODES:
        raise ValueError(f"Unknown recurring mode {sub.mode!r}.")
    due = recurrence.due_periods(sub.anchor, sub.rule, sub.next_date, today)
    if sub.mode == ONE_OFF:
        return _grant_every_due_period(sub, due)
    if credit is None:
        raise ValueError("A credit-based subscription needs the subscriber's credit.")
    affordable = credit_rules.can_afford(credit, sub.total, rounding)
    if sub.state == WAITING and affordable:
        return _restart_today(sub, due, today)
    if not due:
        return _unchanged(sub)
    return _grant_current_period(sub, due, affordable)


def _unchanged(sub):
    return Decision((), (), sub.anchor, sub.next_date, sub.state)


def _following_start(sub, due):
    return recurrence.period_start(sub.anchor, sub.rule, due[-1].index + 1)


def _grant_every_due_period(sub, due):
    """One-off: every due period is granted; credit plays no part."""
    if not due:
        return Decision((), (), sub.anchor, sub.next_date, ACTIVE)
    return Decision(
        grants=tuple(due),
        skips=(),
        anchor=sub.anchor,
        next_date=_following_start(sub, due),
        state=ACTIVE,
    )


def _grant_current_period(sub, due, affordable):
    """Credit mode: earlier due periods are missed; the current one is granted
    when the credit pays for it, else skipped and the subscription waits."""
    missed = tuple(Skip(earlier, MISSED) for earlier in due[:-1])
    current = due[-1]
    next_date = _following_start(sub, due)
    if affordable:
        return Decision(
            grants=(current,),
            skips=missed,
            anchor=sub.anchor,
            next_date=next_date,
            state=ACTIVE,
            charged=credit_rules.to_decimal(sub.total),
        )
    return Decision(
        grants=(),
        skips=(*missed, Skip(current, INSUFFICIENT)),
        anchor=sub.anchor,
        next_date=next_date,
        state=WAITING,
    )


def _restart_today(sub, due, today):
    """Credit is back: grant at once, the schedule restarts on ``today``.

    Periods that started before today while waiting are recorded as missed.
    """
    missed = tuple(Skip(passed, MISSED) for passed in due if passed.start < today)
    return Decision(
        grants=(recurrence.period(today, sub.rule, 0),),
        skips=missed,
        anchor=today,
        next_date=recurrence.period_start(today, sub.rule, 1),
        state=ACTIVE,
        charged=credit_rules.to_decimal(sub.total),
    )


class CreditLedger:
    """Prepaid credit per subscriber, consumed as grants are decided.

    A subscriber with several credit-based subscriptions has one credit. The
    caller processes that subscriber's subscriptions one after the other and
    hands each the credit the previous ones left: credit for one grant pays
    for one grant, and the next subscription is skipped for insufficient
    credit. ``decide`` does the three steps (read the balance, decide,
    consume what was charged) so a caller cannot forget one.
    """

    def __init__(self, credits: Mapping[Hashable, credit_rules.Amount] | None = None):
        self._credits = {
            partner: credit_rules.to_decimal(amount)
            for partner, amount in (credits or {}).items()
        }

    def balance(self, partner: Hashable) -> Decimal:
        """Credit the subscriber still has (0 when unknown)."""
        return self._credits.get(partner, Decimal(0))

    def consume(self, partner: Hashable, amount: credit_rules.Amount) -> Decimal:
        """Take ``amount`` (0 or more) from the subscriber's credit; return
        what is left."""
        amount = credit_rules.to_decimal(amount)
        if amount < 0:
            raise ValueError("Consumed credit cannot be negative.")
        self._credits[partner] = self.balance(partner) - amount
        return self._credits[partner]

    def decide(
        self, partner: Hashable, sub: Subscription, today: date, rounding: Decimal
    ) -> Decision:
        """``decide`` for ``sub`` of subscriber ``partner`` with the credit
        left, then consume what the decision charged."""
        available = self.balance(partner) if sub.mode == CREDIT else None
        decision = decide(sub, today, available, rounding)
        if decision.charged:
            self.consume(partner, decision.charged)
        return decision
