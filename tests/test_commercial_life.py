# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The subscription's commercial life: quantities, currencies, the service's
lifecycle, credit notes, plan changes, add-on packs, rollover, sites."""

from datetime import date, datetime

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import IspCommon

DAY = date(2026, 1, 5)


class CommercialCommon(IspCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vat = cls.env["account.tax"].create(
            {
                "name": "VAT 15",
                "amount": 15.0,
                "type_tax_use": "sale",
                "company_id": cls.company.id,
            }
        )

    def _order(self, partner, product, quantity=1.0, pricelist=None, day=DAY):
        vals = {
            "partner_id": partner.id,
            "company_id": self.company.id,
            "commitment_date": datetime.combine(day, datetime.min.time()),
            "order_line": [
                Command.create({"product_id": product.id, "product_uom_qty": quantity})
            ],
        }
        if pricelist:
            vals["pricelist_id"] = pricelist.id
        return self.env["sale.order"].create(vals)

    def _business_counts(self):
        env = self.env(su=True)
        return {
            model: env[model].search_count([])
            for model in ("isp.subscription", "isp.data.grant", "account.move")
        }


@tagged("post_install", "-at_install")
class TestQuantitiesAndCurrencies(CommercialCommon):
    def test_an_order_of_three_bundles_grants_and_bills_three(self):
        partner = self._create_partner("Three", credit=20.0)
        order = self._order(partner, self.weekly_5gb, quantity=3)
        order.action_confirm()
        sub = order.isp_subscription_ids
        self.assertEqual((sub.quantity, sub.price_unit), (3, 5.0))
        self.run_cron(DAY)
        grant = sub.grant_ids
        self.assertEqual(grant.data_gb, 15.0)
        self.assertEqual(grant.amount, 15.0)
        line = grant.move_id.invoice_line_ids
        self.assertEqual((line.quantity, line.price_unit), (3.0, 5.0))
        self.assertIn("3 x 5 GB", line.name)
        self.assertEqual(order.invoice_status, "invoiced")
        self.assertAlmostEqual(self.prepaid_credit(partner), 5.0)

    def test_zero_negative_or_fractional_quantities_are_refused_and_change_nothing(
        self,
    ):
        partner = self._create_partner("Fractions", credit=50.0)
        for quantity in (0.0, -1.0, 2.5):
            with self.subTest(quantity):
                order = self._order(partner, self.weekly_5gb, quantity=quantity)
                before = self._business_counts()
                with self.assertRaisesRegex(UserError, "sold by whole bundles"):
                    order.action_confirm()
                self.assertEqual(self._business_counts(), before)
                self.assertEqual(order.state, "draft")

    def test_a_foreign_currency_order_of_three_with_taxes_agrees_everywhere(self):
        eur = self.setup_other_currency("EUR", rates=[("2020-01-01", 2.0)])
        pricelist = self.env["product.pricelist"].create(
            {"name": "EUR", "currency_id": eur.id, "company_id": self.company.id}
        )
        taxed = self._create_package(
            "Taxed monthly",
            price=10.0,
            recurrence="monthly",
            data_gb=5.0,
            taxes=self.vat,
        )
        partner = self._create_partner("Foreign", credit=40.0)
        order = self._order(partner, taxed, quantity=3, pricelist=pricelist)
        order.action_confirm()
        sub = order.isp_subscription_ids
        self.assertEqual(sub.currency_id, eur)
        self.assertEqual((sub.quantity, sub.price_unit), (3, 20.0), "10 at 2 EUR each")
        self.assertAlmostEqual(sub.price_total, 69.0, msg="3 x 20 + 15 %")
        self.run_cron(DAY)
        grant = sub.grant_ids
        self.assertEqual((grant.state, grant.data_gb), ("granted", 15.0))
        invoice = grant.move_id
        self.assertEqual(invoice.currency_id, eur)
        self.assertAlmostEqual(invoice.amount_total, 69.0)
        self.assertAlmostEqual(grant.amount, 69.0)
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        # 69 EUR at 2 EUR per unit of the company currency: 34.50 of credit.
        self.assertAlmostEqual(self.prepaid_credit(partner), 40.0 - 34.5)
        report = self.env["isp.data.grant"].read_group(
            [("subscription_id", "=", sub.id)], ["amount:sum"], []
        )
        self.assertAlmostEqual(report[0]["amount"], 69.0)

    def test_a_foreign_currency_period_the_converted_credit_cannot_pay_waits(self):
        eur = self.setup_other_currency("EUR", rates=[("2020-01-01", 2.0)])
        pricelist = self.env["product.pricelist"].create(
            {"name": "EUR", "currency_id": eur.id, "company_id": self.company.id}
        )
        partner = self._create_partner("Short in EUR", credit=9.99)
        order = self._order(partner, self.monthly_10gb, pricelist=pricelist)
        order.action_confirm()
        sub = order.isp_subscription_ids
        self.run_cron(DAY)
        self.assertEqual(sub.state, "waiting_credit", "20 EUR are 10.00 of credit")
        self.assertAlmostEqual(sub.credit_missing, 0.01)

    def test_a_foreign_currency_runway_warning_and_run_agree(self):
        """20 EUR a week at 2 EUR per unit: 10.00 of the company's credit per
        renewal. 25.00 pays Jan 5 and Jan 12, not Jan 19: the preview's
        runway, the low-credit warning and the runs say the same."""
        eur = self.setup_other_currency("EUR", rates=[("2020-01-01", 2.0)])
        pricelist = self.env["product.pricelist"].create(
            {"name": "EUR", "currency_id": eur.id, "company_id": self.company.id}
        )
        weekly = self._create_package(
            "Weekly in EUR", price=10.0, recurrence="weekly", data_gb=5.0
        )
        partner = self._create_partner("Runway in EUR", credit=25.0)
        order = self._order(partner, weekly, pricelist=pricelist)
        order.action_confirm()
        sub = order.isp_subscription_ids
        self.assertEqual((sub.currency_id, sub.price_unit), (eur, 20.0))
        self.run_cron(DAY)
        preview = self.env["isp.run.preview"].create(
            {"date": DAY, "company_id": self.company.id}
        )
        preview.action_compute()
        runway = preview.runway_ids.filtered(lambda r: r.partner_id == partner)
        self.assertEqual(runway.runway_date, date(2026, 1, 19))
        self.company.isp_low_credit_days = 7
        self.assertFalse(sub._isp_low_credit(DAY), "Jan 12 is paid")
        self.run_cron(date(2026, 1, 12))
        self.assertEqual(sub.state, "active")
        warned = sub._isp_low_credit(date(2026, 1, 12))
        self.assertEqual(list(warned), [sub])
        self.assertAlmostEqual(float(warned[sub]), 5.0, msg="10.00 due, 5.00 left")
        self.run_cron(date(2026, 1, 19))
        self.assertEqual(sub.state, "waiting_credit", "the runway's day")
        self.assertAlmostEqual(self.prepaid_credit(partner), 5.0)


@tagged("post_install", "-at_install")
class TestServiceLifecycle(CommercialCommon):
    def test_a_draft_service_cannot_be_sold_nor_subscribed_to(self):
        self.weekly_5gb.product_tmpl_id.isp_status = "draft"
        partner = self._create_partner("Early")
        order = self._order(partner, self.weekly_5gb)
        before = self._business_counts()
        with self.assertRaisesRegex(UserError, "Weekly 5 GB is a draft service"):
            order.action_confirm()
        with (
            self.assertRaisesRegex(ValidationError, "draft service"),
            self.env.cr.savepoint(),
        ):
            self._subscribe(partner, self.weekly_5gb)
        self.assertEqual(self._business_counts(), before)

    def test_a_retired_service_keeps_its_subscribers_and_refuses_new_ones(self):
        partner = self._create_partner("Loyal", credit=50.0)
        sub = self._subscribe(partner, self.weekly_5gb)
        self.run_cron(DAY)
        self.weekly_5gb.product_tmpl_id.isp_status = "retired"
        self.run_cron(date(2026, 1, 12))
        self.assertEqual(len(sub.grant_ids), 2, "grandfathered")
        order = self._order(self._create_partner("Late"), self.weekly_5gb)
        with self.assertRaisesRegex(UserError, "retired: it is no longer sold"):
            order.action_confirm()

    def test_close_at_period_end_closes_at_the_right_date_and_not_before(self):
        partner = self._create_partner("Closing", credit=50.0)
        sub = self._subscribe(partner, self.weekly_5gb)
        self.run_cron(DAY)
        self.weekly_5gb.product_tmpl_id.write(
            {"isp_status": "retired", "isp_retire_policy": "close"}
        )
        self.run_cron(date(2026, 1, 11))
        self.assertEqual(sub.state, "active", "its paid period runs to Jan 11")
        self.run_cron(date(2026, 1, 12))
        self.assertEqual(sub.state, "closed")
        self.assertEqual(len(sub.grant_ids), 1, "nothing more granted or charged")
        self.assertEqual(sub.valid_until, date(2026, 1, 11))
        self.assertAlmostEqual(self.prepaid_credit(partner), 45.0)
        self.assertIn("retired", sub.message_ids[0].body)


@tagged("post_install", "-at_install")
class TestCreditNotes(CommercialCommon):
    def test_a_credit_note_retries_waiting_subscriptions_at_once(self):
        partner = self._create_partner("Refunded", credit=1.0)
        sub = self._subscribe(partner, self.weekly_5gb)
        self.run_cron(DAY)
        self.assertEqual(sub.state, "waiting_credit")
        with freeze_time("2026-01-07 09:00:00"):
            self.init_invoice(
                "out_refund", partner=partner, amounts=[4.0], taxes=[], post=True
            )
        self.assertEqual(sub.state, "active", "no need to wait for the hourly run")
        granted = sub.grant_ids.filtered(lambda g: g.state == "granted")
        self.assertEqual(granted.period_start, date(2026, 1, 7))
        self.assertAlmostEqual(self.prepaid_credit(partner), 0.0)


@tagged("post_install", "-at_install")
class TestPlanChange(CommercialCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.monthly_20gb = cls._create_package(
            "Monthly 20 GB", price=31.0, recurrence="monthly", data_gb=20.0
        )
        cls.monthly_small = cls._create_package(
            "Monthly 31", price=31.0, recurrence="monthly", data_gb=5.0
        )

    def _change(self, sub, product, when="now"):
        wizard = self.env["isp.plan.change"].create(
            {"subscription_id": sub.id, "product_id": product.id, "when": when}
        )
        return wizard.action_confirm()

    def test_at_the_next_renewal_the_new_plan_takes_over(self):
        partner = self._create_partner("Renewing", credit=100.0)
        sub = self._subscribe(partner, self.weekly_5gb)
        self.run_cron(DAY)
        self._change(sub, self.monthly_10gb, when="renewal")
        self.assertEqual(sub.pending_product_id, self.monthly_10gb)
        self.assertEqual(sub.product_id, self.weekly_5gb, "not before the renewal")
        self.run_cron(date(2026, 1, 12))
        self.assertEqual(sub.product_id, self.monthly_10gb)
        new = sub.grant_ids.filtered(lambda g: g.period_start == date(2026, 1, 12))
        self.assertEqual((new.data_gb, new.period_end), (10.0, date(2026, 2, 11)))
        self.assertFalse(sub.pending_product_id)

    def test_now_in_the_middle_of_a_month_credits_the_unused_part(self):
        partner = self._create_partner("Upgrading", credit=100.0)
        sub = self._subscribe(partner, self.monthly_small, start=date(2026, 1, 1))
        self.run_cron(date(2026, 1, 1))
        old = sub.grant_ids
        with freeze_time("2026-01-17 10:00:00"):
            self._change(sub, self.monthly_20gb)
        refund = self.env["account.move"].search(
            [("partner_id", "=", partner.id), ("move_type", "=", "out_refund")]
        )
        self.assertAlmostEqual(refund.amount_total, 15.0, msg="15 of 31 days of 31.00")
        self.assertEqual(refund.state, "posted")
        granted = sub.grant_ids.filtered(lambda g: g.state == "granted")
        self.assertEqual(len(granted), 2)
        new = granted - old
        self.assertEqual(
            (new.period_start, new.period_end, new.data_gb),
            (date(2026, 1, 17), date(2026, 2, 16), 20.0),
        )
        self.assertIn("Plan change from Monthly 31", new.note)
        self.assertEqual(sub.next_date, date(2026, 2, 17))
        self.assertEqual(sub.product_id, self.monthly_20gb)
        self.assertAlmostEqual(self.prepaid_credit(partner), 100.0 - 31.0 + 15.0 - 31.0)
        self.assertIn("Plan change from Monthly 31", sub.message_ids[1].body)
        # The cron on the day of the change grants nothing more.
        self.run_cron(date(2026, 1, 17))
        self.assertEqual(len(sub.grant_ids.filtered(lambda g: g.state == "granted")), 2)

    def test_an_upgrade_the_credit_cannot_pay_is_refused_with_the_missing_amount(self):
        partner = self._create_partner("Stretched", credit=31.0)
        sub = self._subscribe(partner, self.monthly_small, start=date(2026, 1, 1))
        self.run_cron(date(2026, 1, 1))
        before = self._business_counts()
        with (
            freeze_time("2026-01-17 10:00:00"),
            self.assertRaisesRegex(UserError, r"16\.00 is missing"),
        ):
            self._change(sub, self.monthly_20gb)
        self.assertEqual(self._business_counts(), before)
        self.assertEqual(sub.product_id, self.monthly_small)

    def test_now_for_a_one_off_subscription_reduces_the_next_invoice(self):
        postpaid = self._create_package(
            "Postpaid 31", price=31.0, recurrence="monthly", data_gb=5.0, mode="one_off"
        )
        bigger = self._create_package(
            "Postpaid 62",
            price=62.0,
            recurrence="monthly",
            data_gb=20.0,
            mode="one_off",
        )
        partner = self._create_partner("Postpaid changer")
        sub = self._subscribe(partner, postpaid, start=date(2026, 1, 1))
        self.run_cron(date(2026, 1, 1))
        with freeze_time("2026-01-17 10:00:00"):
            self._change(sub, bigger)
        new = sub.grant_ids.filtered(lambda g: g.period_start == date(2026, 1, 17))
        self.assertAlmostEqual(new.move_id.amount_total, 62.0 - 15.0)
        self.assertIn(
            "Unused part", " ".join(new.move_id.invoice_line_ids.mapped("name"))
        )
        self.assertFalse(sub.unused_credit, "taken off once")


@tagged("post_install", "-at_install")
class TestAddOnPacks(CommercialCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pack = (
            cls.env["product.template"]
            .create(
                {
                    "name": "5 GB booster",
                    "type": "service",
                    "isp_is_service": True,
                    "isp_status": "active",
                    "isp_is_addon": True,
                    "isp_data_limit_gb": 5.0,
                    "list_price": 10.0,
                    "taxes_id": [Command.clear()],
                    "company_id": cls.company.id,
                }
            )
            .product_variant_id
        )

    def test_a_pack_adds_its_data_at_once_paid_from_credit(self):
        partner = self._create_partner("Booster", credit=30.0)
        today = self.env["isp.subscription"]._isp_today(self.company)
        sub = self._subscribe(partner, self.weekly_5gb, start=today)
        self.run_cron(today)
        order = self._order(partner, self.pack, quantity=2, day=today)
        order.action_confirm()
        pack = sub.grant_ids.filtered(lambda g: g.kind == "addon")
        self.assertEqual(
            (pack.data_gb, pack.amount, pack.state), (10.0, 20.0, "granted")
        )
        self.assertEqual(pack.period_end, sub.valid_until)
        self.assertIn(pack.move_id.payment_state, ("paid", "in_payment"))
        self.assertEqual(order.order_line.isp_pack_grant_id, pack)
        self.assertEqual(order.invoice_status, "invoiced")
        self.assertAlmostEqual(sub.remaining_gb, 15.0, msg="5 of the period and 10")
        self.assertAlmostEqual(self.prepaid_credit(partner), 30.0 - 5.0 - 20.0)

    def test_a_pack_without_a_running_period_or_credit_is_refused(self):
        partner = self._create_partner("No plan", credit=100.0)
        order = self._order(partner, self.pack)
        with self.assertRaisesRegex(UserError, "has none with a data limit"):
            order.action_confirm()
        poor = self._create_partner("Poor booster", credit=6.0)
        today = self.env["isp.subscription"]._isp_today(self.company)
        self._subscribe(poor, self.weekly_5gb, start=today)
        self.run_cron(today)
        order = self._order(poor, self.pack, day=today)
        before = self._business_counts()
        with self.assertRaisesRegex(UserError, "9.00 is missing"):
            order.action_confirm()
        self.assertEqual(self._business_counts(), before)


@tagged("post_install", "-at_install")
class TestRolloverAndSites(CommercialCommon):
    def test_unused_data_rolls_over_capped_when_usage_is_known(self):
        server = self.env["isp.radius.server"].create(
            {
                "name": "Usage source",
                "dsn": "dbname=none",
                "company_id": self.company.id,
            }
        )
        template = self.weekly_5gb.product_tmpl_id
        template.write({"isp_rollover": True, "isp_rollover_max_gb": 4.0})
        partner = self._create_partner("Saver", credit=50.0)
        sub = self._subscribe(partner, self.weekly_5gb)
        self.assertEqual(sub.radius_server_id, server)
        self.assertFalse(sub.rollover_note)
        self.run_cron(DAY)
        first = sub.grant_ids
        self.env.cr.execute(
            "UPDATE isp_data_grant SET used_gb = 0.5 WHERE id = %s", [first.id]
        )
        first.invalidate_recordset()
        self.run_cron(date(2026, 1, 12))
        second = sub.grant_ids - first
        self.assertEqual(second.rollover_gb, 4.0, "4.5 unused, 4 at most")
        self.assertEqual(second.rollover_chunks, [[0, 4.0]])

    def test_without_usage_rollover_is_off_and_the_form_says_why(self):
        self.monthly_10gb.product_tmpl_id.isp_rollover = True
        sub = self._subscribe(
            self._create_partner("Blind", credit=50.0), self.monthly_10gb
        )
        self.assertIn("needs the usage", sub.rollover_note)
        self.run_cron(DAY)
        self.assertFalse(sub.grant_ids.rollover_gb)

    def test_a_sites_analytic_account_carries_its_revenue(self):
        plan = self.env["account.analytic.plan"].create({"name": "Sites"})
        tower = self.env["account.analytic.account"].create(
            {"name": "Tower 7", "plan_id": plan.id, "company_id": self.company.id}
        )
        self.site.analytic_account_id = tower
        partner = self._create_partner("Tower user", credit=50.0)
        sub = self._subscribe(partner, self.weekly_5gb)
        self.run_cron(DAY)
        line = sub.grant_ids.move_id.invoice_line_ids
        self.assertEqual(line.analytic_distribution, {str(tower.id): 100})
        self.assertAlmostEqual(
            sum(
                self.env["account.analytic.line"]
                .search([("auto_account_id", "=", tower.id)])
                .mapped("amount")
            ),
            5.0,
        )
