# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Grants reach the network: a real FreeRADIUS answers what Odoo decided."""

import psycopg2
from pyrad import packet

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.isp_data_recurring.models.isp_fan_out import FAN_OUT_PARAM

from isp_devtools.fixtures import DELIVER_CRON, run_cron
from isp_devtools.pgdb import build_dsn

from .common import perform_jobs
from .radius_common import GB, RadiusCase

EVENT_LOGGER = "odoo.addons.isp_data_recurring.models.isp_network_event"


def volume(reply):
    """Bytes of MikroTik's volume attributes in a reply."""
    low = int(reply.get("Mikrotik-Total-Limit", 0))
    return int(reply.get("Mikrotik-Total-Limit-Gigawords", 0)) * 2**32 + low


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
class TestCoaAnswers(RadiusCase):
    """Disconnect and CoA requests are acknowledged, or retried, or replaced,
    or given up with the router's reason, and each answer is recorded."""

    def _capped(self, product=None):
        """A subscriber past the cap in an open session, its request sent."""
        _partner, sub = self.subscriber("Router Talk", credit=20.0, product=product)
        self.deliver()
        user = sub.network_username
        self.accounting("Start", "r1", user)
        self.accounting("Interim-Update", "r1", user, input=0, input_gigawords=2)
        self.import_usage()
        self.deliver()
        return sub

    def _packets(self, sub):
        return self.env["isp.network.packet"].search(
            [("subscription_id", "=", sub.id)], order="id"
        )

    def test_an_acknowledged_disconnect_is_recorded_and_done(self):
        sub = self._capped()
        (sent,) = self._packets(sub)
        self.assertEqual((sent.answer, sent.session), ("ack", "r1"))
        self.assertEqual(sent.event_id.state, "done")

    def test_a_silent_router_is_asked_again_later_then_given_up(self):
        self.listener.answers = {"disconnect": "silent"}
        sub = self._capped()
        event = self._packets(sub).event_id
        self.assertEqual((event.state, event.attempts), ("pending", 1))
        self.assertTrue(event.next_attempt)
        self.assertIn("no answer", event.error)
        self.assertEqual(sub.network_state, "error", "shown on the subscription")
        for _attempt in range(4):
            event.sudo().write({"next_attempt": False})
            self.deliver()
        self.assertEqual((event.state, event.attempts), ("failed", 5))
        self.assertEqual(len(self._packets(sub)), 5, "one request per attempt")
        self.listener.answers = {}
        event.action_retry()
        self.deliver()
        self.assertEqual(event.state, "done", "Retry now, once the router answers")

    def test_a_refusal_is_given_up_at_once_with_the_routers_reason(self):
        self.listener.answers = {"disconnect": "nak"}
        self.listener.error_cause = 501
        sub = self._capped()
        (sent,) = self._packets(sub)
        self.assertEqual((sent.answer, sent.error_cause), ("nak", 501))
        self.assertEqual(sent.event_id.state, "failed")
        self.assertIn("501 Administratively Prohibited", sent.event_id.error)

    def test_a_session_the_router_no_longer_has_needs_nothing_more(self):
        self.listener.answers = {"disconnect": "nak"}
        self.listener.error_cause = 503
        sub = self._capped()
        self.assertEqual(self._packets(sub).event_id.state, "done")

    def test_a_refused_coa_falls_back_to_a_disconnect(self):
        throttled = self._create_package(
            "Net CoA", price=5.0, recurrence="weekly", data_gb=1.0
        )
        throttled.product_tmpl_id.write({"isp_cap_action": "throttle"})
        self.listener.answers = {"coa": "nak"}
        self.listener.error_cause = 405
        sub = self._capped(throttled)
        self.deliver()  # the Disconnect the refusal enqueued
        coa_sent, disconnect_sent = self._packets(sub)
        self.assertEqual((coa_sent.kind, coa_sent.answer), ("coa", "nak"))
        self.assertIn("disconnected instead", coa_sent.event_id.error)
        self.assertEqual(
            (disconnect_sent.kind, disconnect_sent.answer), ("disconnect", "ack")
        )
        codes = [code for code, _attrs in self.listener.received]
        self.assertEqual(codes, [packet.CoARequest, packet.DisconnectRequest])

    def test_without_the_fallback_a_refused_coa_is_given_up(self):
        throttled = self._create_package(
            "Net CoA only", price=5.0, recurrence="weekly", data_gb=1.0
        )
        throttled.product_tmpl_id.write(
            {"isp_cap_action": "throttle", "isp_coa_fallback": False}
        )
        self.listener.answers = {"coa": "nak"}
        sub = self._capped(throttled)
        self.deliver()
        (sent,) = self._packets(sub)
        self.assertEqual(sent.event_id.state, "failed")
        self.assertIn("no Error-Cause given", sent.event_id.error)


