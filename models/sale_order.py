# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import _, fields, models
from odoo.exceptions import UserError


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

    def action_confirm(self):
        """Refuse, before anything is written, an order whose ISP lines
        cannot start: a draft or retired service, a quantity that is not a
        whole number of bundles, an add-on pack without a running period."""
        for line in self.order_line.filtered(
            lambda line: (
                line.product_id.isp_is_service
                and (line.product_id.isp_is_recurring or line.product_id.isp_is_addon)
                and not line.display_type
            )
        ):
            problem = line._isp_order_problem()
            if problem:
                raise UserError(problem)
        return super().action_confirm()

    def _action_confirm(self):
        """Confirming an order starts one subscription per recurring line, and
        adds each add-on pack to the customer's running subscription."""
        res = super()._action_confirm()
        self._isp_add_packs()
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

    def _isp_add_packs(self):
        for line in self.order_line.filtered(
            lambda line: (
                line.product_id.isp_is_addon
                and not line.display_type
                and not line.isp_pack_grant_id
            )
        ):
            order = line.order_id
            sub = (
                self.env["isp.subscription"]
                .sudo()
                .search(
                    [
                        (
                            "commercial_partner_id",
                            "=",
                            order.partner_id.commercial_partner_id.id,
                        ),
                        ("company_id", "=", order.company_id.id),
                        ("state", "in", ("active", "waiting_credit")),
                        ("data_limit_gb", ">", 0),
                    ],
                    order="id",
                    limit=1,
                )
            )
            if not sub:
                raise UserError(
                    _(
                        "%(pack)s adds data to a running subscription, and "
                        "%(partner)s has none with a data limit.",
                        pack=line.product_id.display_name,
                        partner=order.partner_id.display_name,
                    )
                )
            sub._isp_lock(nowait=True)
            line.isp_pack_grant_id = sub._isp_add_pack(
                line.product_id, int(line.product_uom_qty), line
            )

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
