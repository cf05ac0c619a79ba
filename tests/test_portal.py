# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The subscriber's portal over real HTTP, and the online top-up."""

import unittest
from datetime import date

from lxml import etree

from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

from .common import IspCommon


class PortalCommon(IspCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.isp_timezone = "UTC"
        cls.today = cls.env["isp.subscription"]._isp_today(cls.company)
        cls.portal_user = new_test_user(
            cls.env,
            login="isp_portal",
            password="isp_portal_pw",
            groups="base.group_portal",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.subscriber = cls.portal_user.partner_id
        cls.subscriber.email = "portal@example.com"
        cls.mine = cls._subscribe(cls.subscriber, cls.weekly_5gb, start=cls.today)
        cls.other_partner = cls._create_partner("Someone Else", credit=50.0)
        cls.theirs = cls._subscribe(
            cls.other_partner, cls.monthly_10gb, start=cls.today
        )

    def login(self):
        self.authenticate("isp_portal", "isp_portal_pw")

    def get(self, url, **kw):
        return self.url_open(url, allow_redirects=False, **kw)


@tagged("post_install", "-at_install")
class TestPortalAccess(PortalCommon):
    def test_a_subscriber_sees_their_subscriptions_and_their_credit(self):
        self._top_up(self.subscriber, 20.0, self.today)
        self.run_cron(self.today)
        self.login()
        page = self.get("/my/isp/subscriptions")
        self.assertEqual(page.status_code, 200)
        self.assertIn("Weekly 5 GB", page.text)
        self.assertNotIn("Monthly 10 GB", page.text, "not another subscriber's")
        self.assertIn("15.00", page.text, "their credit after the grant")

        detail = self.get(f"/my/isp/subscriptions/{self.mine.id}")
        self.assertEqual(detail.status_code, 200)
        self.assertIn("Granted, paid from your credit", detail.text)
        invoice = self.mine.grant_ids.move_id
        self.assertIn(invoice.name, detail.text)

        home = self.make_jsonrpc_request(
            "/my/counters", {"counters": ["isp_subscription_count"]}
        )
        self.assertEqual(home["isp_subscription_count"], 1)

    def test_another_subscribers_subscription_gives_nothing(self):
        self.login()
        page = self.get(f"/my/isp/subscriptions/{self.theirs.id}")
        self.assertEqual(page.status_code, 303)
        self.assertTrue(page.headers["Location"].endswith("/my"))
        self.assertNotIn("Someone Else", page.text)
        top_up = self.get(f"/my/isp/subscriptions/{self.theirs.id}/top_up")
        self.assertEqual(top_up.status_code, 303)

    def test_anonymous_visitors_are_sent_to_login_and_tokens_are_checked(self):
        page = self.get("/my/isp/subscriptions")
        self.assertEqual(page.status_code, 303)
        self.assertIn("/web/login", page.headers["Location"])
        forged = self.get(f"/my/isp/subscriptions/{self.mine.id}?access_token=forged")
        self.assertEqual(forged.status_code, 303, "a forged token shows nothing")
        token = self.mine.sudo()._portal_ensure_token()
        shared = self.get(f"/my/isp/subscriptions/{self.mine.id}?access_token={token}")
        self.assertEqual(shared.status_code, 200)
        self.assertIn("Weekly 5 GB", shared.text)

    def test_a_portal_user_cannot_run_grants_or_write_over_json_rpc(self):
        self.login()
        calls = [
            ("action_run_now", [[self.mine.id]]),
            ("_cron_process_due", []),
            ("_isp_process_locked", [[self.mine.id], str(self.today)]),
            ("write", [[self.mine.id], {"price_unit": 0.0}]),
            ("action_close", [[self.mine.id]]),
        ]
        for method, args in calls:
            with self.subTest(method), self.assertRaises(Exception) as caught:
                self.make_jsonrpc_request(
                    f"/web/dataset/call_kw/isp.subscription/{method}",
                    {
                        "model": "isp.subscription",
                        "method": method,
                        "args": args,
                        "kwargs": {},
                    },
                )
            self.assertRegex(str(caught.exception), "Access|private|not allowed")
        self.mine.invalidate_recordset()
        self.assertEqual(self.mine.price_unit, 5.0)
        self.assertEqual(self.mine.state, "active")
        self.assertFalse(self.mine.grant_ids)


@tagged("post_install", "-at_install")
class TestOnlineTopUp(PortalCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        module = cls.env["ir.module.module"]._get("payment_demo")
        if module.state != "installed":
            raise unittest.SkipTest("payment_demo is not installed in this database")
        demo = cls.env.ref("payment.payment_provider_demo").sudo()
        cls.provider = demo.copy({"company_id": cls.company.id})
        cls.provider.write({"state": "test", "is_published": True})

    def _waiting(self):
        """The portal subscriber's subscription, waiting for 5.00."""
        self.run_cron(self.today)
        self.assertEqual(self.mine.state, "waiting_credit")

    def _pay(self, amount, simulated_state):
        """Top up ``amount`` through the portal page, pay with the demo
        provider in ``simulated_state``, and let Odoo post-process it."""
        page = self.get(f"/my/isp/subscriptions/{self.mine.id}/top_up?amount={amount}")
        self.assertEqual(page.status_code, 200, page.text[:500])
        tree = etree.fromstring(page.text, etree.HTMLParser())
        form = tree.xpath('//form[@id="o_payment_form"]')[0]
        method = tree.xpath(
            "//input[@name='o_payment_radio'][@data-payment-method-code='demo']"
        )[0]
        processing = self.make_jsonrpc_request(
            form.get("data-transaction-route"),
            {
                "provider_id": self.provider.id,
                "payment_method_id": int(method.get("data-payment-option-id")),
                "token_id": None,
                "amount": float(form.get("data-amount")),
                "flow": "direct",
                "tokenization_requested": False,
                "landing_route": "/evil/elsewhere",
                "is_validation": False,
                "access_token": form.get("data-access-token"),
            },
        )
        notification = {
            "reference": processing["reference"],
            "payment_details": "4242",
            "simulated_state": simulated_state,
        }
        self.make_jsonrpc_request("/payment/demo/simulate_payment", notification)
        self.make_jsonrpc_request("/payment/status/poll", {})
        self.env.invalidate_all()
        return self.env["payment.transaction"].search(
            [("reference", "=", processing["reference"])]
        ), notification

    def _payments(self):
        return self.env["account.payment"].search(
            [("partner_id", "=", self.subscriber.id)]
        )

    def test_the_page_suggests_what_is_missing(self):
        self._waiting()
        self.login()
        page = self.get(f"/my/isp/subscriptions/{self.mine.id}")
        self.assertIn(
            "Top up $ 5.00 to get your next 5 GB", page.text.replace("\xa0", " ")
        )
        form = self.get(f"/my/isp/subscriptions/{self.mine.id}/top_up")
        self.assertIn('value="5.0"', form.text)

    def test_a_paid_top_up_resumes_at_once_and_a_replay_credits_nothing_more(self):
        self._waiting()
        self.login()
        tx, notification = self._pay(5.0, "done")
        self.assertEqual(tx.state, "done")
        self.assertEqual(tx.isp_subscription_id, self.mine)
        self.assertEqual(tx.landing_route, self.mine.access_url, "not the browser's")
        self.assertEqual(len(self._payments()), 1)
        self.assertEqual(self.mine.state, "active")
        granted = self.mine.grant_ids.filtered(lambda g: g.state == "granted")
        self.assertEqual(granted.period_start, self.today)
        self.assertAlmostEqual(self.prepaid_credit(self.subscriber), 0.0)
        self.assertIn("topped up online", self.mine.message_ids[0].body)

        self.make_jsonrpc_request("/payment/demo/simulate_payment", notification)
        self.make_jsonrpc_request("/payment/status/poll", {})
        tx.sudo()._post_process()
        self.env.invalidate_all()
        self.assertEqual(len(self._payments()), 1, "never credited twice")
        self.assertEqual(
            len(self.mine.grant_ids.filtered(lambda g: g.state == "granted")), 1
        )

    def test_a_failed_or_cancelled_payment_changes_nothing(self):
        self._waiting()
        self.login()
        for state in ("error", "cancel"):
            with self.subTest(state):
                tx, _notification = self._pay(5.0, state)
                self.assertIn(tx.state, ("error", "cancel"))
                self.assertFalse(self._payments())
                self.assertEqual(self.mine.state, "waiting_credit")
                self.assertAlmostEqual(self.prepaid_credit(self.subscriber), 0.0)

    def test_absurd_amounts_are_refused_with_a_message(self):
        self.login()
        for amount in ("0", "-5", "abc", "1e12"):
            with self.subTest(amount):
                page = self.get(
                    f"/my/isp/subscriptions/{self.mine.id}/top_up?amount={amount}"
                )
                self.assertEqual(page.status_code, 200)
                self.assertNotIn('id="o_payment_form"', page.text)
        self.assertFalse(
            self.env["payment.transaction"].search(
                [("isp_subscription_id", "=", self.mine.id)]
            )
        )

    def test_the_portal_tour_tops_up_a_waiting_subscription(self):
        self._waiting()
        self.start_tour("/my", "isp_portal_top_up_tour", login="isp_portal")
        self.env.invalidate_all()
        self.assertEqual(self.mine.state, "active")
        self.assertEqual(len(self._payments()), 1)


@tagged("post_install", "-at_install")
class TestLowCreditWarning(IspCommon):
    def _warn(self, day):
        self.env["isp.subscription"]._cron_warn_low_credit(date_ref=day)
        return self.env["mail.mail"].search([("subject", "ilike", "top up")])

    def test_a_warning_goes_once_per_renewal_and_only_when_short(self):
        short = self._create_partner("Short", credit=7.0)
        covered = self._create_partner("Covered", credit=10.0)
        sub_short = self._subscribe(short, self.weekly_5gb)
        sub_covered = self._subscribe(covered, self.weekly_5gb)
        postpaid = self._create_package(
            "Postpaid", price=5.0, recurrence="weekly", mode="one_off"
        )
        self._subscribe(self._create_partner("Postpaid"), postpaid)
        self.run_cron(date(2026, 1, 5))  # credit now 2.00 and 5.00
        self.assertEqual(
            self._warn(date(2026, 1, 8)), self.env["mail.mail"], "too early"
        )
        mails = self._warn(date(2026, 1, 9))  # renewal on Jan 12, 3 days ahead
        self.assertEqual(mails.mapped("recipient_ids"), short)
        self.assertIn("3.00", mails.subject)
        self.assertEqual(sub_short.low_credit_warned_on, date(2026, 1, 12))
        self.assertFalse(sub_covered.low_credit_warned_on)
        self.assertEqual(self._warn(date(2026, 1, 10)), mails, "never twice")
