# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from datetime import date
from unittest.mock import patch

from psycopg2 import IntegrityError

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import IspCommon


@tagged("post_install", "-at_install")
class TestRobustness(IspCommon):
    def test_one_broken_subscriber_is_logged_and_the_batch_proceeds(self):
        partners = [self._create_partner(f"S{i}", credit=10.0) for i in range(10)]
        subs = self.env["isp.subscription"].browse(
            [self._subscribe(p, self.weekly_5gb).id for p in partners]
        )
        broken = subs[3]
        # A receivable account of the wrong type: posting would fail.
        broken.partner_id.property_account_receivable_id = self.company_data[
            "default_account_revenue"
        ]
        with mute_logger("odoo.addons.isp_data_recurring.models.isp_grant_run"):
            self.run_cron(date(2026, 1, 5))
        self.assertIn("receivable", broken.last_error)
        self.assertFalse(broken.grant_ids)
        self.assertEqual(broken.next_date, date(2026, 1, 5), "left for next run")
        self.assertIn("failed", broken.message_ids[0].body)
        others = subs - broken
        self.assertEqual(others.grant_ids.mapped("state"), ["granted"] * 9)
        self.assertEqual(len(others.grant_ids.move_id), 9)

    def test_a_failing_invoice_falls_back_to_one_by_one(self):
        partners = [self._create_partner(f"F{i}", credit=10.0) for i in range(3)]
        subs = self.env["isp.subscription"].browse(
            [self._subscribe(p, self.weekly_5gb).id for p in partners]
        )
        # Lock the period of one company's journal... simpler: a fiscal lock
        # date makes every posting fail, so all three are logged, none granted.
        self.company.sudo().fiscalyear_lock_date = date(2026, 12, 31)
        with mute_logger("odoo.addons.isp_data_recurring.models.isp_grant_run"):
            self.run_cron(date(2026, 1, 5))
        self.assertFalse(subs.grant_ids)
        self.assertTrue(all(subs.mapped("last_error")))
        self.assertFalse(
            self.env["account.move"].search(
                [
                    ("partner_id", "in", [p.id for p in partners]),
                    ("move_type", "=", "out_invoice"),
                ]
            ),
            "no invoice survives without its grant",
        )
        self.assertAlmostEqual(self.prepaid_credit(partners[0]), 10.0)

    def test_database_refuses_a_second_grant_for_a_period(self):
        partner = self._create_partner(credit=50.0)
        sub = self._subscribe(partner, self.weekly_5gb)
        self.run_cron(date(2026, 1, 5))
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            with self.env.cr.savepoint():
                self.env["isp.data.grant"].sudo().create(
                    {
                        "subscription_id": sub.id,
                        "partner_id": partner.id,
                        "company_id": self.company.id,
                        "currency_id": self.currency.id,
                        "period_start": date(2026, 1, 5),
                        "period_end": date(2026, 1, 11),
                        "state": "granted",
                    }
                )
        self.assertEqual(len(sub.grant_ids), 1)

    def test_grants_cannot_be_edited_or_deleted(self):
        partner = self._create_partner(credit=50.0)
        sub = self._subscribe(partner, self.weekly_5gb)
        self.run_cron(date(2026, 1, 5))
        grant = sub.grant_ids
        with self.assertRaisesRegex(UserError, "cannot be edited"):
            grant.sudo().write({"amount": 0.0})
        with self.assertRaisesRegex(UserError, "cannot be deleted"):
            grant.sudo().unlink()
        self.assertEqual(grant.amount, 5.0)

    def test_bad_input_is_rejected_and_nothing_is_written(self):
        other_company = self.setup_other_company()["company"]
        foreign = (
            self.env["product.template"]
            .create(
                {
                    "name": "Foreign plan",
                    "type": "service",
                    "isp_is_service": True,
                    "isp_recurrence": "monthly",
                    "company_id": other_company.id,
                    "list_price": 5.0,
                }
            )
            .product_variant_id
        )
        plain = self._create_installation()
        partner = self._create_partner("Bad input")
        cases = [
            ({"price_unit": -5.0}, "cannot be negative"),
            ({"recurrence_interval": 0}, "1 or more"),
            ({"data_limit_gb": -1.0}, "finite number of GB"),
            ({"product_id": foreign.id}, "belongs to|ncompatible companies"),
            ({"product_id": plain.id}, "not a recurring ISP service"),
            ({"date_start": date(9999, 12, 20)}, "before year 3000"),
        ]
        Subscription = self.env["isp.subscription"]
        before = Subscription.search_count([])
        for vals, message in cases:
            with (
                self.subTest(vals=vals),
                self.assertRaisesRegex((ValidationError, UserError), message),
            ):
                with self.env.cr.savepoint():
                    Subscription.create(
                        dict(
                            {
                                "partner_id": partner.id,
                                "product_id": self.weekly_5gb.id,
                                "company_id": self.company.id,
                            },
                            **vals,
                        )
                    )
        self.assertEqual(Subscription.search_count([]), before)

    def test_schedule_of_a_running_subscription_is_frozen(self):
        partner = self._create_partner(credit=50.0)
        sub = self._subscribe(partner, self.weekly_5gb)
        with self.assertRaisesRegex(UserError, "cannot change"):
            sub.write({"recurrence_interval": 2})
        with self.assertRaisesRegex(UserError, "draft subscriptions"):
            sub.unlink()


