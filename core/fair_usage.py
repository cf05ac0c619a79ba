"""Fair usage in steps, and the hours that count less (or not at all).

The rules, as a network engineer would state them:

- A service's fair usage is a ladder of steps, each a share of the period's
  data and what happens from there on: e.g. slower at 80 %, slower again at
  100 %, blocked at 150 %. A service without steps has one: at 100 %, its
  action at the cap (block, throttle or the walled garden).
- The step in force is the highest one the usage reached. The router gets
  the data left until the next step (so that it ends the session there, and
  the next login gets the next step's treatment from FreeRADIUS), and, once
  a throttle step is in force, that step's speed.
- Steps are in order: each threshold higher than the one before, each
  throttle no faster than the one before it, and nothing after a block or
  the walled garden (the subscriber is off the internet there).
- A time window (e.g. 00:00-07:00 in the company's timezone) counts a share of
  the traffic reported in it (0 %: free nights, 50 %: half price). Usage is
  read from the routers' interim reports, so a report's bytes are counted at
  the share of the window its report time falls in. A window ends after it
  starts, within one day: a window across midnight is two windows
  (22:00-24:00 and 00:00-06:00); windows do not overlap.
"""

from dataclasses import dataclass
from datetime import time

BLOCK = "block"
THROTTLE = "throttle"
WALLED = "walled"
CAP_ACTIONS = (BLOCK, THROTTLE, WALLED)
# The highest step: ten times the period's data.
MAX_PCT = 1000
DAY_MINUTES = 24 * 60


@dataclass(frozen=True)
class Throttle:
    """The speed a throttled subscriber keeps, in kbit/s."""

    down_kbps: int
    up_kbps: int


@dataclass(frozen=True)
class Step:
    """From ``threshold_pct`` % of the period's data on: ``action``, at
    ``throttle`` when the action is THROTTLE."""

    threshold_pct: int
    action: str
    throttle: Throttle | None = None


@dataclass(frozen=True)
class Stage:
    """Where a usage stands on the ladder: the step in force (None below the
    first), the next one (None past the last) and the bytes at which the
    next one begins (None without a next step)."""

    step: Step | None
    next: Step | None
    limit: int | None


def steps_problem(steps) -> str | None:
    """Why these steps (in the order given) cannot be enforced, or None."""
    previous = None
    for step in steps:
        if step.action not in CAP_ACTIONS:
            return f"Unknown fair-usage action {step.action!r}."
        if not 1 <= step.threshold_pct <= MAX_PCT:
            return f"A fair-usage step is at 1 to {MAX_PCT} % of the period's data."
        if step.action == THROTTLE and (
            not step.throttle
            or step.throttle.down_kbps < 1
            or step.throttle.up_kbps < 1
        ):
            return (
                f"The step at {step.threshold_pct} % throttles: give its speeds, "
                "1 kbit/s or more."
            )
        if previous is not None:
            if step.threshold_pct <= previous.threshold_pct:
                return (
                    "Fair-usage steps are out of order: "
                    f"{step.threshold_pct} % comes after {previous.threshold_pct} %. "
                    "Give each step a higher threshold than the one before."
                )
            if previous.action != THROTTLE:
                return (
                    f"Nothing can follow the step at {previous.threshold_pct} %: "
                    "the subscriber is already off the internet there."
                )
            if step.action == THROTTLE and (
                step.throttle.down_kbps > previous.throttle.down_kbps
                or step.throttle.up_kbps > previous.throttle.up_kbps
            ):
                return (
                    f"The step at {step.threshold_pct} % is faster than the one at "
                    f"{previous.threshold_pct} %: each step slows down further."
                )
        previous = step
    return None


def ladder(steps, cap_action: str, throttle: Throttle | None) -> tuple[Step, ...]:
    """The steps in force: ``steps`` (sorted by threshold) or, without any,
    the one step of the action at the cap at 100 %."""
    if steps:
        ordered = tuple(sorted(steps, key=lambda s: s.threshold_pct))
        problem = steps_problem(ordered)
        if problem:
            raise ValueError(problem)
        return ordered
    if cap_action not in CAP_ACTIONS:
        raise ValueError(f"Unknown action at the cap {cap_action!r}.")
    return (Step(100, cap_action, throttle),)


def threshold_bytes(granted: int, pct: int) -> int:
    """The bytes at which a step of ``pct`` % of ``granted`` begins."""
    return -(-int(granted) * pct // 100)


def stage(granted: int, used: int, steps) -> Stage:
    """The Stage of ``used`` bytes of ``granted`` on the ladder ``steps``."""
    used = max(int(used), 0)
    current = None
    for step in steps:
        limit = threshold_bytes(granted, step.threshold_pct)
        if used < limit:
            return Stage(current, step, limit)
        current = step
    return Stage(current, None, None)


@dataclass(frozen=True)
class Window:
    """From ``start`` to ``end`` minutes after local midnight, reports count
    ``counted_pct`` % of their bytes."""

    start: int
    end: int
    counted_pct: int


def minutes(hours: float) -> int:
    """Minutes after midnight of a time of day in hours (Odoo's float_time)."""
    return round(float(hours) * 60)


def hours_label(value: int) -> str:
    return f"{value // 60:02d}:{value % 60:02d}"


def windows_problem(windows) -> str | None:
    """Why these windows cannot be applied, or None."""
    ordered = sorted(windows, key=lambda w: w.start)
    for window in ordered:
        span = f"{hours_label(window.start)}-{hours_label(window.end)}"
        if not 0 <= window.start <= DAY_MINUTES or not 0 <= window.end <= DAY_MINUTES:
            return f"A time window lies within one day, from 00:00 to 24:00 ({span})."
        if window.end <= window.start:
            return (
                f"The time window {span} ends before it starts. A window across "
                "midnight is two windows: e.g. 22:00-24:00 and 00:00-06:00."
            )
        if not 0 <= window.counted_pct < 100:
            return (
                "A time window counts 0 % (free) to 99 % of the traffic in it "
                f"({span})."
            )
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.start < before.end:
            return (
                f"The time windows {hours_label(before.start)}-"
                f"{hours_label(before.end)} and {hours_label(after.start)}-"
                f"{hours_label(after.end)} overlap."
            )
    return None


def counted_pct(at: time, windows) -> int:
    """The share (%) of the bytes reported at local time ``at`` that count."""
    now = at.hour * 60 + at.minute
    for window in windows:
        if window.start <= now < window.end:
            return window.counted_pct
    return 100


def split(delta: int, pct: int) -> tuple[int, int]:
    """``(counted, uncounted)`` bytes of a report of ``delta`` bytes counted
    at ``pct`` %; they add up to ``delta``."""
    counted = int(delta) * pct // 100
    return counted, int(delta) - counted
