from datetime import datetime, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import fair_usage, network
from core.fair_usage import BLOCK, THROTTLE, WALLED, Step, Throttle, Window

GB = 10**9
END = datetime(2026, 12, 31, 23, 0, 0)
START = datetime(2026, 12, 1, 0, 0, 0)
# Slower at 80 %, slower again at 100 %, blocked at 150 %.
LADDER = (
    Step(80, THROTTLE, Throttle(4096, 1024)),
    Step(100, THROTTLE, Throttle(1024, 512)),
    Step(150, BLOCK),
)


def at(used, steps=LADDER, **kw):
    values = dict(
        username="alice",
        password="s",
        expires=END,
        granted=10 * GB,
        used=used,
        period_start=START,
        steps=steps,
    )
    values.update(kw)
    return network.access(**values)


def rows(entitled, vendor=network.MIKROTIK, **kw):
    result = network.radius_rows(entitled, vendor, **kw)
    return dict((a, v) for a, _o, v in result.check), dict(
        (a, v) for a, _o, v in result.reply
    )


def test_below_the_first_step_the_plan_runs_at_its_speed_until_that_step():
    check, reply = rows(at(5 * GB), speed=network.Speed(10240, 2048))
    assert reply == {
        "Mikrotik-Rate-Limit": "2048k/10240k",
        "Mikrotik-Total-Limit": str(3 * GB),
    }, "3 GB until the step at 80 %, at the plan's speed"
    assert check["ISP-Period-Volume"] == str(8 * GB)
    assert (check["ISP-Cap-Action"], check["ISP-Throttle-Down"]) == (THROTTLE, "4096")


def test_each_step_slows_down_and_the_router_gets_the_data_until_the_next():
    eighty = at(9 * GB)
    assert (eighty.capped, eighty.step_pct, eighty.volume) == (THROTTLE, 80, GB)
    check, reply = rows(eighty, speed=network.Speed(10240, 2048))
    assert reply == {
        "Mikrotik-Rate-Limit": "1024k/4096k",
        "Mikrotik-Total-Limit": str(GB),
    }
    assert (check["ISP-Period-Volume"], check["ISP-Throttle-Down"]) == (
        str(10 * GB),
        "1024",
    ), "FreeRADIUS applies the step at 100 % at login once radacct reaches it"
    hundred = at(12 * GB)
    check, reply = rows(hundred)
    assert reply == {
        "Mikrotik-Rate-Limit": "512k/1024k",
        "Mikrotik-Total-Limit": str(3 * GB),
    }
    assert (check["ISP-Period-Volume"], check["ISP-Cap-Action"]) == (
        str(15 * GB),
        BLOCK,
    )


def test_past_the_last_step_blocks_as_the_cap_does():
    blocked = at(15 * GB)
    assert blocked.rejected and blocked.step_pct == 150
    check, reply = rows(blocked)
    assert check["Auth-Type"] == "Reject" and "Reply-Message" in reply
    assert "ISP-Period-Volume" not in check


def test_a_last_throttle_step_leaves_the_subscriber_slow_without_a_volume():
    slow = at(30 * GB, steps=LADDER[:2])
    check, reply = rows(slow)
    assert reply == {"Mikrotik-Rate-Limit": "512k/1024k"}
    assert "ISP-Period-Volume" not in check


def test_a_walled_step_needs_the_walled_garden_before_it_is_reached():
    steps = (Step(100, THROTTLE, Throttle(1024, 512)), Step(120, WALLED))
    check, _reply = rows(at(11 * GB, steps=steps), walled_garden="portal")
    assert (check["ISP-Cap-Action"], check["ISP-Walled-Garden"]) == (WALLED, "portal")
    with pytest.raises(ValueError, match="walled garden"):
        rows(at(11 * GB, steps=steps))


def test_without_steps_the_cap_action_is_the_one_step_at_100_percent():
    plain = at(10 * GB, steps=(), cap_action=THROTTLE, throttle=Throttle(512, 256))
    assert (plain.capped, plain.step_pct) == (THROTTLE, 100)
    assert rows(plain)[1] == {"Mikrotik-Rate-Limit": "256k/512k"}


