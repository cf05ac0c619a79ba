"""What happens to one subscription on one day: the Data Recurring rules.

The rules, as an accountant would state them. "Due" periods are the scheduled
periods that started since the last run (from the subscription's next date up
to today, see ``recurrence.due_periods``).

- Draft and closed subscriptions never grant anything.
- One-off (postpaid or pre-authorized): every due period is granted, in
  order, each exactly once, whatever the credit. Postpaid revenue is never
  lost, even after the system was down for weeks. The subscription is active.
  Each grant is invoiced as the subscription's invoicing policy says: a
  posted invoice, a draft, or none.
- Credit-based (prepaid), active: only the current period (the last one due)
  can be granted. Earlier due periods passed while nothing ran: they are
  skipped as *missed* and never charged. The current period is granted when
  the prepaid credit pays for its invoice total, taxes included
  (``credit.can_afford``), and its posted invoice is paid from that credit.
  Otherwise it is skipped for *insufficient credit* and the subscription
  waits for credit. Either way the next date moves to the start of the
  following period.
- Credit-based, waiting for credit: retried on every run, even when no new
  period is due. As soon as the credit pays, the grant happens at once and
  the schedule restarts on that day: a new period starts today, and the
  following ones are counted from today. Periods that started while waiting
  are recorded as missed and never granted afterwards. While the credit still
  does not pay, newly due periods are skipped exactly as for an active
  subscription, and it keeps waiting.
- A period that costs nothing (total 0) is granted with a posted invoice of
  0, which is paid by definition: there is nothing to take from the credit.
- A subscription whose retired package closes at the end of its period is
  closed when its next period is due (or at once when it waits for credit):
  nothing more is granted or charged.
- An add-on pack adds data to the current period at once (``add_pack``):
  paid from the credit for a credit-based subscription, which the credit must
  cover; invoiced as the policy says for a one-off one.
- One subscriber's credit is shared by all of their subscriptions: see
  ``CreditLedger``, the one entry point of the rules, which hands the credit
  to them one after the other, in a fixed order. Every posted invoice lowers
  the credit, a one-off one included: the next subscription sees the credit
  the previous ones left, as it would on the next day.
"""

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from . import credit as credit_rules
from . import recurrence, units
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

# How a grant is billed: the one-off invoicing policies, and the credit mode's
# posted invoice paid from the prepaid credit.
NO_INVOICE = "none"
DRAFT_INVOICE = "draft"
POSTED_INVOICE = "posted"
PAID_FROM_CREDIT = "paid"
INVOICE_POLICIES = (POSTED_INVOICE, DRAFT_INVOICE, NO_INVOICE)
BILLINGS = (*INVOICE_POLICIES, PAID_FROM_CREDIT)
# Billings whose invoice is posted, so that it weighs on the receivable.
POSTED_BILLINGS = (POSTED_INVOICE, PAID_FROM_CREDIT)


@dataclass(frozen=True)
class Subscription:
    """What the rules need to know about one subscription.

    ``credit_total`` is the invoice total of one grant, taxes included (may
    be 0), in the currency of the subscriber's prepaid credit (the
    company's): what the credit must cover. ``invoice_total`` is the same
    total in the invoice's currency (None: the credit's currency).
    ``next_date`` is the start of the next period to process.
    ``invoice_policy`` says how one-off grants are invoiced; ``data_gb`` is
    the data of one period (0: time-recurring).
    """

    mode: str
    state: str
    rule: Rule
    anchor: date
    next_date: date
    credit_total: Decimal
    invoice_policy: str = POSTED_INVOICE
    data_gb: Decimal = Decimal(0)
    closing: bool = False
    invoice_total: Decimal | None = None

    @property
    def billed_total(self) -> Decimal:
        """One period's invoice total in the invoice's currency."""
        if self.invoice_total is None:
            return credit_rules.to_decimal(self.credit_total)
        return credit_rules.to_decimal(self.invoice_total)


