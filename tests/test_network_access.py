# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""What FreeRADIUS decides at login from the rows Odoo writes (the isp_authorize
policy): the cap between two usage imports, sessions at once, speed tiers and
the walled garden. Real freeradius, accounting sent over RADIUS."""

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .radius_common import GB, RadiusCase, volume


@tagged("post_install", "-at_install", "isp_radius")
class TestCapAtLogin(RadiusCase):
    """The cap holds between two usage imports: FreeRADIUS counts radacct
    itself at every Access-Request (radius/raddb/policy.d/isp). No usage
    import runs in these tests."""

    def _online(self, product=None):
        _partner, sub = self.subscriber("Quick Login", credit=20.0, product=product)
        self.deliver()
        return sub

    def _session(self, user, session, total):
        """A whole session of ``total`` bytes, as its router reports it."""
        gigawords, low = divmod(total, 2**32)
        self.accounting("Start", session, user)
        self.accounting(
            "Stop", session, user, input=low, input_gigawords=gigawords, output=0
        )

    def test_logging_in_again_gives_only_what_radacct_left_then_rejects(self):
        sub = self._online()
        user, password = sub.network_username, sub.network_password
        accepted, reply = self.radtest(user, password)
        self.assertTrue(accepted)
        self.assertEqual(volume(reply), 5 * GB)
        self._session(user, "q1", 2 * GB)
        accepted, reply = self.radtest(user, password)
        self.assertTrue(accepted)
        self.assertEqual(volume(reply), 3 * GB, "5 GB less what radacct holds")
        self._session(user, "q2", 2**32)  # a gigaword: past the 5 GB
        accepted, reply = self.radtest(user, password)
        self.assertFalse(accepted)
        self.assertIn("used up", reply.get("Reply-Message", ""))
        # Odoo imported nothing: its rows still give the whole 5 GB.
        rows = self.radius_sql(
            f"SELECT attribute, value FROM radreply WHERE username = '{user}'",
            fetch=True,
        )
        self.assertEqual(volume(dict(rows)), 5 * GB)
        self.assertEqual(
            self.env["isp.data.grant"].browse(sub.grant_ids.ids).used_gb, 0
        )

    def test_a_volume_over_4_gib_left_is_split_into_gigawords(self):
        big = self._create_package(
            "Net 10", price=5.0, recurrence="weekly", data_gb=10.0
        )
        sub = self._online(big)
        self._session(sub.network_username, "b1", GB)
        accepted, reply = self.radtest(sub.network_username, sub.network_password)
        self.assertTrue(accepted)
        self.assertEqual(reply.get("Mikrotik-Total-Limit-Gigawords"), "2")
        self.assertEqual(volume(reply), 9 * GB)

    def test_at_the_cap_a_throttled_service_is_accepted_at_its_reduced_speed(self):
        throttled = self._create_package(
            "Net slow", price=5.0, recurrence="weekly", data_gb=1.0
        )
        throttled.product_tmpl_id.write(
            {
                "isp_cap_action": "throttle",
                "isp_throttle_down_kbps": 1024,
                "isp_throttle_up_kbps": 512,
            }
        )
        sub = self._online(throttled)
        self._session(sub.network_username, "t1", 2 * GB)
        accepted, reply = self.radtest(sub.network_username, sub.network_password)
        self.assertTrue(accepted)
        self.assertEqual(reply.get("Mikrotik-Rate-Limit"), "512k/1024k")
        self.assertEqual(volume(reply), 0, "no volume once throttled")

    def test_sessions_of_the_previous_period_do_not_count(self):
        sub = self._online()
        user = sub.network_username
        self._session(user, "old", 4 * GB)
        self.radius_sql(
            "UPDATE radacct SET acctstarttime = acctstarttime - interval '8 days'"
        )
        accepted, reply = self.radtest(user, sub.network_password)
        self.assertTrue(accepted)
        self.assertEqual(volume(reply), 5 * GB)


@tagged("post_install", "-at_install", "isp_radius")
class TestCapAtLoginOff(RadiusCase):
    def test_a_server_without_the_policy_gets_no_isp_attributes(self):
        _partner, sub = self.subscriber("Old Server", credit=20.0)
        self.server.cap_at_login = False
        self.deliver()
        rows = self.radius_sql(
            f"SELECT attribute FROM radcheck WHERE username = '{sub.network_username}'",
            fetch=True,
        )
        self.assertEqual(
            sorted(row[0] for row in rows), ["Cleartext-Password", "Expiration"]
        )


@tagged("post_install", "-at_install", "isp_radius")
class TestSimultaneousUse(RadiusCase):
    def test_one_session_at_once_never_locks_out_the_same_device_or_a_lost_session(
        self,
    ):
        single = self._create_package(
            "Net single", price=5.0, recurrence="weekly", data_gb=5.0
        )
        single.product_tmpl_id.isp_simultaneous_use = 1
        _partner, sub = self.subscriber("One At Once", credit=20.0, product=single)
        self.deliver()
        user, password = sub.network_username, sub.network_password

        def login(device):
            accepted, reply = self.radius.radtest(
                user, password, attrs={"Calling-Station-Id": device}
            )
            return accepted, dict(reply)

        self.assertTrue(login("AA-AA")[0], "nothing open yet")
        self.radius.send_accounting(
            {
                "Acct-Status-Type": "Start",
                "Acct-Session-Id": "one",
                "User-Name": user,
                "NAS-IP-Address": "127.0.0.1",
                "Calling-Station-Id": "AA-AA",
            }
        )
        accepted, reply = login("BB-BB")
        self.assertFalse(accepted, "a second device while the first is online")
        self.assertIn("Already connected", reply.get("Reply-Message", ""))
        self.assertTrue(login("AA-AA")[0], "the same device redialling")
        # The router lost the session: silent past 3 x 300 s, it no longer counts.
        self.radius_sql(
            "UPDATE radacct SET acctupdatetime = now() - interval '16 minutes', "
            "acctstarttime = now() - interval '20 minutes'"
        )
        self.assertTrue(login("BB-BB")[0])

    def test_without_a_limit_open_sessions_do_not_matter(self):
        _partner, sub = self.subscriber("Many At Once", credit=20.0)
        self.deliver()
        self.accounting("Start", "m1", sub.network_username)
        self.accounting("Start", "m2", sub.network_username)
        self.assertTrue(self.radtest(sub.network_username, sub.network_password)[0])


@tagged("post_install", "-at_install", "isp_radius")
class TestSpeedTier(RadiusCase):
    def test_every_accept_carries_the_plans_speed_and_burst(self):
        fast = self._create_package(
            "Net 10M", price=5.0, recurrence="weekly", data_gb=5.0
        )
        fast.product_tmpl_id.write(
            {
                "isp_speed_down_kbps": 10240,
                "isp_speed_up_kbps": 2048,
                "isp_burst_down_kbps": 20480,
                "isp_burst_up_kbps": 4096,
            }
        )
        _partner, sub = self.subscriber("Speedy", credit=20.0, product=fast)
        self.deliver()
        accepted, reply = self.radtest(sub.network_username, sub.network_password)
        self.assertTrue(accepted)
        self.assertEqual(
            reply["Mikrotik-Rate-Limit"],
            "2048k/10240k 4096k/20480k 3072k/15360k 16/16",
        )
        self.assertEqual(volume(reply), 5 * GB)

    def test_a_burst_slower_than_the_speed_is_refused(self):
        template = self.weekly_5gb.product_tmpl_id
        with self.assertRaises(ValidationError):
            template.write(
                {
                    "isp_speed_down_kbps": 10240,
                    "isp_speed_up_kbps": 2048,
                    "isp_burst_down_kbps": 5000,
                    "isp_burst_up_kbps": 4096,
                }
            )


@tagged("post_install", "-at_install", "isp_radius")
class TestWalledGarden(RadiusCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.walled = cls._create_package(
            "Net walled", price=5.0, recurrence="weekly", data_gb=1.0
        )
        cls.walled.product_tmpl_id.write(
            {"isp_cap_action": "walled", "isp_expired_action": "walled"}
        )

    def login(self, sub):
        return self.radtest(sub.network_username, sub.network_password)

    def test_an_expired_subscriber_reaches_the_walled_garden_then_pays_back(self):
        partner, sub = self.subscriber(
            "Walled Late", credit=5.0, product=self.walled, start=self.week_ago()
        )
        self.run_cron(self.today)
        self.assertEqual(sub.state, "waiting_credit")
        self.deliver()
        accepted, reply = self.login(sub)
        self.assertTrue(accepted, "let in, but only to the walled garden")
        self.assertEqual(reply["Mikrotik-Address-List"], "walled-garden")
        self.assertEqual(volume(reply), 0)
        self._top_up(partner, 5.0, self.today)
        self.deliver()
        accepted, reply = self.login(sub)
        self.assertTrue(accepted)
        self.assertNotIn("Mikrotik-Address-List", reply)
        self.assertEqual(volume(reply), GB)

    def test_never_paid_reaches_the_walled_garden(self):
        _partner, sub = self.subscriber("Walled New", credit=0.0, product=self.walled)
        self.deliver()
        accepted, reply = self.login(sub)
        self.assertTrue(accepted)
        self.assertEqual(reply["Mikrotik-Address-List"], "walled-garden")

    def test_past_the_cap_at_login_the_walled_garden_replaces_the_volume(self):
        _partner, sub = self.subscriber("Walled Cap", credit=20.0, product=self.walled)
        self.deliver()
        user = sub.network_username
        self.accounting("Start", "w1", user)
        self.accounting("Stop", "w1", user, input=2 * GB)
        accepted, reply = self.login(sub)
        self.assertTrue(accepted)
        self.assertEqual(reply["Mikrotik-Address-List"], "walled-garden")
        self.assertEqual(volume(reply), 0)
        self.import_usage()
        self.deliver()
        accepted, reply = self.login(sub)
        self.assertEqual(reply["Mikrotik-Address-List"], "walled-garden", "Odoo agrees")
        self.assertEqual(
            [code for code, _attrs in self.listener.received], [], "session closed"
        )

    def test_a_service_that_rejects_still_rejects_once_access_ended(self):
        _partner, sub = self.subscriber(
            "Rejected Late", credit=5.0, start=self.week_ago()
        )
        self.run_cron(self.today)
        self.deliver()
        self.assertFalse(self.login(sub)[0])