def test_traffic_odoo_did_not_count_is_added_to_what_freeradius_counts_to():
    free_nights = at(2 * GB, uncounted=3 * GB)
    assert free_nights.volume == 6 * GB, "the router gets what Odoo counted left"
    assert rows(free_nights)[0]["ISP-Period-Volume"] == str(11 * GB)


@pytest.mark.parametrize(
    ("steps", "words"),
    [
        ((Step(100, BLOCK), Step(80, THROTTLE, Throttle(1, 1))), "out of order"),
        ((Step(80, BLOCK), Step(100, BLOCK)), "Nothing can follow"),
        (
            (
                Step(80, THROTTLE, Throttle(512, 256)),
                Step(90, THROTTLE, Throttle(1024, 256)),
            ),
            "faster than",
        ),
        ((Step(80, THROTTLE, Throttle(0, 256)),), "speeds"),
        ((Step(0, BLOCK),), "1 to 1000"),
        ((Step(80, "redirect"),), "Unknown"),
        ((Step(80, BLOCK), Step(80, BLOCK)), "out of order"),
    ],
)
def test_steps_that_cannot_be_enforced_say_why(steps, words):
    assert words in fair_usage.steps_problem(steps)


def test_the_ladder_is_sorted_then_checked():
    shuffled = (LADDER[2], LADDER[0], LADDER[1])
    assert fair_usage.ladder(shuffled, BLOCK, None) == LADDER
    with pytest.raises(ValueError, match="Nothing can follow"):
        fair_usage.ladder((Step(80, BLOCK), Step(100, BLOCK)), BLOCK, None)


@given(
    granted=st.integers(1, 10**13),
    used=st.integers(0, 2 * 10**13),
)
def test_the_volume_given_never_passes_the_next_step(granted, used):
    entitled = at(used, granted=granted)
    where = fair_usage.stage(granted, used, LADDER)
    if entitled.volume is not None:
        assert 0 < entitled.volume == where.limit - used
        assert used + entitled.volume == fair_usage.threshold_bytes(
            granted, where.next.threshold_pct
        )
    reached = [s for s in LADDER if used * 100 >= s.threshold_pct * granted]
    assert entitled.step_pct == (reached[-1].threshold_pct if reached else 0)


# -- time windows -----------------------------------------------------------------

NIGHT = Window(0, 7 * 60, 0)


def test_traffic_reported_in_a_free_window_is_not_counted_outside_it_is():
    assert fair_usage.counted_pct(time(3, 15), [NIGHT]) == 0
    assert fair_usage.counted_pct(time(7, 0), [NIGHT]) == 100, "07:00 is outside"
    assert fair_usage.counted_pct(time(23, 59), [NIGHT]) == 100
    half = Window(22 * 60, 24 * 60, 50)
    assert fair_usage.counted_pct(time(23, 0), [NIGHT, half]) == 50


@given(delta=st.integers(0, 10**12), pct=st.integers(0, 100))
def test_a_split_report_adds_up(delta, pct):
    counted, uncounted = fair_usage.split(delta, pct)
    assert counted + uncounted == delta and 0 <= counted <= delta * pct / 100


@pytest.mark.parametrize(
    ("windows", "words"),
    [
        ([Window(7 * 60, 0, 0)], "ends before it starts"),
        ([Window(22 * 60, 6 * 60, 0)], "two windows"),
        ([Window(0, 7 * 60, 0), Window(6 * 60, 8 * 60, 50)], "overlap"),
        ([Window(0, 7 * 60, 100)], "0 % (free) to 99 %"),
        ([Window(0, 25 * 60, 0)], "within one day"),
    ],
)
def test_windows_that_cannot_be_applied_say_why(windows, words):
    assert words in fair_usage.windows_problem(windows)


def test_a_night_across_midnight_is_two_windows():
    assert not fair_usage.windows_problem(
        [Window(22 * 60, 24 * 60, 0), Window(0, 6 * 60, 0)]
    )
    assert fair_usage.minutes(6.5) == 390 and fair_usage.hours_label(390) == "06:30"
