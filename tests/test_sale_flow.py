# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from datetime import date, datetime

from odoo import Command
from odoo.tests import tagged

from .common import IspCommon


@tagged("post_install", "-at_install")
class TestSaleFlow(IspCommon):
    def _order(self, partner, product, price=None, discount=0.0, commitment=None):
        line = {"product_id": product.id, "product_uom_qty": 1.0, "discount": discount}
        if price is not None:
            line["price_unit"] = price
        return self.env["sale.order"].create(
            {
                "partner_id": partner.id,
                "company_id": self.company.id,
                "commitment_date": commitment,
                "order_line": [Command.create(line)],
            }
        )

    def test_confirming_an_order_starts_a_subscription_billed_once(self):
        partner = self._create_partner(credit=50.0)
        order = self._order(
            partner,
            self.weekly_5gb,
            price=10.0,
            discount=20.0,
            commitment=datetime(2026, 1, 5, 9, 0),
        )
        order.action_confirm()
        sub = order.isp_subscription_ids
        self.assertEqual(len(sub), 1)
        self.assertEqual(sub.state, "active")
        self.assertEqual(sub.date_start, date(2026, 1, 5))
        self.assertEqual(sub.price_unit, 8.0, "the salesperson's discount counts")
        self.assertEqual(sub.sale_line_id, order.order_line)
        self.assertEqual(order.isp_subscription_count, 1)
        self.assertEqual(order.order_line.qty_to_invoice, 0.0)

        self.run_cron(date(2026, 1, 5))
        invoice = sub.grant_ids.move_id
        self.assertEqual(invoice.amount_total, 8.0)
        self.assertEqual(invoice.invoice_line_ids.sale_line_ids, order.order_line)
        self.assertEqual(order.invoice_status, "invoiced")
        self.assertAlmostEqual(self.prepaid_credit(partner), 42.0)
        # "Create Invoice" finds nothing more to bill.
        self.assertFalse(order._get_invoiceable_lines())

        self.run_cron(date(2026, 1, 12))
        second = sub.grant_ids.filtered(lambda g: g.period_start == date(2026, 1, 12))
        self.assertFalse(second.move_id.invoice_line_ids.sale_line_ids)
        self.assertEqual(order.order_line.qty_invoiced, 1.0)

    def test_cancelling_the_order_stops_future_grants(self):
        partner = self._create_partner(credit=50.0)
        order = self._order(partner, self.weekly_5gb, commitment=datetime(2026, 1, 5))
        order.action_confirm()
        sub = order.isp_subscription_ids
        self.run_cron(date(2026, 1, 5))
        order._action_cancel()
        self.assertEqual(sub.state, "closed")
        self.run_cron(date(2026, 1, 12))
        self.assertEqual(len(sub.grant_ids), 1, "past grant stays, no new one")
        self.assertEqual(sub.grant_ids.move_id.state, "posted")

    def test_non_recurring_lines_start_no_subscription(self):
        installation = self._create_installation()
        order = self._order(self._create_partner(), installation)
        order.action_confirm()
        self.assertFalse(order.isp_subscription_ids)
        self.assertEqual(order.order_line.qty_to_invoice, 1.0)
