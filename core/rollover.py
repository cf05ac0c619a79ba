"""Rollover: unused data of a period carried into the next, capped.

The rules, as an ISP would state them:

- Data carried over is used first (it is the oldest), then the period's own.
- What is left at the end of a period is carried into the next one: its own
  data, and carried data while it is less than ``max_periods`` periods old
  (0: no age limit).
- The total carried is at most ``max_gb`` (0: no limit); the oldest goes
  first when it must be cut.
- Carried data is kept as chunks ``(origin, gb)``: ``origin`` is the index
  of the period the data was granted for.
"""

from decimal import Decimal

from . import units

Chunk = tuple[int, Decimal]


def left_after(chunks: list[Chunk], own: Decimal, used: Decimal) -> list[Chunk]:
    """The chunks left when ``used`` is taken from the carried chunks, oldest
    first, then from the period's own data (returned as the last chunk, with
    origin None)."""
    remaining = units.normalize_data_limit(max(Decimal(used), Decimal(0)))
    left = []
    for origin, gb in sorted(chunks, key=lambda chunk: chunk[0]):
        taken = min(gb, remaining)
        remaining -= taken
        if gb - taken > 0:
            left.append((origin, gb - taken))
    own_left = max(Decimal(own) - remaining, Decimal(0))
    return left + ([(None, own_left)] if own_left > 0 else [])


def carry(
    chunks: list[Chunk],
    own: Decimal,
    used: Decimal,
    period_index: int,
    next_index: int,
    max_periods: int = 1,
    max_gb: Decimal = Decimal(0),
) -> list[Chunk]:
    """The chunks carried into the period ``next_index`` from the period
    ``period_index`` whose own data was ``own`` (carrying ``chunks`` in) and
    which used ``used``."""
    left = [
        (period_index if origin is None else origin, gb)
        for origin, gb in left_after(chunks, own, used)
    ]
    if max_periods:
        left = [(o, gb) for o, gb in left if next_index - o <= max_periods]
    if max_gb:
        total, kept = Decimal(0), []
        for origin, gb in sorted(left, key=lambda chunk: -chunk[0]):
            room = Decimal(max_gb) - total
            if room <= 0:
                break
            kept.append((origin, min(gb, room)))
            total += min(gb, room)
        left = sorted(kept, key=lambda chunk: chunk[0])
    return [(o, units.normalize_data_limit(gb)) for o, gb in left]


def total(chunks: list[Chunk]) -> Decimal:
    return sum((gb for _origin, gb in chunks), Decimal(0))