@dataclass(frozen=True)
class Grant:
    """A period that is granted: its data, and how it is billed.

    ``amount`` is the period's total, taxes included, in the invoice's
    currency: what its invoice bills, or what is billed elsewhere when the
    policy makes no invoice. ``credit_amount`` is the same total in the
    credit's currency: what a posted invoice weighs on the prepaid credit.
    ``kind`` is "period" (a renewal) or "addon" (an add-on pack).
    """

    period: Period
    data_gb: Decimal
    billing: str
    amount: Decimal
    kind: str = "period"
    credit_amount: Decimal | None = None

    @property
    def credit_weight(self) -> Decimal:
        """What this grant's invoice weighs on the credit, in its currency."""
        return self.amount if self.credit_amount is None else self.credit_amount

    @property
    def invoiced(self) -> bool:
        return self.billing != NO_INVOICE

    @property
    def posted(self) -> bool:
        return self.billing in POSTED_BILLINGS

    @property
    def paid_from_credit(self) -> bool:
        return self.billing == PAID_FROM_CREDIT


@dataclass(frozen=True)
class Skip:
    """A period that is not granted, and why (MISSED or INSUFFICIENT)."""

    period: Period
    reason: str


@dataclass(frozen=True)
class Decision:
    """What to record for one subscription, and its new schedule and state.

    ``charged`` is the credit the grants consume: the total of the grants
    paid from credit. ``credit`` is the credit the decision was taken with
    (None for one-off subscriptions, whose grants do not depend on it).
    """

    grants: tuple[Grant, ...]
    skips: tuple[Skip, ...]
    anchor: date
    next_date: date
    state: str
    charged: Decimal = Decimal(0)
    credit: Decimal | None = None

    @property
    def events(self) -> list[Grant | Skip]:
        """Grants and skips by period start; a skip comes first on a tie."""
        items = [(skip.period.start, 0, skip) for skip in self.skips]
        items += [(granted.period.start, 1, granted) for granted in self.grants]
        items.sort(key=lambda item: item[:2])
        return [event for _start, _order, event in items]

    @property
    def posted_total(self) -> Decimal:
        """What this decision's posted invoices add to the receivable."""
        return sum((g.credit_weight for g in self.grants if g.posted), Decimal(0))

    @property
    def valid_until(self) -> date | None:
        """Last day of the last granted period (an add-on pack does not
        extend the access), None when no period is granted."""
        return max(
            (g.period.end for g in self.grants if g.kind == "period"), default=None
        )

    def changes(self, sub: Subscription) -> bool:
        """True when the decision records anything or moves the schedule."""
        return bool(
            self.events
            or self.state != sub.state
            or self.next_date != sub.next_date
            or self.anchor != sub.anchor
        )


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
    if sub.closing and (due or sub.state == WAITING):
        # A retired package closed at the end of the period already paid.
        return Decision((), (), sub.anchor, sub.next_date, CLOSED)
    if sub.mode == ONE_OFF:
        if sub.invoice_policy not in INVOICE_POLICIES:
            raise ValueError(f"Unknown invoicing policy {sub.invoice_policy!r}.")
        return _grant_every_due_period(sub, due)
    if credit is None:
        raise ValueError("A credit-based subscription needs the subscriber's credit.")
    credit = credit_rules.to_decimal(credit)
    affordable = credit_rules.can_afford(credit, sub.credit_total, rounding)
    if sub.state == WAITING and affordable:
        return _restart_today(sub, due, today, credit)
    if not due:
        return _unchanged(sub)
    return _grant_current_period(sub, due, affordable, credit)


def _unchanged(sub):
    return Decision((), (), sub.anchor, sub.next_date, sub.state)


def _following_start(sub, due):
    return recurrence.period_start(sub.anchor, sub.rule, due[-1].index + 1)


def _grant(sub, period, billing, kind="period"):
    return Grant(
        period,
        units.normalize_data_limit(sub.data_gb),
        billing,
        sub.billed_total,
        kind=kind,
        credit_amount=credit_rules.to_decimal(sub.credit_total),
    )


def _credit_billing(sub):
    """A credit-mode grant is paid from credit, unless there is nothing to pay."""
    return PAID_FROM_CREDIT if sub.credit_total > 0 else POSTED_INVOICE


def _credit_grant(sub, period):
    return _grant(sub, period, _credit_billing(sub))


def _charged(grants):
    return sum((g.credit_weight for g in grants if g.paid_from_credit), Decimal(0))


