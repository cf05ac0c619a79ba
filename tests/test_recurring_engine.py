# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from datetime import date, datetime

from freezegun import freeze_time

from odoo.tests import tagged

from .common import IspCommon


@tagged("post_install", "-at_install")
class TestCreditBasedGrants(IspCommon):
    def test_enough_credit_grants_and_pays_the_invoice_from_credit(self):
        partner = self._create_partner(credit=20.0)
        sub = self._subscribe(partner, self.weekly_5gb, start=date(2026, 1, 5))
        self.run_cron(date(2026, 1, 5))

        grant = sub.grant_ids
        self.assertEqual(len(grant), 1)
        self.assertEqual(grant.state, "granted")
        self.assertEqual(grant.data_gb, 5.0)
        self.assertEqual(grant.amount, 5.0)
        self.assertEqual(grant.credit_before, 20.0)
        self.assertEqual(
            (grant.period_start, grant.period_end),
            (date(2026, 1, 5), date(2026, 1, 11)),
        )
        invoice = grant.move_id
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(invoice.move_type, "out_invoice")
        self.assertEqual(invoice.amount_total, 5.0)
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertAlmostEqual(self.prepaid_credit(partner), 15.0)
        self.assertEqual(sub.next_date, date(2026, 1, 12))
        self.assertEqual(sub.valid_until, date(2026, 1, 11))
        self.assertEqual(sub.state, "active")
        self.assertFalse(sub.last_error)
        self.assertIn("Granted 5 GB", sub.message_ids[0].body)

    def test_insufficient_credit_skips_then_top_up_restarts_the_period(self):
        partner = self._create_partner(credit=4.99)
        sub = self._subscribe(partner, self.weekly_5gb, start=date(2026, 1, 5))
        self.run_cron(date(2026, 1, 5))

        self.assertEqual(sub.state, "waiting_credit")
        skipped = sub.grant_ids
        self.assertEqual(skipped.state, "skipped")
        self.assertEqual(skipped.reason, "insufficient_credit")
        self.assertFalse(skipped.move_id)
        self.assertFalse(
            self.env["account.move"].search(
                [("partner_id", "=", partner.id), ("move_type", "=", "out_invoice")]
            )
        )
        self.assertAlmostEqual(self.prepaid_credit(partner), 4.99)

        # Still short on the next runs: nothing more is written.
        self.run_cron(date(2026, 1, 7))
        self.assertEqual(len(sub.grant_ids), 1)

        # The payment itself resumes the subscription; the cron finds nothing.
        with freeze_time("2026-01-09 10:00:00"):
            self._top_up(partner, 10.0, date(2026, 1, 9))
        self.run_cron(date(2026, 1, 9))
        granted = sub.grant_ids.filtered(lambda g: g.state == "granted")
        self.assertEqual(len(granted), 1)
        self.assertEqual(granted.period_start, date(2026, 1, 9), "period restarts")
        self.assertEqual(granted.period_end, date(2026, 1, 15))
        self.assertEqual(sub.next_date, date(2026, 1, 16))
        self.assertEqual(sub.state, "active")
        self.assertAlmostEqual(self.prepaid_credit(partner), 9.99)

    def test_taxes_count_in_the_credit_check(self):
        tax = self.env["account.tax"].create(
            {
                "name": "VAT 15",
                "amount": 15.0,
                "amount_type": "percent",
                "type_tax_use": "sale",
                "company_id": self.company.id,
            }
        )
        product = self._create_package(
            "Taxed weekly", price=5.0, recurrence="weekly", data_gb=5.0, taxes=tax
        )
        poor = self._create_partner("Poor", credit=5.0)
        rich = self._create_partner("Rich", credit=5.75)
        sub_poor = self._subscribe(poor, product)
        sub_rich = self._subscribe(rich, product)
        self.run_cron(date(2026, 1, 5))

        self.assertEqual(sub_poor.grant_ids.reason, "insufficient_credit")
        self.assertEqual(sub_rich.grant_ids.state, "granted")
        self.assertEqual(sub_rich.grant_ids.amount, 5.75)
        self.assertEqual(sub_rich.grant_ids.move_id.amount_total, 5.75)
        self.assertAlmostEqual(self.prepaid_credit(rich), 0.0)

    def test_two_subscriptions_share_one_credit(self):
        partner = self._create_partner(credit=12.0)
        first = self._subscribe(partner, self.monthly_10gb, start=date(2026, 1, 5))
        second = self._subscribe(partner, self.monthly_10gb, start=date(2026, 1, 5))
        self.run_cron(date(2026, 1, 5))
        states = sorted((first | second).grant_ids.mapped("state"))
        self.assertEqual(states, ["granted", "skipped"])
        self.assertAlmostEqual(self.prepaid_credit(partner), 2.0)

    def test_unpaid_invoice_lowers_the_credit(self):
        partner = self._create_partner(credit=20.0)
        debt = self.init_invoice(
            "out_invoice", partner=partner, amounts=[18.0], taxes=[], post=True
        )
        self.assertAlmostEqual(self.prepaid_credit(partner), 2.0)
        sub = self._subscribe(partner, self.weekly_5gb)
        self.run_cron(date(2026, 1, 5))
        self.assertEqual(sub.grant_ids.reason, "insufficient_credit")
        self.assertEqual(debt.payment_state, "not_paid")

    def test_downtime_grants_current_period_once_and_marks_missed(self):
        partner = self._create_partner(credit=100.0)
        sub = self._subscribe(partner, self.monthly_10gb, start=date(2026, 1, 10))
        self.run_cron(date(2026, 3, 15))
        grants = sub.grant_ids.sorted("period_start")
        self.assertEqual(
            [(g.period_start, g.state, g.reason or "") for g in grants],
            [
                (date(2026, 1, 10), "skipped", "missed"),
                (date(2026, 2, 10), "skipped", "missed"),
                (date(2026, 3, 10), "granted", ""),
            ],
        )
        self.assertEqual(len(grants.move_id), 1)
        self.assertAlmostEqual(self.prepaid_credit(partner), 90.0)
        self.assertEqual(sub.next_date, date(2026, 4, 10))

    def test_monthly_anchor_on_the_31st_never_drifts(self):
        partner = self._create_partner(credit=100.0)
        sub = self._subscribe(partner, self.monthly_10gb, start=date(2026, 1, 31))
        for day in (
            date(2026, 1, 31),
            date(2026, 2, 28),
            date(2026, 3, 31),
            date(2026, 4, 30),
        ):
            self.run_cron(day)
        self.assertEqual(
            sub.grant_ids.sorted("period_start").mapped("period_start"),
            [
                date(2026, 1, 31),
                date(2026, 2, 28),
                date(2026, 3, 31),
                date(2026, 4, 30),
            ],
        )
        self.assertEqual(set(sub.grant_ids.mapped("state")), {"granted"})
        self.assertEqual(sub.next_date, date(2026, 5, 31))
        self.assertAlmostEqual(self.prepaid_credit(partner), 60.0)

    def test_cron_twice_and_run_now_grant_once(self):
        partner = self._create_partner(credit=50.0)
        sub = self._subscribe(partner, self.weekly_5gb)
        self.run_cron(date(2026, 1, 5))
        self.run_cron(date(2026, 1, 5))
        self.run_cron(date(2026, 1, 6))
        with freeze_time("2026-01-06 10:00:00"):
            sub.with_user(self.manager).action_run_now()
        self.assertEqual(len(sub.grant_ids), 1)
        self.assertEqual(len(sub.grant_ids.move_id), 1)
        self.assertAlmostEqual(self.prepaid_credit(partner), 45.0)

    def test_run_now_processes_a_due_subscription(self):
        partner = self._create_partner(credit=50.0)
        sub = self._subscribe(partner, self.weekly_5gb, start=date(2026, 1, 5))
        with freeze_time("2026-01-05 08:00:00"):
            sub.with_user(self.manager).action_run_now()
        self.assertEqual(sub.grant_ids.state, "granted")
        self.assertEqual(sub.next_date, date(2026, 1, 12))

    def test_closed_and_future_subscriptions_do_nothing(self):
        partner = self._create_partner(credit=50.0)
        closed = self._subscribe(partner, self.weekly_5gb)
        closed.action_close()
        future = self._subscribe(partner, self.weekly_5gb, start=date(2026, 2, 1))
        draft = self._subscribe(partner, self.weekly_5gb, activate=False)
        self.run_cron(date(2026, 1, 20))
        self.assertFalse((closed | future | draft).grant_ids)
        self.assertAlmostEqual(self.prepaid_credit(partner), 50.0)

    def test_today_is_the_company_timezone_date(self):
        self.company.isp_timezone = "Europe/Paris"
        partner = self._create_partner(credit=50.0)
        sub = self._subscribe(partner, self.weekly_5gb, start=date(2026, 3, 1))
        with freeze_time(datetime(2026, 2, 28, 22, 30)):
            self.run_cron(None)
        self.assertFalse(sub.grant_ids, "22:30 UTC is still Feb 28 in Paris")
        with freeze_time(datetime(2026, 2, 28, 23, 30)):
            self.run_cron(None)
        self.assertEqual(sub.grant_ids.period_start, date(2026, 3, 1))


