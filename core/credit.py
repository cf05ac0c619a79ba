"""Money rules: the prepaid credit and whether it covers a grant.

Amounts are Decimals. The prepaid credit is minus the receivable balance: a
payment received in advance raises it, an unpaid invoice lowers it.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


def to_decimal(value):
    """A Decimal from an int, float (by its shortest repr), str or Decimal."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise ValueError("An amount cannot be a boolean.")
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


def round_money(amount, rounding):
    """Round to the currency's rounding step (0.01, 0.05, 1...), half up."""
    amount, step = to_decimal(amount), to_decimal(rounding)
    if step <= 0:
        raise ValueError("A currency rounding must be positive.")
    units = (amount / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return units * step


def available_credit(receivable_balance):
    """Prepaid credit: minus the receivable balance."""
    return -to_decimal(receivable_balance)


def can_afford(credit, total, rounding):
    """True when the credit covers the total, compared at the currency's
    rounding. Equal is enough."""
    total = to_decimal(total)
    if total < 0:
        raise ValueError("The total of a grant cannot be negative.")
    return round_money(credit, rounding) >= round_money(total, rounding)


# A top-up of a billion or more, in any currency, is a typing error.
TOP_UP_LIMIT = Decimal(10) ** 9
NOT_POSITIVE = "not_positive"
TOO_LARGE = "too_large"


def top_up_problem(amount, rounding, limit=TOP_UP_LIMIT):
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


def missing_credit(credit, total, rounding):
    """How much credit is still needed to cover ``total``: 0 when covered."""
    gap = round_money(total, rounding) - round_money(credit, rounding)
    return max(gap, Decimal(0))