@tagged("post_install", "-at_install", "isp_radius")
class TestCleanSessions(RadiusCase):
    def _online(self):
        _partner, sub = self.subscriber("Clean Sessions", credit=20.0)
        self.deliver()
        return sub

    def _open_sessions(self, user):
        return self.radius_sql(
            "SELECT acctsessionid, acctterminatecause FROM radacct "
            f"WHERE username = '{user}' AND acctstoptime IS NULL",
            fetch=True,
        )

    def test_accounting_on_from_a_rebooted_router_closes_its_sessions(self):
        sub = self._online()
        user = sub.network_username
        self.accounting("Start", "boot1", user)
        self.accounting("Interim-Update", "boot1", user, input=GB)
        self.import_usage()
        self.assertEqual(len(self._open_sessions(user)), 1)
        self.radius.send_accounting(
            {
                "Acct-Status-Type": "Accounting-On",
                "NAS-IP-Address": "127.0.0.1",
                "Acct-Session-Id": "nas-boot",
            }
        )
        self.assertEqual(self._open_sessions(user), [], "closed by the NAS's reboot")
        self.import_usage()
        sub.grant_ids.invalidate_recordset()
        self.assertAlmostEqual(sub.grant_ids.used_gb, 1.0, msg="counted once")

    def test_a_silent_session_is_closed_after_its_intervals_and_counted_once(self):
        sub = self._online()
        user = sub.network_username
        self.accounting("Start", "quiet", user)
        self.accounting("Interim-Update", "quiet", user, input=GB)
        self.import_usage()
        self.radius_sql(
            "UPDATE radacct SET acctupdatetime = now() - interval '16 minutes', "
            "acctstarttime = now() - interval '20 minutes'"
        )
        self.import_usage()
        self.assertEqual(self._open_sessions(user), [])
        cause = self.radius_sql(
            "SELECT acctterminatecause FROM radacct WHERE acctsessionid = 'quiet'",
            fetch=True,
        )
        self.assertEqual(cause, [("Stale-Session",)])
        self.assertIn("1 silent session(s) closed", self.server.last_import_note)
        self.import_usage()
        sub.grant_ids.invalidate_recordset()
        self.assertAlmostEqual(sub.grant_ids.used_gb, 1.0, msg="counted once")

    def test_a_fresh_session_is_not_closed(self):
        sub = self._online()
        self.accounting("Start", "fresh", sub.network_username)
        self.import_usage()
        self.assertEqual(len(self._open_sessions(sub.network_username)), 1)

    def test_a_router_without_gigawords_has_its_wrap_counted(self):
        self.server.counts_wrap = True
        sub = self._online()
        user = sub.network_username
        self.accounting("Start", "w1", user)
        self.accounting("Interim-Update", "w1", user, input=4_294_000_000)
        self.import_usage()
        self.accounting("Interim-Update", "w1", user, input=1_000_000)
        self.import_usage()
        self.assertIn("1 counted as a 32-bit wrap", self.server.last_import_note)
        sub.grant_ids.invalidate_recordset()
        self.assertAlmostEqual(
            sub.grant_ids.used_gb, (2**32 + 1_000_000) / GB, places=6
        )

    def test_bad_session_settings_are_refused(self):
        with self.assertRaises(ValidationError):
            self.server.interim_interval = 0
        with self.assertRaises(ValidationError):
            self.server.stale_intervals = -1


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


