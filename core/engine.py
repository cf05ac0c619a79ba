"""What happens to one subscription on one day: the Data Recurring rules.

- One-off (postpaid or pre-authorized): every due period is granted, in
  order, each exactly once, whatever the credit.
- Credit-based, active: after downtime only the current period may be
  granted; the earlier due periods are skipped as missed and never charged.
  The current period is granted when the prepaid credit covers its invoice
  total (taxes included), else it is skipped for insufficient credit and the
  subscription waits for credit.
- Credit-based, waiting for credit: retried on every run. When the credit
  covers the total, the grant happens at once and the schedule restarts on
  that day. Periods that passed meanwhile are never granted afterwards.
- Draft and closed subscriptions never grant.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from . import credit as credit_rules
from . import recurrence

CREDIT = "credit"
ONE_OFF = "one_off"
MODES = (CREDIT, ONE_OFF)

DRAFT = "draft"
ACTIVE = "active"
WAITING = "waiting_credit"
CLOSED = "closed"

INSUFFICIENT = "insufficient_credit"
MISSED = "missed"


@dataclass(frozen=True)
class Subscription:
    mode: str
    state: str
    rule: recurrence.Rule
    anchor: date
    next_date: date
    total: Decimal


@dataclass(frozen=True)
class Skip:
    period: recurrence.Period
    reason: str


@dataclass(frozen=True)
class Decision:
    grants: tuple
    skips: tuple
    anchor: date
    next_date: date
    state: str
    charged: Decimal = Decimal(0)

    @property
    def events(self):
        """Grants and skips by period start, a skip before a grant on ties."""
        items = [(skip.period.start, 0, skip) for skip in self.skips]
        items += [(period.start, 1, period) for period in self.grants]
        return [item for _start, _order, item in sorted(items, key=lambda i: i[:2])]


@dataclass
class CreditLedger:
    """Prepaid credit per subscriber, consumed as grants are decided.

    Several subscriptions of one subscriber share one credit within a batch.
    """

    credits: dict = field(default_factory=dict)

    def balance(self, partner):
        return self.credits.get(partner, Decimal(0))

    def consume(self, partner, amount):
        self.credits[partner] = self.balance(partner) - amount


def _unchanged(sub):
    return Decision((), (), sub.anchor, sub.next_date, sub.state)


def _skip_all_but_last(due):
    return tuple(Skip(period, MISSED) for period in due[:-1])


def decide(sub, today, credit, rounding):
    """The Decision for ``sub`` on ``today`` given its available ``credit``."""
    if sub.state in (DRAFT, CLOSED):
        return _unchanged(sub)
    if sub.mode not in MODES:
        raise ValueError(f"Unknown recurring mode {sub.mode!r}.")
    due = recurrence.due_periods(sub.anchor, sub.rule, sub.next_date, today)
    if sub.mode == ONE_OFF:
        return _decide_one_off(sub, due)
    if credit is None:
        raise ValueError("A credit-based subscription needs the subscriber's credit.")
    affordable = credit_rules.can_afford(credit, sub.total, rounding)
    if sub.state == WAITING and affordable:
        return _resume(sub, due, today)
    if not due:
        return _unchanged(sub)
    next_date = recurrence.period_start(sub.anchor, sub.rule, due[-1].index + 1)
    missed = _skip_all_but_last(due)
    if affordable:
        return Decision(
            grants=(due[-1],),
            skips=missed,
            anchor=sub.anchor,
            next_date=next_date,
            state=ACTIVE,
            charged=sub.total,
        )
    return Decision(
        grants=(),
        skips=missed + (Skip(due[-1], INSUFFICIENT),),
        anchor=sub.anchor,
        next_date=next_date,
        state=WAITING,
    )


def _decide_one_off(sub, due):
    if not due:
        return Decision((), (), sub.anchor, sub.next_date, ACTIVE)
    next_date = recurrence.period_start(sub.anchor, sub.rule, due[-1].index + 1)
    return Decision(tuple(due), (), sub.anchor, next_date, ACTIVE)


def _resume(sub, due, today):
    """Credit is back: grant at once, the schedule restarts on ``today``."""
    granted = recurrence.period(today, sub.rule, 0)
    missed = tuple(Skip(period, MISSED) for period in due if period.start < today)
    return Decision(
        grants=(granted,),
        skips=missed,
        anchor=today,
        next_date=recurrence.period_start(today, sub.rule, 1),
        state=ACTIVE,
        charged=sub.total,
    )
