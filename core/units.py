"""Data units: decimal gigabytes (1 GB = 10**9 bytes), kept at MB precision."""

import math
from decimal import ROUND_HALF_UP, Decimal

GB = 10**9
_MB = Decimal("0.001")
_LIMIT_ERROR = "The data limit must be a finite number of GB, 0 or more."


def normalize_data_limit(value):
    """The data limit as a Decimal GB rounded to the MB; 0 means no limit."""
    if value is None or value is False:
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise ValueError(_LIMIT_ERROR)
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except ArithmeticError as exc:
        raise ValueError(_LIMIT_ERROR) from exc
    if not number.is_finite() or number < 0:
        raise ValueError(_LIMIT_ERROR)
    return number.quantize(_MB, rounding=ROUND_HALF_UP)


def gb_to_bytes(gb):
    return int(normalize_data_limit(gb) * GB)


def format_data(gb):
    """Human text: "10 GB", "1.5 GB", "500 MB", or the time-based label."""
    amount = normalize_data_limit(gb)
    if not amount:
        return "Unlimited"
    if amount < 1:
        return f"{int(amount * 1000)} MB"
    text = format(amount.normalize(), "f")
    return f"{text} GB"


def is_finite_number(value):
    return isinstance(value, int | float) and math.isfinite(value)