@tagged("post_install", "-at_install", "isp_radius")
class TestRouters(RadiusCase):
    def nas_rows(self):
        return self.radius_sql(
            "SELECT nasname, shortname, type, ports, secret FROM nas "
            "WHERE nasname <> '127.0.0.1' ORDER BY 1",
            fetch=True,
        )

    def test_a_router_declared_in_odoo_reaches_the_nas_table_through_the_outbox(self):
        router = self.env["isp.nas"].create(
            {
                "name": "tower-1",
                "address": "10.9.0.1",
                "secret_input": "tower-secret",
                "nas_type": "mikrotik",
                "coa_port": 1700,
                "server_id": self.server.id,
            }
        )
        self.assertEqual(self.nas_rows(), [], "not before the delivery")
        event = self.env["isp.network.event"].search([("kind", "=", "nas")])
        self.assertNotIn("tower-secret", str(event.read()), "no secret in the outbox")
        self.deliver()
        self.assertEqual(
            self.nas_rows(), [("10.9.0.1", "tower-1", "mikrotik", 1700, "tower-secret")]
        )
        router.invalidate_recordset()
        self.assertFalse(router.secret_input, "never shown back")
        self.assertTrue(router.has_secret)
        router.write({"secret_input": "new-secret", "address": "10.9.0.2"})
        self.deliver()
        self.assertEqual(
            self.nas_rows(), [("10.9.0.2", "tower-1", "mikrotik", 1700, "new-secret")]
        )
        router.action_archive()
        self.deliver()
        self.assertEqual(self.nas_rows(), [])

    def test_an_isp_manager_cannot_read_a_routers_secret(self):
        router = self.env["isp.nas"].create(
            {
                "name": "tower-2",
                "address": "10.9.0.3",
                "secret_input": "hidden",
                "server_id": self.server.id,
            }
        )
        manager = new_test_user(
            self.env, "isp_nas_manager", groups="isp_data_recurring.group_isp_manager"
        )
        with self.assertRaises(AccessError):
            router.with_user(manager).read(["secret"])
        router.invalidate_recordset()
        self.assertFalse(router.with_user(manager).secret_input)

    def test_a_bad_address_an_empty_secret_or_port_is_refused_and_nothing_written(
        self,
    ):
        Nas = self.env["isp.nas"]
        bad = [
            {"address": "tower", "secret_input": "s"},
            {"address": "10.9.0.4", "secret_input": ""},
            {"address": "10.9.0.4", "secret_input": "s", "coa_port": 0},
        ]
        for vals in bad:
            with self.subTest(vals=vals), self.assertRaises(ValidationError):
                Nas.create(dict(vals, name="bad", server_id=self.server.id))
        self.assertFalse(Nas.search([("name", "=", "bad")]))
        self.assertFalse(
            self.env["isp.network.event"].search([("kind", "=", "nas")]),
            "nothing sent",
        )


@tagged("post_install", "-at_install", "isp_radius")
class TestRetention(RadiusCase):
    def _session_row(self, unique_id, user, stopped_days_ago):
        stop = (
            "NULL"
            if stopped_days_ago is None
            else (f"now() - interval '{stopped_days_ago} days'")
        )
        start = f"now() - interval '{(stopped_days_ago or 0) + 1} days'"
        self.radius_sql(
            "INSERT INTO radacct (acctsessionid, acctuniqueid, username, "
            "nasipaddress, acctstarttime, acctupdatetime, acctstoptime, "
            f"acctinputoctets, acctoutputoctets) VALUES ('{unique_id}', "
            f"'{unique_id}', '{user}', '127.0.0.1', {start}, "
            f"COALESCE({stop}, now()), {stop}, 1000, 0)"
        )

    def _uniques(self, table):
        return [
            row[0]
            for row in self.radius_sql(
                f"SELECT acctuniqueid FROM {table} ORDER BY 1", fetch=True
            )
        ]

    def test_old_counted_sessions_are_archived_and_recent_ones_kept(self):
        _partner, sub = self.subscriber("Old Sessions", credit=20.0)
        user = sub.network_username
        self._session_row("old-closed", user, 40)
        self._session_row("new-closed", user, 2)
        self._session_row("still-open", user, None)
        self.import_usage()
        self.assertEqual(len(self._uniques("radacct")), 3, "kept by default")
        self.server.retention_days = 30
        self.import_usage()
        self.assertEqual(self._uniques("radacct"), ["new-closed", "still-open"])
        self.assertEqual(self._uniques("radacct_archive"), ["old-closed"])
        self.assertIn("1 old session(s) archived", self.server.last_import_note)
        self.assertFalse(
            self.env["isp.network.session"].search([("unique_id", "=", "old-closed")])
        )

    def test_deleting_instead_of_archiving(self):
        _partner, sub = self.subscriber("Deleted Sessions", credit=20.0)
        self._session_row("gone", sub.network_username, 10)
        self.import_usage()
        self.server.write({"retention_days": 5, "retention_action": "delete"})
        self.import_usage()
        self.assertEqual(self._uniques("radacct"), [])
        with self.assertRaises(ValidationError):
            self.server.retention_days = -1
