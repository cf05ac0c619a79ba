"""Which coming renewals a subscriber's prepaid credit pays: the one rule
behind the credit runway (ISP > Subscribers > Next run) and the low-credit
warning, stated as the runs will apply it.

A subscriber's renewals are taken in the order the runs decide them: by day,
then in the order of the subscriptions given (the runs go by id). A posted
invoice weighs on the credit that follows, whether it is paid from the credit
(credit-based) or not (a one-off subscription invoiced as posted), as
``engine.CreditLedger`` has it. A credit-based renewal the credit left does
not pay is skipped: the subscription then waits for credit, and renews no
more until a top-up (which a forecast does not know of). A credit-based
subscription already waiting is retried today, and restarts today when paid.
Every amount is a subscription's ``credit_total``: the credit's currency.
"""

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from . import credit as credit_rules
from . import engine, recurrence

# Three years: past that, "the credit lasts" is all a forecast can say.
HORIZON_DAYS = 3 * 366


@dataclass(frozen=True)
class Renewal:
    """One coming renewal of one subscription, paid by the credit or not.

    ``missing`` is what the credit left then lacks for it (0 when paid).
    """

    day: date
    key: Hashable
    paid: bool
    missing: Decimal = Decimal(0)


def renewals(
    credit: credit_rules.Amount,
    subs: Iterable[tuple[Hashable, engine.Subscription]],
    today: date,
    rounding: Decimal,
    until: date | None = None,
) -> list[Renewal]:
    """The renewals of one subscriber's running ``subs`` (``(key,
    subscription)`` pairs) from ``today`` to ``until`` (default: the
    horizon), in the order the runs decide them, each paid or not by the
    credit left."""
    until = until or today + timedelta(days=HORIZON_DAYS)
    coming = []
    for order, (key, sub) in enumerate(subs):
        if sub.state not in (engine.ACTIVE, engine.WAITING):
            continue
        anchor, start = sub.anchor, max(sub.next_date, today)
        if sub.state == engine.WAITING and sub.mode == engine.CREDIT:
            anchor, start = today, today
        for period in recurrence.due_periods(anchor, sub.rule, start, until):
            coming.append((period.start, order, key, sub))
    coming.sort(key=lambda item: item[:2])
    left = credit_rules.to_decimal(credit)
    stopped = set()
    result = []
    for day, order, key, sub in coming:
        if order in stopped:
            continue
        total = credit_rules.to_decimal(sub.credit_total)
        if sub.mode == engine.CREDIT:
            if not credit_rules.can_afford(left, total, rounding):
                result.append(
                    Renewal(
                        day,
                        key,
                        False,
                        credit_rules.missing_credit(left, total, rounding),
                    )
                )
                stopped.add(order)
                continue
            left -= total
        elif sub.invoice_policy == engine.POSTED_INVOICE:
            left -= total
        result.append(Renewal(day, key, True))
    return result


def runway(
    credit: credit_rules.Amount,
    subs: Iterable[tuple[Hashable, engine.Subscription]],
    today: date,
    rounding: Decimal,
) -> date | None:
    """The day the credit runs out: the first renewal it does not pay (today
    for a subscription already waiting), or None beyond the horizon."""
    return next(
        (r.day for r in renewals(credit, subs, today, rounding) if not r.paid), None
    )


def short_before(
    credit: credit_rules.Amount,
    subs: Iterable[tuple[Hashable, engine.Subscription]],
    today: date,
    until: date,
    rounding: Decimal,
) -> dict:
    """``{key: missing}`` of the subscriptions whose renewal between
    tomorrow and ``until`` the credit will not pay."""
    return {
        r.key: r.missing
        for r in renewals(credit, subs, today, rounding, until)
        if not r.paid and today < r.day <= until
    }
