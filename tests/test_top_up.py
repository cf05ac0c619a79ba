# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from datetime import date

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged

from isp_devtools.fixtures import REMIND_CRON, run_cron

from .common import IspCommon


@tagged("post_install", "-at_install")
class TestTopUp(IspCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        user_vals = {
            "company_id": cls.company.id,
            "company_ids": [Command.set(cls.company.ids)],
        }
        cls.billing = new_test_user(
            cls.env,
            login="isp_topup_billing",
            groups="base.group_user,account.group_account_invoice",
            **user_vals,
        )
        cls.auditor = new_test_user(
            cls.env,
            login="isp_topup_auditor",
            groups="base.group_user,account.group_account_readonly",
            **user_vals,
        )
        cls.isp_reader = new_test_user(
            cls.env,
            login="isp_topup_reader",
            groups="base.group_user,isp_data_recurring.group_isp_user",
            **user_vals,
        )

    def _wizard(self, partner, amount, user=None, **vals):
        return (
            self.env["isp.credit.top.up"]
            .with_user(user or self.billing)
            .create(
                dict(
                    {
                        "partner_id": partner.id,
                        "amount": amount,
                        "journal_id": self.bank_journal.id,
                        "company_id": self.company.id,
                    },
                    **vals,
                )
            )
        )

    def _payments(self, partner):
        return self.env["account.payment"].search(
            [("partner_id", "=", partner.commercial_partner_id.id)]
        )

    def _waiting_subscription(self, credit=4.99):
        """A weekly 5.00 subscription, waiting for credit since 2026-01-05."""
        partner = self._create_partner("Waiting", credit=credit)
        sub = self._subscribe(partner, self.weekly_5gb, start=date(2026, 1, 5))
        self.run_cron(date(2026, 1, 5))
        self.assertEqual(sub.state, "waiting_credit")
        self.assertEqual(sub.waiting_since, date(2026, 1, 5))
        return partner, sub

    # -- the wizard ---------------------------------------------------------
    def test_wizard_rejects_zero_negative_and_absurd_amounts_and_creates_nothing(self):
        partner = self._create_partner("Typo")
        cases = [
            (0.0, "more than zero"),
            (-5.0, "more than zero"),
            (0.001, "more than zero"),
            (10**12, "check the amount"),
        ]
        for amount, message in cases:
            with self.subTest(amount=amount):
                with self.assertRaises(ValidationError) as caught:
                    self._wizard(partner, amount).action_confirm()
                self.assertIn(message, str(caught.exception))
        self.assertFalse(self._payments(partner))
        self.assertFalse(
            self.env["isp.credit.top.up"].search([("partner_id", "=", partner.id)])
        )
        self.assertAlmostEqual(self.prepaid_credit(partner), 0.0)

    def test_valid_top_up_posts_a_payment_for_the_company_and_raises_the_credit(self):
        company = self.env["res.partner"].create({"name": "Acme", "is_company": True})
        contact = self.env["res.partner"].create(
            {"name": "Acme contact", "parent_id": company.id}
        )
        with freeze_time("2026-01-09 10:00:00"):
            action = self._wizard(contact, 25.0).action_confirm()
        payment = self._payments(company)
        self.assertEqual(len(payment), 1)
        self.assertEqual(payment.partner_id, company, "paid by the commercial partner")
        self.assertEqual(
            (payment.payment_type, payment.partner_type), ("inbound", "customer")
        )
        self.assertEqual(payment.amount, 25.0)
        self.assertEqual(payment.date, date(2026, 1, 9))
        self.assertIn(payment.state, ("in_process", "paid"))
        self.assertEqual(payment.move_id.state, "posted")
        self.assertAlmostEqual(self.prepaid_credit(company), 25.0)
        self.assertAlmostEqual(contact.with_user(self.billing).isp_prepaid_credit, 25.0)
        self.assertEqual(action["tag"], "display_notification")
        self.assertIn(payment.name, action["params"]["message"])

    def test_top_up_grants_a_waiting_subscription_at_once_and_restarts_the_period(self):
        partner, sub = self._waiting_subscription(credit=4.99)
        with freeze_time("2026-01-09 10:00:00"):
            action = sub.with_user(self.billing).action_open_top_up()
            self.assertEqual(
                action["context"]["default_amount"], 0.01, "what is missing"
            )
            wizard = (
                self.env["isp.credit.top.up"]
                .with_user(self.billing)
                .with_context(**action["context"])
                .create({"amount": 10.0})
            )
            self.assertEqual(wizard.partner_id, partner)
            self.assertEqual(wizard.journal_id.type, "bank")
            self.assertEqual(wizard.date, date(2026, 1, 9))
            result = wizard.action_confirm()

        # No cron run: the payment itself resumed the subscription.
        self.assertEqual(sub.state, "active")
        self.assertFalse(sub.waiting_since)
        granted = sub.grant_ids.filtered(lambda g: g.state == "granted")
        self.assertEqual(len(granted), 1)
        self.assertEqual(
            (granted.period_start, granted.period_end),
            (date(2026, 1, 9), date(2026, 1, 15)),
            "the period restarts on the day of the top-up",
        )
        self.assertEqual(sub.next_date, date(2026, 1, 16))
        self.assertEqual(granted.move_id.amount_total, 5.0)
        self.assertIn(granted.move_id.payment_state, ("paid", "in_payment"))
        self.assertAlmostEqual(self.prepaid_credit(partner), 9.99)
        self.assertIn(sub.name, result["params"]["message"])
        self.assertEqual(result["params"]["type"], "success")
        self.assertTrue(
            any("topped up by" in (m.body or "") for m in sub.message_ids),
            "the top-up is noted on the subscription",
        )

    def test_too_small_top_up_keeps_the_subscription_waiting_and_says_so(self):
        partner, sub = self._waiting_subscription(credit=1.0)
        with freeze_time("2026-01-09 10:00:00"):
            result = self._wizard(partner, 2.0, subscription_id=sub.id).action_confirm()
        self.assertEqual(sub.state, "waiting_credit")
        self.assertEqual(len(sub.grant_ids), 1, "only the first skip")
        self.assertAlmostEqual(self.prepaid_credit(partner), 3.0)
        self.assertEqual(result["params"]["type"], "warning")
        self.assertIn("Still waiting", result["params"]["message"])

    def test_plain_inbound_payment_posted_in_accounting_resumes_at_once(self):
        partner, sub = self._waiting_subscription(credit=4.99)
        with freeze_time("2026-01-09 10:00:00"):
            self._top_up(partner, 10.0, date(2026, 1, 9))
        self.assertEqual(sub.state, "active")
        self.assertEqual(
            sub.grant_ids.filtered(lambda g: g.state == "granted").period_start,
            date(2026, 1, 9),
        )
        self.assertAlmostEqual(self.prepaid_credit(partner), 9.99)

    def test_payment_registered_on_an_invoice_resumes_and_pays_that_invoice_first(self):
        partner, sub = self._waiting_subscription(credit=4.99)
        debt = self.init_invoice(
            "out_invoice", partner=partner, amounts=[10.0], taxes=[], post=True
        )
        self.assertAlmostEqual(self.prepaid_credit(partner), -5.01)
        with freeze_time("2026-01-09 10:00:00"):
            self.env["account.payment.register"].with_context(
                active_model="account.move", active_ids=debt.ids
            ).create(
                {
                    "amount": 20.01,
                    "payment_date": date(2026, 1, 9),
                    "journal_id": self.bank_journal.id,
                    "payment_difference_handling": "open",
                }
            ).action_create_payments()

        self.assertIn(
            debt.payment_state,
            ("paid", "in_payment"),
            "the registered payment pays its invoice in full",
        )
        self.assertEqual(sub.state, "active")
        granted = sub.grant_ids.filtered(lambda g: g.state == "granted")
        self.assertEqual(granted.period_start, date(2026, 1, 9))
        # The wizard's context (skip_invoice_sync) must not reach the grant's
        # invoice: it is a real 5.00 invoice, paid from the credit.
        self.assertEqual(granted.move_id.amount_total, 5.0)
        self.assertIn(granted.move_id.payment_state, ("paid", "in_payment"))
        self.assertAlmostEqual(self.prepaid_credit(partner), 10.0)

    def test_outbound_payment_does_not_resume(self):
        partner, sub = self._waiting_subscription(credit=4.99)
        with freeze_time("2026-01-09 10:00:00"):
            refund = self.env["account.payment"].create(
                {
                    "payment_type": "outbound",
                    "partner_type": "customer",
                    "partner_id": partner.id,
                    "amount": 1.0,
                    "journal_id": self.bank_journal.id,
                }
            )
            refund.action_post()
        self.assertEqual(sub.state, "waiting_credit")
        self.assertEqual(len(sub.grant_ids), 1)

    # -- rights ---------------------------------------------------------------
    def test_user_without_billing_rights_cannot_top_up(self):
        partner, sub = self._waiting_subscription()
        with self.assertRaises(AccessError):
            sub.with_user(self.manager).action_open_top_up()
        with self.assertRaises(AccessError):
            partner.with_user(self.manager).action_open_isp_top_up()
        with self.assertRaises(AccessError):
            self._wizard(partner, 10.0, user=self.manager).action_confirm()
        self.assertEqual(len(self._payments(partner)), 1, "only the initial credit")
        self.assertEqual(sub.state, "waiting_credit")

    def test_prepaid_credit_is_hidden_from_users_without_accounting_rights(self):
        partner = self._create_partner("Secret", credit=20.0)
        as_reader = partner.with_user(self.isp_reader)
        self.assertNotIn("isp_prepaid_credit", as_reader.fields_get())
        with self.assertRaises(AccessError):
            as_reader.read(["isp_prepaid_credit"])
        self.assertEqual(as_reader.read(["name"])[0]["name"], "Secret")
        self.assertAlmostEqual(
            partner.with_user(self.billing).read(["isp_prepaid_credit"])[0][
                "isp_prepaid_credit"
            ],
            20.0,
        )
        self.assertAlmostEqual(partner.with_user(self.auditor).isp_prepaid_credit, 20.0)

    def test_partner_counts_and_opens_its_subscriptions(self):
        company = self.env["res.partner"].create({"name": "Beta", "is_company": True})
        contact = self.env["res.partner"].create(
            {"name": "Beta contact", "parent_id": company.id}
        )
        subs = self._subscribe(company, self.weekly_5gb) | self._subscribe(
            contact, self.monthly_10gb
        )
        self._subscribe(self._create_partner("Other"), self.weekly_5gb)
        self.assertEqual(company.with_user(self.isp_reader).isp_subscription_count, 2)
        self.assertEqual(contact.with_user(self.isp_reader).isp_subscription_count, 2)
        action = company.with_user(self.isp_reader).action_view_isp_subscriptions()
        self.assertEqual(self.env["isp.subscription"].search(action["domain"]), subs)

    # -- the waiting-for-credit reminder ---------------------------------------
    def _reminders(self, sub):
        todo = self.env.ref("mail.mail_activity_data_todo")
        return sub.activity_ids.filtered(lambda a: a.activity_type_id == todo)

    def remind(self, day):
        return run_cron(self.env, REMIND_CRON, date_ref=day)

    def test_reminder_comes_after_the_delay_not_before_and_only_once(self):
        self.assertEqual(self.company.isp_waiting_activity_days, 7)
        _partner, sub = self._waiting_subscription(credit=4.99)
        sub.user_id = self.billing
        self.remind(date(2026, 1, 11))
        self.assertFalse(self._reminders(sub), "6 days is not enough")

        self.remind(date(2026, 1, 12))
        reminder = self._reminders(sub)
        self.assertEqual(len(reminder), 1)
        self.assertEqual(reminder.user_id, self.billing)
        self.assertEqual(reminder.date_deadline, date(2026, 1, 12))
        self.assertIn("7 days", reminder.summary)
        self.assertIn("0.01", reminder.summary, "the missing amount")

        self.remind(date(2026, 1, 13))
        self.assertEqual(self._reminders(sub), reminder)
        reminder.action_feedback(feedback="Called the subscriber")
        self.remind(date(2026, 1, 20))
        self.assertFalse(self._reminders(sub), "once per wait, even when done")

    def test_reminder_goes_to_an_accountant_when_nobody_is_responsible(self):
        self.company.isp_waiting_activity_days = 3
        _partner, sub = self._waiting_subscription(credit=0.0)
        sub.user_id = False
        self.remind(date(2026, 1, 7))
        self.assertFalse(self._reminders(sub))
        self.remind(date(2026, 1, 8))
        reminder = self._reminders(sub)
        self.assertEqual(len(reminder), 1)
        self.assertTrue(reminder.user_id.has_group("account.group_account_invoice"))
        self.assertIn("3 days", reminder.summary)
        self.assertIn("5.00", reminder.summary)

    def test_zero_days_turns_the_reminder_off(self):
        self.company.isp_waiting_activity_days = 0
        _partner, sub = self._waiting_subscription()
        self.remind(date(2026, 3, 1))
        self.assertFalse(self._reminders(sub))

    def test_top_up_marks_the_open_reminder_done(self):
        partner, sub = self._waiting_subscription(credit=4.99)
        self.remind(date(2026, 1, 12))
        self.assertEqual(len(self._reminders(sub)), 1)
        with freeze_time("2026-01-12 10:00:00"):
            self._wizard(partner, 10.0).action_confirm()
        self.assertEqual(sub.state, "active")
        self.assertFalse(self._reminders(sub))
