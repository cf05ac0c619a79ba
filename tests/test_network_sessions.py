# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The routers and their sessions: Disconnect/CoA answers, clean sessions,
routers declared in Odoo, and radacct retention. Real freeradius and UDP
listeners for the routers."""

from pyrad import packet

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged

from .radius_common import GB, RadiusCase


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
