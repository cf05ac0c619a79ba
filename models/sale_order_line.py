# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import _, api, fields, models


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    isp_subscription_ids = fields.One2many(
        "isp.subscription", "sale_line_id", string="ISP Subscriptions"
    )
    isp_pack_grant_id = fields.Many2one(
        "isp.data.grant",
        string="Add-on Grant",
        readonly=True,
        copy=False,
        help="The grant that added this add-on pack's data to a subscription.",
    )

    @api.depends("isp_subscription_ids", "isp_pack_grant_id")
    def _compute_qty_to_invoice(self):
        """A recurring ISP line is billed by its subscription's first grant,
        an add-on pack by its grant.

        "Create Invoice" on the order must never bill it a second time.
        """
        res = super()._compute_qty_to_invoice()
        for line in self:
            if line.isp_subscription_ids or line.isp_pack_grant_id:
                line.qty_to_invoice = 0.0
        return res

    def _isp_unit_price(self):
        """The price of one bundle, the salesperson's discount included."""
        self.ensure_one()
        return self.currency_id.round(
            self.price_unit * (1 - (self.discount or 0) / 100)
        )

    def _isp_order_problem(self):
        """Why this line of an ISP service cannot be confirmed, or None."""
        self.ensure_one()
        template = self.product_id.product_tmpl_id
        reason = template._isp_not_sellable_reason()
        if reason:
            return reason
        quantity = self.product_uom_qty
        if quantity <= 0 or quantity != int(quantity):
            return _(
                "%(service)s is sold by whole bundles: %(quantity)s is not a "
                "quantity of 1 or more (1, 2, 3, ...).",
                service=template.name,
                quantity=quantity,
            )
        return None

    def _isp_prepare_subscription_vals(self):
        self.ensure_one()
        order = self.order_id
        start = order.commitment_date or order.date_order
        return {
            "partner_id": order.partner_id.id,
            "product_id": self.product_id.id,
            "company_id": order.company_id.id,
            "currency_id": order.currency_id.id,
            "quantity": int(self.product_uom_qty),
            "price_unit": self._isp_unit_price(),
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
