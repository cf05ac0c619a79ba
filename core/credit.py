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
