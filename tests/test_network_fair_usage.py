# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Fair usage in steps, time windows that count less, and accounting from a
router nobody declared: real freeradius, accounting sent over RADIUS."""

from contextlib import contextmanager
from datetime import datetime

from pyrad import packet

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from ..core import clock
from .radius_common import GB, NAS_SECRET, RadiusCase, octets, volume

LADDER = [
    (
        0,
        0,
        {"threshold_pct": 80, "action": "throttle", "down_kbps": 4096, "up_kbps": 1024},
    ),
    (
        0,
        0,
        {"threshold_pct": 100, "action": "throttle", "down_kbps": 1024, "up_kbps": 512},
    ),
    (0, 0, {"threshold_pct": 150, "action": "block"}),
]


class Refusals:
    @contextmanager
    def refused(self, words):
        """A ValidationError saying ``words``, its transaction rolled back
        as the user's would be."""
        with self.assertRaises(ValidationError) as caught:
            yield
        self.assertIn(words, str(caught.exception))
        self.env.invalidate_all()


@tagged("post_install", "-at_install", "isp_radius")
class TestFairUsageSteps(Refusals, RadiusCase):
    """Slower at 80 %, slower again at 100 %, blocked at 150 % of 10 GB."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stepped = cls._create_package(
            "Net 10 fair", price=5.0, recurrence="weekly", data_gb=10.0
        )
        cls.stepped.product_tmpl_id.write(
            {
                "isp_speed_down_kbps": 10240,
                "isp_speed_up_kbps": 2048,
                "isp_fair_usage_step_ids": LADDER,
            }
        )

    def test_each_step_slows_down_then_blocks_at_login_and_on_the_open_session(self):
        _partner, sub = self.subscriber("Fair User", credit=20.0, product=self.stepped)
        self.deliver()
        user, password = sub.network_username, sub.network_password
        accepted, reply = self.radtest(user, password)
        self.assertTrue(accepted)
        self.assertEqual(reply["Mikrotik-Rate-Limit"], "2048k/10240k", "the plan")
        self.assertEqual(volume(reply), 8 * GB, "until the step at 80 %")

        # 8.5 GB reported, nothing imported: FreeRADIUS applies the next step.
        self.accounting("Start", "f1", user)
        self.accounting("Interim-Update", "f1", user, **octets(8.5 * GB))
        accepted, reply = self.radtest(user, password)
        self.assertTrue(accepted)
        self.assertEqual(reply["Mikrotik-Rate-Limit"], "1024k/4096k")
        self.assertEqual(volume(reply), 0)

        # Imported: the open session is slowed down by a CoA, once.
        self.import_usage()
        self.deliver()
        grant = sub.grant_ids
        self.assertEqual(grant.fair_usage_step, 80)
        code, attrs = self.listener.received[-1]
        self.assertEqual(code, packet.CoARequest)
        self.assertEqual(attrs["Mikrotik-Rate-Limit"], ["1024k/4096k"])
        accepted, reply = self.radtest(user, password)
        self.assertEqual(reply["Mikrotik-Rate-Limit"], "1024k/4096k")
        self.assertEqual(volume(reply), int(1.5 * GB), "until the step at 100 %")
        self.import_usage()
        self.deliver()
        self.assertEqual(len(self.listener.received), 1, "one CoA per step")

        self.accounting("Interim-Update", "f1", user, **octets(12 * GB))
        self.import_usage()
        self.deliver()
        self.assertEqual(grant.fair_usage_step, 100)
        code, attrs = self.listener.received[-1]
        self.assertEqual(attrs["Mikrotik-Rate-Limit"], ["512k/1024k"])
        accepted, reply = self.radtest(user, password)
        self.assertEqual(reply["Mikrotik-Rate-Limit"], "512k/1024k")
        self.assertEqual(volume(reply), 3 * GB, "until the block at 150 %")

        self.accounting("Interim-Update", "f1", user, **octets(15.5 * GB))
        self.import_usage()
        self.deliver()
        self.assertEqual(grant.fair_usage_step, 150)
        self.assertEqual(self.listener.received[-1][0], packet.DisconnectRequest)
        self.assertEqual(len(self.listener.received), 3)
        self.assertFalse(self.radtest(user, password)[0], "blocked at 150 %")

    def test_steps_out_of_order_are_refused_and_nothing_changes(self):
        template = self.stepped.product_tmpl_id
        before = [(s.threshold_pct, s.action) for s in template.isp_fair_usage_step_ids]
        faster = template.isp_fair_usage_step_ids.filtered(
            lambda s: s.threshold_pct == 100
        )
        with self.refused("faster than the one at 80"):
            faster.write({"down_kbps": 8192})
        after_block = template.isp_fair_usage_step_ids.filtered(
            lambda s: s.threshold_pct == 80
        )
        with self.refused("Nothing can follow"):
            after_block.write({"action": "block"})
        with self.refused("out of order"):
            template.write(
                {
                    "isp_fair_usage_step_ids": [
                        (
                            0,
                            0,
                            {
                                "threshold_pct": 100,
                                "action": "throttle",
                                "down_kbps": 1,
                                "up_kbps": 1,
                            },
                        )
                    ]
                }
            )
        template.invalidate_recordset()
        self.assertEqual(
            [(s.threshold_pct, s.action) for s in template.isp_fair_usage_step_ids],
            before,
        )


@tagged("post_install", "-at_install", "isp_radius")
class TestTimeWindows(Refusals, RadiusCase):
    """Traffic reported in a window counts its share, in the company's
    timezone; FreeRADIUS's count at login agrees."""

    def _window_now(self, counted_pct):
        """A window around the present hour of the company's timezone."""
        zone = clock.zone(self.company._isp_effective_timezone())
        now = datetime.now(zone)
        hours = now.hour + now.minute / 60
        package = self._create_package(
            f"Net free {counted_pct}", price=5.0, recurrence="weekly", data_gb=5.0
        )
        package.product_tmpl_id.isp_usage_window_ids = [
            (
                0,
                0,
                {
                    "start_hour": max(hours - 1.0, 0.0),
                    "end_hour": min(hours + 1.0, 24.0),
                    "counted_pct": counted_pct,
                },
            )
        ]
        return package

    def test_a_free_window_counts_nothing_and_the_cap_at_login_agrees(self):
        _partner, sub = self.subscriber("Night Owl", 20.0, self._window_now(0))
        self.deliver()
        user = sub.network_username
        self.accounting("Start", "w1", user)
        self.accounting("Interim-Update", "w1", user, **octets(2 * GB))
        self.import_usage()
        self.deliver()
        grant = sub.grant_ids
        self.assertEqual(grant.used_gb, 0.0)
        self.assertAlmostEqual(grant.free_gb, 2.0)
        accepted, reply = self.radtest(user, sub.network_password)
        self.assertTrue(accepted)
        self.assertEqual(volume(reply), 5 * GB, "radacct's 2 GB were free")

    def test_a_half_price_window_counts_half(self):
        _partner, sub = self.subscriber("Half Owl", 20.0, self._window_now(50))
        self.deliver()
        user = sub.network_username
        self.accounting("Start", "h1", user)
        self.accounting("Interim-Update", "h1", user, **octets(2 * GB))
        self.import_usage()
        self.deliver()
        self.assertAlmostEqual(sub.grant_ids.used_gb, 1.0)
        self.assertAlmostEqual(sub.grant_ids.free_gb, 1.0)
        self.assertEqual(volume(self.radtest(user, sub.network_password)[1]), 4 * GB)

    def test_a_window_that_ends_before_it_starts_is_refused_and_nothing_changes(self):
        template = self.weekly_5gb.product_tmpl_id
        with self.refused("ends before it starts"):
            template.write(
                {
                    "isp_usage_window_ids": [
                        (0, 0, {"start_hour": 7.0, "end_hour": 0.0, "counted_pct": 0})
                    ]
                }
            )
        template.invalidate_recordset()
        self.assertFalse(template.isp_usage_window_ids)


@tagged("post_install", "-at_install", "isp_radius")
class TestUndeclaredRouter(RadiusCase):
    def test_accounting_from_an_undeclared_router_is_ignored_and_said(self):
        self.env["isp.nas"].create(
            {
                "name": "Tower 1",
                "address": "127.0.0.1",
                "secret_input": NAS_SECRET,
                "coa_port": self.listener.port,
                "server_id": self.server.id,
            }
        )
        _partner, sub = self.subscriber("Tower User", credit=20.0)
        self.deliver()
        user = sub.network_username
        # FreeRADIUS takes the packet (its client is known) and stores the
        # NAS-IP-Address the packet claims: a router nobody declared.
        self.accounting("Start", "x1", user, nas="10.9.9.9")
        self.accounting("Interim-Update", "x1", user, nas="10.9.9.9", **octets(GB))
        self.accounting("Start", "d1", user)
        self.accounting("Interim-Update", "d1", user, **octets(GB // 2))
        self.import_usage()
        self.assertAlmostEqual(sub.grant_ids.used_gb, 0.5, msg="the declared one only")
        self.assertIn(
            "1 ignored: from a router not declared (10.9.9.9)",
            self.server.last_import_note,
        )
