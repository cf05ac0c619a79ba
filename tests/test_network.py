# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Grants reach the network: a real FreeRADIUS answers what Odoo decided."""

import psycopg2
from pyrad import packet

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.isp_data_recurring.models.isp_fan_out import FAN_OUT_PARAM

from isp_devtools.fixtures import DELIVER_CRON, run_cron
from isp_devtools.pgdb import build_dsn

from .common import perform_jobs
from .radius_common import GB, RadiusCase, volume

EVENT_LOGGER = "odoo.addons.isp_data_recurring.models.isp_network_event"


@tagged("post_install", "-at_install", "isp_radius")
class TestProvisioning(RadiusCase):
    def test_a_credit_based_grant_of_5_gb_reaches_the_router(self):
        _partner, sub = self.subscriber("Net Alice", credit=20.0)
        self.assertEqual(sub.grant_ids.state, "granted")
        self.assertTrue(sub.network_username)
        self.assertEqual(sub.network_state, "pending", "written, not yet delivered")
        self.assertEqual(self.radtest(sub.network_username, "x")[0], False)

        self.deliver()
        accepted, reply = self.radtest(sub.network_username, sub.network_password)
        self.assertTrue(accepted, reply)
        self.assertEqual(reply["Mikrotik-Total-Limit-Gigawords"], "1")
        self.assertEqual(volume(reply), 5 * GB, "5 decimal GB, split in gigawords")
        self.assertGreater(int(reply["Session-Timeout"]), 0, "until the period ends")
        self.assertFalse(self.radtest(sub.network_username, "wrong")[0])
        sub.invalidate_recordset()
        self.assertEqual(sub.network_state, "synced")

    def test_delivering_twice_writes_the_same_rows(self):
        _partner, sub = self.subscriber("Net Twice", credit=20.0)
        self.deliver()
        rows = self.radius_sql(
            "SELECT attribute, op, value FROM radcheck ORDER BY 1", fetch=True
        )
        event = self.env["isp.network.event"].search([("subscription_id", "=", sub.id)])
        event.sudo().write({"state": "pending"})
        self.deliver()
        again = self.radius_sql(
            "SELECT attribute, op, value FROM radcheck ORDER BY 1", fetch=True
        )
        self.assertEqual(again, rows)
        attributes = [row[0] for row in rows]
        self.assertEqual(len(attributes), len(set(attributes)), "each row once")
        self.assertEqual(
            set(attributes),
            {
                "Cleartext-Password",
                "Expiration",
                "ISP-Cap-Action",
                "ISP-Period-Start",
                "ISP-Period-Volume",
                "ISP-Vendor",
            },
        )

    def test_with_the_fan_out_the_delivery_is_one_job_per_batch(self):
        subs = [self.subscriber(f"Net Fan {i}", credit=20.0)[1] for i in range(3)]
        # One subscriber's password changed since: two events, the newest wins.
        old_password = subs[0].network_password
        subs[0].network_password = "n3w-secret"
        events = self.env["isp.network.event"].search(
            [("subscription_id", "in", [s.id for s in subs])]
        )
        self.assertGreaterEqual(len(events), 4)
        self.env["ir.config_parameter"].sudo().set_param(FAN_OUT_PARAM, "1")
        self.env["ir.config_parameter"].sudo().set_param(
            "isp_data_recurring.batch_size", "3"
        )
        handed = run_cron(self.env, DELIVER_CRON)
        self.assertEqual(handed, len(events))
        # Nothing delivered by the scheduled action itself: jobs wait.
        self.assertEqual(set(events.mapped("state")), {"pending"})
        jobs = self.env["queue.job"].search(
            [("identity_key", "=like", "isp-deliver:%")], order="id"
        )
        ids = events.sorted("id").ids
        chunks = [ids[i : i + 3] for i in range(0, len(ids), 3)]
        self.assertEqual(
            [job.args[:2] for job in jobs], [[c[0], c[-1]] for c in chunks]
        )
        self.assertEqual({job.args[2] for job in jobs}, {self.server})
        today = fields.Date.context_today(self.env.user).isoformat()
        self.assertEqual(
            jobs.mapped("identity_key"),
            [f"isp-deliver:{self.server.id}:{today}:{c[0]}-{c[-1]}" for c in chunks],
        )
        self.assertEqual(set(jobs.mapped("channel")), {"root.isp.network"})
        self.assertEqual(set(jobs.mapped("state")), {"pending"})
        # A second run while they wait enqueues nothing more.
        self.assertEqual(run_cron(self.env, DELIVER_CRON), 0)
        perform_jobs(self.env, jobs)
        self.assertEqual(set(events.mapped("state")), {"done", "superseded"})
        old = events.filtered(lambda e: e.subscription_id == subs[0]).sorted("id")[0]
        self.assertEqual(old.state, "superseded")
        for sub in subs:
            accepted, reply = self.radtest(sub.network_username, sub.network_password)
            self.assertTrue(accepted, reply)
        self.assertFalse(self.radtest(subs[0].network_username, old_password)[0])

    def test_a_package_without_data_limit_gets_time_only(self):
        unlimited = self._create_package("Net time", price=5.0, recurrence="weekly")
        _partner, sub = self.subscriber("Net Time", credit=20.0, product=unlimited)
        self.deliver()
        accepted, reply = self.radtest(sub.network_username, sub.network_password)
        self.assertTrue(accepted)
        self.assertIn("Session-Timeout", reply)
        self.assertNotIn("Mikrotik-Total-Limit", reply)

    def test_after_the_paid_period_a_skip_rejects_and_a_top_up_accepts_at_once(self):
        partner, sub = self.subscriber("Net Short", credit=5.0, start=self.week_ago())
        self.assertEqual(sub.valid_until, self.today - self._one_day())
        self.run_cron(self.today)
        self.assertEqual(sub.state, "waiting_credit")
        self.deliver()
        self.assertFalse(self.radtest(sub.network_username, sub.network_password)[0])

        self._top_up(partner, 5.0, self.today)
        self.assertEqual(sub.state, "active")
        self.deliver()
        accepted, reply = self.radtest(sub.network_username, sub.network_password)
        self.assertTrue(accepted, "the top-up restores access at once")
        self.assertEqual(volume(reply), 5 * GB)

    def test_a_closed_subscription_is_removed(self):
        _partner, sub = self.subscriber("Net Closed", credit=20.0)
        self.deliver()
        sub.action_close()
        self.deliver()
        self.assertFalse(self.radtest(sub.network_username, sub.network_password)[0])
        self.assertEqual(
            self.radius_sql("SELECT count(*) FROM radcheck", fetch=True), [(0,)]
        )

    def test_a_database_that_is_down_keeps_the_events_until_it_is_back(self):
        _partner, sub = self.subscriber("Net Down", credit=20.0)
        self.allow_connections(False)
        try:
            with mute_logger(EVENT_LOGGER):
                self.deliver()
        finally:
            self.allow_connections(True)
        events = self.env["isp.network.event"].search(
            [("subscription_id", "=", sub.id)], order="id"
        )
        self.assertEqual(len(events), 2, "activation, then the grant")
        self.assertEqual(set(events.mapped("state")), {"pending"})
        self.assertEqual(set(events.mapped("attempts")), {1})
        self.assertIn("not currently accepting connections", events[-1].error)
        self.assertTrue(all(events.mapped("next_attempt")))
        sub.invalidate_recordset()
        self.assertEqual(sub.network_state, "error")
        self.assertIn("not currently accepting", sub.network_error)

        self.deliver()
        self.assertEqual(events[-1].state, "pending", "not before its next attempt")
        events.action_retry()
        self.deliver()
        self.assertEqual(events.mapped("state"), ["superseded", "done"])
        self.assertTrue(self.radtest(sub.network_username, sub.network_password)[0])
        self.assertEqual(
            self.radius_sql(
                "SELECT count(*) FROM radcheck WHERE attribute = 'Cleartext-Password'",
                fetch=True,
            ),
            [(1,)],
            "delivered once",
        )

    def allow_connections(self, allowed):
        """Take the RADIUS database down (no new connection) or up again."""
        admin = psycopg2.connect(build_dsn("postgres"))
        admin.autocommit = True
        with admin.cursor() as cr:
            cr.execute(
                f'ALTER DATABASE "{self.radius.db}" WITH ALLOW_CONNECTIONS {allowed}'
            )
        admin.close()

    def _one_day(self):
        from datetime import timedelta

        return timedelta(days=1)