@tagged("post_install", "-at_install")
class TestSameWorldBothWays(IspCommon):
    """A subscriber's outcome never depends on an unrelated failure."""

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

    def _world(self, credit_first):
        """Issue 8's subscriber: 44.45 paid; a one-off posted package at
        47.06 and a credit-based one at 11.50, both due on the same day."""
        postpaid = self._create_package(
            "Postpaid",
            price=40.92,
            recurrence="monthly",
            mode="one_off",
            taxes=self.vat,
        )
        prepaid = self._create_package(
            "Prepaid", price=10.0, recurrence="monthly", taxes=self.vat
        )
        partner = self._create_partner("Dora", credit=44.45)
        order = (prepaid, postpaid) if credit_first else (postpaid, prepaid)
        subs = [self._subscribe(partner, product) for product in order]
        return partner, {sub.product_id.name: sub for sub in subs}

    def _state_of(self, partner, subs):
        return {
            "credit": round(self.prepaid_credit(partner), 2),
            "subs": {
                name: (
                    sub.state,
                    sorted(sub.grant_ids.mapped(lambda g: (g.state, g.reason or ""))),
                )
                for name, sub in subs.items()
            },
        }

    def _run(self, with_failure, credit_first):
        """The world run alone, or in a batch with a subscription that fails
        at posting (the batch is then replayed one subscription at a time)."""
        partner, subs = self._world(credit_first)
        if with_failure:
            broken = self._create_package("Broken", price=6.0, recurrence="monthly")
            self._subscribe(self._create_partner("Other", credit=50.0), broken)
            Move = type(self.env["account.move"])
            original_post = Move.action_post

            def refuse(moves):
                if broken in moves.invoice_line_ids.product_id:
                    raise UserError("Posting refused")  # pylint: disable=translation-required
                return original_post(moves)

            with (
                patch.object(Move, "action_post", refuse),
                mute_logger("odoo.addons.isp_data_recurring.models.isp_grant_run"),
            ):
                self.run_cron(date(2026, 1, 5))
        else:
            self.run_cron(date(2026, 1, 5))
        return self._state_of(partner, subs)

    def test_the_same_world_gives_the_same_grants_in_a_batch_and_one_by_one(self):
        for credit_first, expected in (
            (
                False,
                {
                    "credit": -2.61,
                    "subs": {
                        "Postpaid": ("active", [("granted", "")]),
                        "Prepaid": (
                            "waiting_credit",
                            [("skipped", "insufficient_credit")],
                        ),
                    },
                },
            ),
            (
                True,
                {
                    "credit": -14.11,
                    "subs": {
                        "Postpaid": ("active", [("granted", "")]),
                        "Prepaid": ("active", [("granted", "")]),
                    },
                },
            ),
        ):
            outcomes = {}
            for with_failure in (False, True):
                with (
                    self.subTest(credit_first=credit_first, failure=with_failure),
                    self.env.cr.savepoint() as savepoint,
                ):
                    outcomes[with_failure] = self._run(with_failure, credit_first)
                    savepoint.rollback()
            self.assertEqual(outcomes[False], expected)
            self.assertEqual(outcomes[True], outcomes[False], "both ways agree")


@tagged("post_install", "-at_install")
class TestFreePackages(IspCommon):
    def test_a_free_credit_based_package_is_granted_on_every_run(self):
        free = self._create_package(
            "Free 1 GB", price=0.0, recurrence="monthly", data_gb=1.0
        )
        partner = self._create_partner("Free rider")
        sub = self._subscribe(partner, free, start=date(2026, 1, 5))
        self.run_cron(date(2026, 1, 5))
        self.assertEqual(sub.grant_ids.state, "granted")
        self.assertFalse(sub.last_error)
        self.assertEqual(sub.next_date, date(2026, 2, 5))
        invoice = sub.grant_ids.move_id
        self.assertEqual((invoice.state, invoice.amount_total), ("posted", 0.0))
        self.run_cron(date(2026, 2, 5))
        self.assertEqual(sub.grant_ids.mapped("state"), ["granted", "granted"])
        self.assertEqual(sub.next_date, date(2026, 3, 5))
        self.assertAlmostEqual(self.prepaid_credit(partner), 0.0)