@tagged("post_install", "-at_install")
class TestOneOffGrants(IspCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.corporate = cls._create_package(
            "Corporate",
            price=30.0,
            recurrence="monthly",
            data_gb=100.0,
            mode="one_off",
        )

    def test_one_off_grants_even_with_a_negative_balance(self):
        partner = self._create_partner("Postpaid")
        self.init_invoice(
            "out_invoice", partner=partner, amounts=[40.0], taxes=[], post=True
        )
        self.assertAlmostEqual(self.prepaid_credit(partner), -40.0)
        sub = self._subscribe(partner, self.corporate)
        self.run_cron(date(2026, 1, 5))
        self.assertEqual(sub.grant_ids.state, "granted")
        self.assertEqual(sub.grant_ids.data_gb, 100.0)
        invoice = sub.grant_ids.move_id
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(invoice.payment_state, "not_paid")
        self.assertAlmostEqual(self.prepaid_credit(partner), -70.0)

    def test_invoice_policies_none_and_draft(self):
        product = self._create_package(
            "Pre-authorized",
            price=30.0,
            recurrence="monthly",
            data_gb=50.0,
            mode="one_off",
            policy="none",
        )
        partner = self._create_partner("Preauth")
        sub_none = self._subscribe(partner, product)
        sub_draft = self._subscribe(partner, product, invoice_policy="draft")
        self.run_cron(date(2026, 1, 5))
        self.assertEqual(sub_none.grant_ids.state, "granted")
        self.assertFalse(sub_none.grant_ids.move_id)
        self.assertEqual(sub_draft.grant_ids.move_id.state, "draft")
        self.assertAlmostEqual(self.prepaid_credit(partner), 0.0)

    def test_downtime_grants_every_missed_period_in_order(self):
        partner = self._create_partner("Postpaid")
        sub = self._subscribe(partner, self.corporate, start=date(2026, 1, 10))
        self.run_cron(date(2026, 3, 15))
        grants = sub.grant_ids.sorted("period_start")
        self.assertEqual(
            grants.mapped("period_start"),
            [date(2026, 1, 10), date(2026, 2, 10), date(2026, 3, 10)],
        )
        self.assertEqual(set(grants.mapped("state")), {"granted"})
        self.assertEqual(len(grants.move_id), 3)
        self.assertAlmostEqual(self.prepaid_credit(partner), -90.0)
        self.run_cron(date(2026, 3, 20))
        self.assertEqual(len(sub.grant_ids), 3, "each period exactly once")


@tagged("post_install", "-at_install")
class TestTimeRecurring(IspCommon):
    def test_no_data_limit_renews_validity_only(self):
        product = self._create_package(
            "Unlimited", price=40.0, recurrence="monthly", data_gb=0.0
        )
        partner = self._create_partner(credit=100.0)
        sub = self._subscribe(partner, product, start=date(2026, 1, 1))
        self.run_cron(date(2026, 1, 1))
        self.assertEqual(sub.valid_until, date(2026, 1, 31))
        self.run_cron(date(2026, 2, 1))
        self.assertEqual(sub.valid_until, date(2026, 2, 28))
        self.assertEqual(sub.grant_ids.mapped("data_gb"), [0.0, 0.0])
        self.assertEqual(len(sub.grant_ids.move_id), 2)
        self.assertAlmostEqual(self.prepaid_credit(partner), 20.0)