@tagged("post_install", "-at_install", "isp_radius")
class TestUsage(RadiusCase):
    def _online(self, product=None):
        _partner, sub = self.subscriber("Net User", credit=20.0, product=product)
        self.deliver()
        return sub

    def test_accounting_becomes_usage_and_the_next_accept_carries_the_rest(self):
        sub = self._online()
        user = sub.network_username
        self.accounting("Start", "s1", user)
        self.accounting(
            "Interim-Update", "s1", user, input=200_000_000, output=300_000_000
        )
        self.accounting("Stop", "s1", user, input=400_000_000, output=600_000_000)
        self.import_usage()
        sub.invalidate_recordset()
        self.assertAlmostEqual(sub.used_gb, 1.0)
        self.assertAlmostEqual(sub.remaining_gb, 4.0)
        self.assertAlmostEqual(sub.grant_ids.used_gb, 1.0)
        self.deliver()
        accepted, reply = self.radtest(user, sub.network_password)
        self.assertTrue(accepted)
        self.assertEqual(volume(reply), 4 * GB)
        self.assertNotIn("Mikrotik-Total-Limit-Gigawords", reply, "under 4 GiB")

        self.import_usage()
        sub.grant_ids.invalidate_recordset()
        self.assertAlmostEqual(sub.grant_ids.used_gb, 1.0, msg="never counted twice")
        day = self.env["isp.usage.day"].search([("subscription_id", "=", sub.id)])
        self.assertEqual(day.day, self.today, "booked on the report's day")
        self.assertAlmostEqual(day.used_gb, 1.0, msg="and only once")
        self.assertEqual(sub._isp_portal_usage_days(), [(self.today, 1.0, 100)])
        action = sub.action_view_usage()
        self.assertEqual(self.env["isp.usage.day"].search(action["domain"]), day)

    def test_gigawords_count_and_a_wrapped_counter_is_ignored(self):
        sub = self._online()
        user = sub.network_username
        self.accounting("Start", "g1", user)
        self.accounting("Interim-Update", "g1", user, input=1000, input_gigawords=0)
        self.import_usage()
        self.accounting("Interim-Update", "g1", user, input=5, input_gigawords=0)
        self.import_usage()
        note = self.server.last_import_note
        self.assertIn("backwards", note)
        self.accounting("Stop", "g1", user, input=1000, input_gigawords=1)
        self.import_usage()
        sub.grant_ids.invalidate_recordset()
        self.assertAlmostEqual(sub.grant_ids.used_gb, (2**32 + 1000) / GB, places=6)

    def test_a_negative_counter_or_an_unknown_user_is_ignored_and_said(self):
        sub = self._online()
        self.accounting("Start", "n1", "nobody-here", input=10)
        self.radius_sql(
            "INSERT INTO radacct (acctsessionid, acctuniqueid, username, "
            "nasipaddress, acctstarttime, acctupdatetime, acctinputoctets, "
            f"acctoutputoctets) VALUES ('bad', 'bad-1', '{sub.network_username}', "
            "'127.0.0.1', now(), now(), -50, 0)"
        )
        self.import_usage()
        note = self.server.last_import_note
        self.assertIn("unknown_user", note)
        self.assertIn("negative", note)
        sub.grant_ids.invalidate_recordset()
        self.assertEqual(sub.grant_ids.used_gb, 0.0)

    def test_past_the_cap_block_rejects_disconnects_and_the_next_period_restores(self):
        sub = self._online()
        user = sub.network_username
        self.accounting("Start", "c1", user)
        self.accounting(
            "Interim-Update", "c1", user, input=705032704, input_gigawords=1
        )
        self.import_usage()
        self.deliver()
        self.assertFalse(self.radtest(user, sub.network_password)[0], "blocked")
        self.assertEqual(len(self.listener.received), 1)
        code, attrs = self.listener.received[0]
        self.assertEqual(code, packet.DisconnectRequest)
        self.assertEqual(attrs["User-Name"], [user])
        self.assertEqual(attrs["Acct-Session-Id"], ["c1"])

        self.import_usage()
        self.deliver()
        self.assertEqual(len(self.listener.received), 1, "disconnected once")

        # The next period's grant lifts the block.
        self._top_up(sub.partner_id, 10.0, self.today)
        self.run_cron(self.today + (sub.next_date - self.today))
        self.deliver()
        accepted, reply = self.radtest(user, sub.network_password)
        self.assertTrue(accepted)
        self.assertEqual(volume(reply), 5 * GB)

    def test_past_the_cap_throttle_keeps_the_subscriber_at_the_reduced_rate(self):
        throttled = self._create_package(
            "Net throttled", price=5.0, recurrence="weekly", data_gb=1.0
        )
        throttled.product_tmpl_id.write(
            {
                "isp_cap_action": "throttle",
                "isp_throttle_down_kbps": 1024,
                "isp_throttle_up_kbps": 512,
            }
        )
        sub = self._online(throttled)
        user = sub.network_username
        self.accounting("Start", "t1", user)
        self.accounting("Interim-Update", "t1", user, input=1_000_000_000)
        self.import_usage()
        self.deliver()
        accepted, reply = self.radtest(user, sub.network_password)
        self.assertTrue(accepted)
        self.assertEqual(reply["Mikrotik-Rate-Limit"], "512k/1024k")
        self.assertNotIn("Mikrotik-Total-Limit", reply)
        code, attrs = self.listener.received[0]
        self.assertEqual(code, packet.CoARequest)
        self.assertEqual(attrs["Mikrotik-Rate-Limit"], ["512k/1024k"])

    def test_fair_usage_alerts_are_sent_once_per_threshold(self):
        sub = self._online()
        user = sub.network_username
        self.accounting("Start", "a1", user)
        self.accounting("Interim-Update", "a1", user, input=4_100_000_000)
        self.import_usage()
        grant = sub.grant_ids
        self.assertEqual(grant.alerts_sent, "80")
        self.accounting("Interim-Update", "a1", user, input=4_200_000_000)
        self.import_usage()
        self.assertEqual(grant.alerts_sent, "80", "not twice")
        mails = self.env["mail.mail"].search(
            [("recipient_ids", "in", sub.partner_id.ids), ("subject", "ilike", "80%")]
        )
        self.assertEqual(len(mails), 1)
        self.assertIn("80", mails.body_html)


