"""Data units: how much data a package grants, and how it is written.

The rules, as an accountant would state them:

- Data is counted in decimal gigabytes, like on a phone bill:
  1 GB = 1000 MB = 1,000,000,000 bytes.
- A data limit is kept to the megabyte (3 decimals of GB), rounded half up.
- A data limit of 0 (or none) means the package grants no data volume: it
  recurs on time alone, each period renewing the subscriber's access.
- A negative, infinite or non-numeric data limit is refused.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

GB = 10**9
_MB = Decimal("0.001")
LIMIT_ERROR = "The data limit must be a finite number of GB, 0 or more."
# How a package without a data limit (time-based) reads on grants, invoices
# and messages.
UNLIMITED_LABEL = "Unlimited"


def normalize_data_limit(value: int | float | str | Decimal | None) -> Decimal:
    """The data limit in GB as a Decimal rounded to the MB (3 decimals).

    None, False (an empty Odoo field) and 0 give 0: no data limit, the package
    is time-based. Numbers and numeric text are accepted when finite and not
    negative; anything else raises ValueError with ``LIMIT_ERROR``.
    """
    if value is None or value is False:
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise ValueError(LIMIT_ERROR)
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(LIMIT_ERROR) from exc
    if not number.is_finite() or number < 0:
        raise ValueError(LIMIT_ERROR)
    return number.quantize(_MB, rounding=ROUND_HALF_UP)


def gb_to_bytes(gb: int | float | str | Decimal | None) -> int:
    """Bytes in ``gb`` decimal gigabytes (1 GB = 10**9 bytes), to the MB."""
    return int(normalize_data_limit(gb) * GB)


def format_data(gb: int | float | str | Decimal | None) -> str:
    """The data limit as people read it: "10 GB", "1.5 GB", "500 MB" below
    1 GB, or ``UNLIMITED_LABEL`` for a time-based package (0)."""
    amount = normalize_data_limit(gb)
    if not amount:
        return UNLIMITED_LABEL
    if amount < 1:
        return f"{int(amount * 1000)} MB"
    return f"{format(amount.normalize(), 'f')} GB"
