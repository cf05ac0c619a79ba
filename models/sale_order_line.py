# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import _, api, fields, models


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

    @api.onchange("product_id")
    def _onchange_isp_service_status(self):
        """Warn when selling a service that is not in service yet, or any more."""
        template = self.product_id.product_tmpl_id
        if template.isp_is_service and template.isp_status != "active":
            status = dict(
                template._fields["isp_status"]._description_selection(self.env)
            )[template.isp_status]
            return {
                "warning": {
                    "title": _("Service not active"),
                    "message": _(
                        "%(service)s is %(status)s in the services inventory: "
                        "check with its responsible before selling it.",
                        service=template.display_name,
                        status=status.lower(),
                    ),
                }
            }
