from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import network
from core.network import BLOCK, CHILLISPOT, GENERIC, MIKROTIK, THROTTLE, Throttle

END = datetime(2026, 12, 5, 0, 0, 0)
GB = 10**9


def entitled(granted=5 * GB, used=0, expires=END, cap=BLOCK):
    return network.access(
        username="alice",
        password="s3cret",
        expires=expires,
        granted=granted,
        used=used,
        cap_action=cap,
    )


def rows_of(entitled_, vendor=MIKROTIK, throttle=None):
    rows = network.radius_rows(entitled_, vendor, throttle)
    return dict((a, v) for a, _op, v in rows.check), dict(
        (a, v) for a, _op, v in rows.reply
    )


def test_five_gb_are_split_into_gigawords_and_the_low_32_bits():
    check, reply = rows_of(entitled())
    assert check == {
        "Cleartext-Password": "s3cret",
        "Expiration": "Dec 05 2026 00:00:00",
    }
    assert reply == {
        "Mikrotik-Total-Limit": "705032704",
        "Mikrotik-Total-Limit-Gigawords": "1",
    }
    assert 1 * 2**32 + 705032704 == 5 * GB


def test_chillispot_uses_its_own_attributes_and_a_generic_router_gets_no_volume():
    _check, reply = rows_of(entitled(), CHILLISPOT)
    assert reply == {
        "ChilliSpot-Max-Total-Octets": "705032704",
        "ChilliSpot-Max-Total-Gigawords": "1",
    }
    assert rows_of(entitled(), GENERIC)[1] == {}


def test_under_4_gib_there_is_no_gigawords_attribute():
    _check, reply = rows_of(entitled(granted=GB))
    assert reply == {"Mikrotik-Total-Limit": str(GB)}


def test_only_the_volume_left_is_given():
    _check, reply = rows_of(entitled(used=4 * GB))
    assert reply == {"Mikrotik-Total-Limit": str(GB)}


def test_at_the_cap_block_rejects_and_says_why():
    blocked = entitled(used=5 * GB)
    assert blocked.capped == BLOCK and blocked.rejected
    check, reply = rows_of(blocked)
    assert check["Auth-Type"] == "Reject"
    assert "used up" in reply["Reply-Message"]


def test_at_the_cap_throttle_accepts_at_the_vendors_rate_without_volume():
    throttled = entitled(used=6 * GB, cap=THROTTLE)
    assert throttled.capped == THROTTLE and not throttled.rejected
    slow = Throttle(down_kbps=1024, up_kbps=512)
    check, reply = rows_of(throttled, MIKROTIK, slow)
    assert "Auth-Type" not in check
    assert reply == {"Mikrotik-Rate-Limit": "512k/1024k"}
    assert rows_of(throttled, CHILLISPOT, slow)[1] == {
        "ChilliSpot-Bandwidth-Max-Down": "1024",
        "ChilliSpot-Bandwidth-Max-Up": "512",
    }
    assert rows_of(throttled, GENERIC, slow)[1] == {
        "WISPr-Bandwidth-Max-Down": "1024000",
        "WISPr-Bandwidth-Max-Up": "512000",
    }
    with pytest.raises(ValueError, match="throttled speed"):
        rows_of(throttled, MIKROTIK, None)


def test_a_package_without_data_limit_gets_time_only():
    check, reply = rows_of(entitled(granted=None, used=10**12))
    assert check["Expiration"] == "Dec 05 2026 00:00:00"
    assert reply == {}


def test_never_paid_is_rejected():
    never = entitled(expires=None)
    assert never.rejected
    check, _reply = rows_of(never)
    assert check["Auth-Type"] == "Reject"
    assert "Expiration" not in check


@pytest.mark.parametrize(
    "name", ["", "with space", 'quo"te', "it's", "-dash-first", "x" * 65, "tab\tname"]
)
def test_usernames_with_spaces_quotes_or_odd_characters_are_refused(name):
    assert network.username_problem(name)


@pytest.mark.parametrize("name", ["alice", "a.b-c_d@isp.example", "0712345678"])
def test_ordinary_usernames_are_accepted(name):
    assert network.username_problem(name) is None


