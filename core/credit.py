"""Money rules: the subscriber's prepaid credit and whether it pays for a grant.

The rules, as an accountant would state them:

- Amounts are exact decimals, never binary floats: 0.1 + 0.2 is 0.3.
- An amount is rounded to its currency's rounding step (0.01 for most
  currencies, 0.05 for Swiss cash rounding, 1 for currencies without cents),
  half up like Odoo: 2.675 becomes 2.68, and -2.675 becomes -2.68.
- The prepaid credit is minus the customer's receivable balance: a payment
  received in advance raises it, an invoice not yet paid lowers it.
- The credit pays for a grant when, both rounded to the currency, it is at
  least the grant's invoice total (taxes included). Exactly equal is enough.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

# What callers may pass as an amount (see to_decimal).
Amount = int | float | str | Decimal

# Enough digits for any amount an accounting system holds.
_PRECISION = 64

# A top-up of a billion or more, in any currency, is a typing error.
TOP_UP_LIMIT = Decimal(10) ** 9
NOT_POSITIVE = "not_positive"
TOO_LARGE = "too_large"


def to_decimal(value: Amount) -> Decimal:
    """The amount as a Decimal.

    Accepts an int, a float (taken by its shortest written form, so 2.675
    stays 2.675 and not 2.67499999...), a numeric string or a Decimal.
    Raises ValueError for anything else, for booleans, and for NaN or infinity.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise ValueError("An amount cannot be a yes/no value.")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value)
        except InvalidOperation as exc:
            raise ValueError(f"{value!r} is not an amount.") from exc
    else:
        raise ValueError(f"{value!r} is not an amount.")
    if not result.is_finite():
        raise ValueError("An amount must be a finite number.")
    return result


def round_money(amount: Amount, rounding: Amount) -> Decimal:
    """``amount`` rounded to the currency's rounding step, half up.

    The step is the currency's rounding: 0.01 gives cents, 0.05 gives
    multiples of five cents, 1 gives whole units.
    """
    amount, step = to_decimal(amount), to_decimal(rounding)
    if step <= 0:
        raise ValueError("A currency rounding must be more than 0.")
    with localcontext() as context:
        context.prec = _PRECISION
        steps = (amount / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return steps * step


def available_credit(receivable_balance: Amount) -> Decimal:
    """Prepaid credit: minus the receivable balance (what the customer owes)."""
    return -to_decimal(receivable_balance)


def can_afford(credit: Amount, total: Amount, rounding: Amount) -> bool:
    """True when the credit pays for ``total``: both rounded to the currency,
    the credit is at least the total. Equal is enough.

    A negative total is refused (ValueError): a grant never pays the customer.
    """
    total = to_decimal(total)
    if total < 0:
        raise ValueError("The total of a grant cannot be negative.")
    return round_money(credit, rounding) >= round_money(total, rounding)


def missing_credit(credit: Amount, total: Amount, rounding: Amount) -> Decimal:
    """How much more credit pays for ``total``, at the currency's rounding:
    0 when the credit already covers it."""
    gap = round_money(total, rounding) - round_money(credit, rounding)
    return max(gap, Decimal(0))


def top_up_problem(
    amount: Amount, rounding: Amount, limit: Decimal = TOP_UP_LIMIT
) -> str | None:
    """Why ``amount`` cannot be a top-up: NOT_POSITIVE or TOO_LARGE, else None.

    An amount that rounds to zero at the currency's rounding is not positive.
    Raises ValueError when ``amount`` is not a finite number.
    """
    amount = to_decimal(amount)
    if amount <= 0:
        return NOT_POSITIVE
    if amount >= limit:
        return TOO_LARGE
    if round_money(amount, rounding) <= 0:
        return NOT_POSITIVE
    return None