@tagged("post_install", "-at_install", "isp_radius")
class TestNetworkBadInput(RadiusCase):
    def test_a_username_with_spaces_or_quotes_or_taken_is_refused(self):
        _partner, sub = self.subscriber("Net Names", credit=20.0)
        _partner2, other = self.subscriber("Net Names 2", credit=20.0)
        for bad in ("with space", "o'brien", 'quo"te'):
            with (
                self.subTest(bad),
                self.assertRaisesRegex(ValidationError, "cannot be"),
            ):
                with self.env.cr.savepoint():
                    sub.network_username = bad
        with self.assertRaisesRegex(ValidationError, "already used"):
            with self.env.cr.savepoint():
                other.network_username = sub.network_username
        self.assertNotEqual(other.network_username, sub.network_username)

    def test_a_dsn_that_does_not_connect_says_why(self):
        broken = self.env["isp.radius.server"].create(
            {
                "name": "Nowhere",
                "dsn": "dbname=nope host=127.0.0.1 port=1 user=radius password=secret",
                "company_id": self.company.id,
            }
        )
        with self.assertRaisesRegex(UserError, "cannot reach.*Nowhere"):
            broken.action_test_connection()
        self.assertNotIn("secret", broken.dsn_display)
        self.assertIn("********", broken.dsn_display)
        result = self.server.action_test_connection()
        self.assertIn("tables are there", result["params"]["message"])
        self.assertNotIn("lacks", result["params"]["message"])
        self.radius_sql("DROP INDEX radacct_isp_reported_idx")
        self.addCleanup(
            self.radius_sql,
            "CREATE INDEX radacct_isp_reported_idx ON radacct "
            "((COALESCE(acctupdatetime, acctstoptime, acctstarttime)))",
        )
        result = self.server.action_test_connection()
        self.assertIn("radius/schema/isp.sql", result["params"]["message"])