def test_unknown_vendors_and_cap_actions_are_refused():
    with pytest.raises(ValueError, match="vendor"):
        network.radius_rows(entitled(), "cisco")
    with pytest.raises(ValueError, match="cap"):
        entitled(cap="shout")


def test_thresholds_are_parsed_checked_and_announced_once():
    assert network.parse_thresholds("100, 80,80") == (80, 100)
    assert network.parse_thresholds("") == ()
    with pytest.raises(ValueError, match="percentages"):
        network.parse_thresholds("80, lots")
    with pytest.raises(ValueError, match="1 to 100"):
        network.parse_thresholds("0, 150")
    assert network.alerts_due(10 * GB, 7 * GB, (80, 100), ()) == ()
    assert network.alerts_due(10 * GB, 8 * GB, (80, 100), ()) == (80,)
    assert network.alerts_due(10 * GB, 11 * GB, (80, 100), (80,)) == (100,)
    assert network.alerts_due(10 * GB, 11 * GB, (80, 100), (80, 100)) == ()
    assert network.alerts_due(None, 11 * GB, (80, 100), ()) == ()


@given(st.integers(0, 2**63))
def test_a_split_volume_adds_up_and_fits_32_bits(volume):
    gigawords, low = network.split_octets(volume)
    assert gigawords * 2**32 + low == volume
    assert 0 <= low < 2**32


def test_a_failing_delivery_is_retried_later_and_later_up_to_an_hour():
    delays = [network.retry_delay(n) for n in range(1, 10)]
    assert delays[:4] == [60, 120, 240, 480]
    assert delays == sorted(delays)
    assert max(delays) == 3600


# -- the cap at authorize time -------------------------------------------------

START = datetime(2026, 12, 1, 0, 0, 0)


def test_freeradius_gets_the_period_to_count_usage_at_every_login():
    counted = network.access(
        username="alice",
        password="s3cret",
        expires=END,
        granted=5 * GB,
        used=GB,
        period_start=START,
    )
    check, reply = rows_of(counted)
    assert reply == {"Mikrotik-Total-Limit": str(4 * GB)}, "what was imported"
    assert check["ISP-Period-Start"] == "1796083200", "Dec 1 2026 00:00 UTC"
    assert (check["ISP-Period-Volume"], check["ISP-Cap-Action"]) == (str(5 * GB), BLOCK)
    assert check["ISP-Vendor"] == MIKROTIK


def test_a_throttled_package_tells_freeradius_its_speed_for_the_cap():
    counted = network.access(
        username="alice",
        password="s3cret",
        expires=END,
        granted=5 * GB,
        used=0,
        cap_action=THROTTLE,
        period_start=START,
    )
    check, _reply = rows_of(counted, GENERIC, Throttle(down_kbps=1024, up_kbps=512))
    assert (check["ISP-Throttle-Down"], check["ISP-Throttle-Up"]) == ("1024", "512")
    with pytest.raises(ValueError, match="throttled speed"):
        rows_of(counted, GENERIC, None)


def test_without_a_period_start_or_a_limit_freeradius_counts_nothing():
    check, _reply = rows_of(entitled())
    assert not [a for a in check if a.startswith("ISP-")]
    unlimited = network.access(
        username="alice",
        password="s3cret",
        expires=END,
        granted=None,
        used=0,
        period_start=START,
    )
    assert not [a for a in rows_of(unlimited)[0] if a.startswith("ISP-")]


# -- speed tiers --------------------------------------------------------------------


def test_a_plan_is_a_speed_tier_sent_on_every_accept_with_its_burst():
    tier = network.Speed(10240, 2048, 20480, 4096, 75, 16)
    _check, reply = rows_of_speed(entitled(), MIKROTIK, tier)
    assert (
        reply["Mikrotik-Rate-Limit"] == "2048k/10240k 4096k/20480k 3072k/15360k 16/16"
    )
    assert "Mikrotik-Total-Limit" in reply, "and the volume"
    plain = network.Speed(10240, 2048)
    assert rows_of_speed(entitled(), MIKROTIK, plain)[1]["Mikrotik-Rate-Limit"] == (
        "2048k/10240k"
    )
    chilli = rows_of_speed(entitled(), CHILLISPOT, tier)[1]
    assert chilli["ChilliSpot-Bandwidth-Max-Down"] == "10240", "no burst there"
    assert rows_of_speed(entitled(granted=None), GENERIC, plain)[1] == {
        "WISPr-Bandwidth-Max-Down": "10240000",
        "WISPr-Bandwidth-Max-Up": "2048000",
    }