def _grant_every_due_period(sub, due):
    """One-off: every due period is granted; credit plays no part."""
    if not due:
        return Decision((), (), sub.anchor, sub.next_date, ACTIVE)
    return Decision(
        grants=tuple(_grant(sub, period, sub.invoice_policy) for period in due),
        skips=(),
        anchor=sub.anchor,
        next_date=_following_start(sub, due),
        state=ACTIVE,
    )


def _grant_current_period(sub, due, affordable, credit):
    """Credit mode: earlier due periods are missed; the current one is granted
    when the credit pays for it, else skipped and the subscription waits."""
    missed = tuple(Skip(earlier, MISSED) for earlier in due[:-1])
    current = due[-1]
    next_date = _following_start(sub, due)
    if affordable:
        grants = (_credit_grant(sub, current),)
        return Decision(
            grants=grants,
            skips=missed,
            anchor=sub.anchor,
            next_date=next_date,
            state=ACTIVE,
            charged=_charged(grants),
            credit=credit,
        )
    return Decision(
        grants=(),
        skips=(*missed, Skip(current, INSUFFICIENT)),
        anchor=sub.anchor,
        next_date=next_date,
        state=WAITING,
        credit=credit,
    )


def _restart_today(sub, due, today, credit):
    """Credit is back: grant at once, the schedule restarts on ``today``.

    Periods that started before today while waiting are recorded as missed.
    """
    missed = tuple(Skip(passed, MISSED) for passed in due if passed.start < today)
    grants = (_credit_grant(sub, recurrence.period(today, sub.rule, 0)),)
    return Decision(
        grants=grants,
        skips=missed,
        anchor=today,
        next_date=recurrence.period_start(today, sub.rule, 1),
        state=ACTIVE,
        charged=_charged(grants),
        credit=credit,
    )


class CreditLedger:
    """Prepaid credit per subscriber, consumed as grants are decided: the one
    entry point of the rules for a batch of subscriptions.

    A subscriber with several subscriptions has one credit. The caller
    decides that subscriber's subscriptions one after the other, in a fixed
    order, and each sees the credit the previous ones left: credit for one
    grant pays for one grant, and the next subscription is skipped for
    insufficient credit. ``decide`` does the three steps (read the balance,
    decide, consume what was charged) so a caller cannot forget one.
    """

    def __init__(self, balances: Mapping[Hashable, credit_rules.Amount] | None = None):
        self._credits = {
            partner: credit_rules.to_decimal(amount)
            for partner, amount in (balances or {}).items()
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
        left, then consume what the decision's posted invoices take from it.

        A posted invoice lowers the credit whether it is paid from it or not:
        a one-off grant's posted invoice decided earlier in the run weighs on
        the next subscription exactly as if it had been posted the day before.
        """
        available = self.balance(partner) if sub.mode == CREDIT else None
        decision = decide(sub, today, available, rounding)
        if decision.posted_total:
            self.consume(partner, decision.posted_total)
        return decision


class NotEnoughCredit(ValueError):
    """The credit does not pay for what was asked; ``missing`` says how much
    more would."""

    def __init__(self, missing: Decimal):
        super().__init__(f"The credit lacks {missing}.")
        self.missing = missing


def add_pack(
    pack: Subscription,
    credit: Decimal | None,
    period: Period,
    rounding: Decimal,
) -> Decision:
    """The Decision of an add-on pack sold to a running subscription: one
    grant of ``pack.data_gb`` over ``period``, for ``pack.credit_total``.

    ``pack`` is the subscription as it is (mode, state, schedule) with the
    pack's data and totals. A credit-based subscriber's credit must pay it
    (NotEnoughCredit says how much is missing); a one-off one is invoiced as
    its policy says. The schedule does not move.
    """
    if pack.mode == CREDIT:
        credit = credit_rules.to_decimal(credit or 0)
        if not credit_rules.can_afford(credit, pack.credit_total, rounding):
            raise NotEnoughCredit(
                credit_rules.missing_credit(credit, pack.credit_total, rounding)
            )
        billing = _credit_billing(pack)
    else:
        billing = pack.invoice_policy
    grants = (_grant(pack, period, billing, kind="addon"),)
    return Decision(
        grants,
        (),
        pack.anchor,
        pack.next_date,
        pack.state,
        charged=_charged(grants),
        credit=credit,
    )
