# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Dunning of postpaid subscribers: grace days, no-suspension days, the
reconnection fee, an accountant's hold, and the network told through the
outbox (a real freeradius)."""

from datetime import date

from freezegun import freeze_time
from pyrad import packet

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .radius_common import RadiusCase

# Monday: the invoice of the period is due that day.
DUE = date(2026, 11, 30)


@tagged("post_install", "-at_install", "isp_radius")
class TestDunning(RadiusCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.isp_timezone = "UTC"
        cls.fee = (
            cls.env["product.template"]
            .create(
                {
                    "name": "Reconnection fee",
                    "type": "service",
                    "list_price": 10.0,
                    "taxes_id": [(6, 0, [])],
                    "company_id": cls.company.id,
                }
            )
            .product_variant_id
        )
        cls.postpaid = cls._create_package(
            "Postpaid 20 GB",
            price=20.0,
            recurrence="monthly",
            data_gb=20.0,
            mode="one_off",
        )
        # Due Monday + 4 grace days: Saturday, the weekend waits until
        # Monday, a holiday: suspended on Tuesday, December 8.
        cls.postpaid.product_tmpl_id.write(
            {
                "isp_grace_days": 4,
                "isp_no_suspend_days": "sat, sun",
                "isp_reconnection_product_id": cls.fee.id,
            }
        )
        cls.env["isp.holiday"].create(
            {
                "name": "Public holiday",
                "date": date(2026, 12, 7),
                "company_id": cls.company.id,
            }
        )

    def _postpaid(self):
        partner = self._create_partner("Late Payer")
        sub = self._subscribe(partner, self.postpaid, start=DUE)
        with freeze_time(DUE):
            self.run_cron(DUE)
        self.deliver()
        invoice = sub.grant_ids.move_id
        self.assertEqual((invoice.state, invoice.invoice_date_due), ("posted", DUE))
        return sub, invoice

    def dun(self, day):
        with freeze_time(day):
            return self.env["isp.subscription"]._cron_dunning()

    def pay(self, moves, amount=None):
        wizard = (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=moves.ids)
            .create({"amount": amount} if amount else {})
        )
        wizard.action_create_payments()

    def test_suspended_after_grace_and_the_days_off_then_restored_once_all_paid(self):
        sub, invoice = self._postpaid()
        user, password = sub.network_username, sub.network_password
        self.accounting("Start", "p1", user)
        self.assertTrue(self.radtest(user, password)[0])
        for day in (
            date(2026, 12, 4),
            date(2026, 12, 5),
            date(2026, 12, 6),
            date(2026, 12, 7),
        ):
            self.assertFalse(self.dun(day), day)
        self.assertFalse(sub.suspended)

        self.assertEqual(self.dun(date(2026, 12, 8)), sub)
        self.assertTrue(sub.suspended)
        fee = sub.reconnection_move_id
        self.assertEqual((fee.state, fee.amount_total), ("posted", 10.0))
        self.assertIn("Suspended", sub.message_ids[0].body)
        self.deliver()
        self.assertFalse(self.radtest(user, password)[0], "no access while suspended")
        self.assertEqual(self.listener.received[-1][0], packet.DisconnectRequest)
        self.assertFalse(self.dun(date(2026, 12, 9)), "suspended once")

        # The overdue invoice alone, or part of everything, is not enough.
        self.pay(invoice)
        self.assertTrue(sub.suspended)
        self.pay(fee, amount=4.0)
        self.assertTrue(sub.suspended)
        self.pay(fee)
        self.assertFalse(sub.suspended, "restored at the payment, not the next day")
        self.assertFalse(sub.reconnection_move_id)
        self.deliver()
        self.assertTrue(self.radtest(user, password)[0])

    def test_an_accountants_hold_is_in_the_chatter_and_lets_the_subscriber_back(self):
        sub, _invoice = self._postpaid()
        self.dun(date(2026, 12, 8))
        self.assertTrue(sub.suspended)
        accountant = self.env.user
        with freeze_time(date(2026, 12, 8)):
            hold = self.env["isp.dunning.hold"].create(
                {
                    "subscription_id": sub.id,
                    "hold_until": date(2026, 12, 15),
                    "reason": "Promised to pay on Friday",
                }
            )
            hold.action_hold()
        self.assertFalse(sub.suspended)
        messages = sub.message_ids.mapped("body")
        self.assertTrue(
            any(
                "Promised to pay on Friday" in m and accountant.name in m
                for m in messages
            )
        )
        self.deliver()
        self.assertTrue(self.radtest(sub.network_username, sub.network_password)[0])
        self.assertFalse(self.dun(date(2026, 12, 15)), "held through its last day")
        self.assertEqual(self.dun(date(2026, 12, 16)), sub, "then dunned again")

    def test_nonsense_days_off_are_refused_and_nothing_changes(self):
        template = self.postpaid.product_tmpl_id
        with self.assertRaises(ValidationError) as caught:
            template.isp_no_suspend_days = "sat, funday"
        self.assertIn("not a weekday", str(caught.exception))
        template.invalidate_recordset()
        self.assertEqual(template.isp_no_suspend_days, "sat, sun")
