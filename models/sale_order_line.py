# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import api, fields, models


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    isp_subscription_ids = fields.One2many(
        "isp.subscription", "sale_line_id", string="ISP Subscriptions"
    )

    @api.depends("isp_subscription_ids")
    def _compute_qty_to_invoice(self):
        """A recurring ISP line is billed by its subscription's first grant.

        "Create Invoice" on the order must never bill it a second time.
        """
        res = super()._compute_qty_to_invoice()
        for line in self:
            if line.isp_subscription_ids:
                line.qty_to_invoice = 0.0
        return res

    def _isp_prepare_subscription_vals(self):
        self.ensure_one()
        order = self.order_id
        start = order.commitment_date or order.date_order
        return {
            "partner_id": order.partner_id.id,
            "product_id": self.product_id.id,
            "company_id": order.company_id.id,
            "price_unit": self.price_subtotal,
            "date_start": fields.Date.context_today(self, start),
            "sale_line_id": self.id,
        }