def test_the_throttle_replaces_the_speed_tier_at_the_cap():
    throttled = entitled(used=6 * GB, cap=THROTTLE)
    rows = network.radius_rows(
        throttled, MIKROTIK, Throttle(512, 256), speed=network.Speed(10240, 2048)
    )
    assert dict((a, v) for a, _o, v in rows.reply) == {
        "Mikrotik-Rate-Limit": "256k/512k"
    }


@pytest.mark.parametrize(
    "speed",
    [
        network.Speed(-1, 10),
        network.Speed(10, 0),
        network.Speed(0, 0, 100, 100),
        network.Speed(100, 100, 50, 200),
        network.Speed(100, 100, 200, 200, 0),
    ],
)
def test_speeds_that_cannot_be_sent_say_why(speed):
    assert speed.problem()
    with pytest.raises(ValueError):
        network.speed_attributes(MIKROTIK, speed)


def rows_of_speed(entitled_, vendor, speed):
    rows = network.radius_rows(entitled_, vendor, None, 0, speed)
    return dict((a, v) for a, _op, v in rows.check), dict(
        (a, v) for a, _op, v in rows.reply
    )


# -- the walled garden -----------------------------------------------------------


def walled(**kw):
    values = dict(username="alice", password="s", expires=END, granted=5 * GB, used=0)
    values.update(kw)
    return network.access(**values)


def rows_walled(entitled_, vendor=MIKROTIK, name="walled-garden"):
    rows = network.radius_rows(entitled_, vendor, None, 0, None, name)
    return dict((a, v) for a, _o, v in rows.check), dict(
        (a, v) for a, _o, v in rows.reply
    )


def test_capped_into_the_walled_garden_is_accepted_into_its_address_list():
    capped = walled(used=5 * GB, cap_action=network.WALLED)
    assert not capped.rejected
    check, reply = rows_walled(capped)
    assert reply == {"Mikrotik-Address-List": "walled-garden"}
    assert "Auth-Type" not in check
    assert rows_walled(capped, GENERIC, "portal-pool")[1] == {
        "Framed-Pool": "portal-pool"
    }


def test_never_paid_with_a_walled_garden_reaches_the_portal_and_expiry_is_told():
    never = walled(expires=None, expired_action=network.WALLED)
    assert not never.rejected
    check, reply = rows_walled(never)
    assert reply == {"Mikrotik-Address-List": "walled-garden"}
    paid = walled(expired_action=network.WALLED, period_start=END)
    check, _reply = rows_walled(paid)
    assert check["ISP-Expired-Action"] == network.WALLED
    assert check["ISP-Walled-Garden"] == "walled-garden"
    rows = network.radius_rows(paid, MIKROTIK, None, 0, None, "walled-garden")
    assert [a for a, _o, _v in rows.check].count("ISP-Vendor") == 1


def test_a_walled_garden_without_its_name_or_an_unknown_action_is_refused():
    with pytest.raises(ValueError, match="walled garden"):
        rows_walled(walled(expired_action=network.WALLED), name="")
    with pytest.raises(ValueError):
        walled(expired_action="redirect")


def test_a_limit_on_simultaneous_sessions_goes_to_freeradius_with_the_stale_delay():
    one = network.access(
        username="alice", password="s", expires=END, granted=None, used=0, sessions=1
    )
    check, _reply = rows_of_stale(one, 900)
    assert (check["ISP-Simultaneous-Use"], check["ISP-Stale-After"]) == ("1", "900")
    unlimited = entitled()
    assert "ISP-Simultaneous-Use" not in rows_of_stale(unlimited, 900)[0]
    with pytest.raises(ValueError):
        network.access(
            username="a", password="s", expires=END, granted=None, used=0, sessions=-1
        )


def rows_of_stale(entitled_, stale_after):
    rows = network.radius_rows(entitled_, MIKROTIK, None, stale_after)
    return dict((a, v) for a, _op, v in rows.check), dict(
        (a, v) for a, _op, v in rows.reply
    )
