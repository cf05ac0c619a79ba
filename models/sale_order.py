# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import fields, models


class SaleOrder(models.Model):
    _inherit = "sale.order"

    isp_subscription_ids = fields.One2many(
        "isp.subscription", "sale_order_id", string="ISP Subscriptions"
    )
    isp_subscription_count = fields.Integer(
        string="Subscriptions", compute="_compute_isp_subscription_count"
    )

    def _compute_isp_subscription_count(self):
        for order in self:
            order.isp_subscription_count = len(order.isp_subscription_ids)

    def _action_confirm(self):
        """Confirming an order starts one subscription per recurring line."""
        res = super()._action_confirm()
        lines = self.order_line.filtered(
            lambda line: (
                line.product_id.isp_is_recurring
                and not line.display_type
                and not line.isp_subscription_ids
            )
        )
        if lines:
            vals_list = [
                line.with_company(line.company_id)._isp_prepare_subscription_vals()
                for line in lines
            ]
            # Salespeople sell packages without ISP rights: the subscription is
            # created for them, in the order's company.
            subscriptions = self.env["isp.subscription"].sudo().create(vals_list)
            subscriptions.action_activate()
        return res

    def _action_cancel(self):
        """Cancelling the order stops future grants; past ones stay."""
        res = super()._action_cancel()
        running = self.sudo().isp_subscription_ids.filtered(
            lambda sub: sub.state != "closed"
        )
        running.action_close()
        return res

    def action_view_isp_subscriptions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "isp_data_recurring.isp_subscription_action"
        )
        subscriptions = self.isp_subscription_ids
        if len(subscriptions) == 1:
            action["views"] = [(False, "form")]
            action["res_id"] = subscriptions.id
        else:
            action["domain"] = [("id", "in", subscriptions.ids)]
        action["context"] = {}
        return action
