# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import _, api, fields, models
from odoo.exceptions import AccessError


class ResPartner(models.Model):
    _inherit = "res.partner"

    isp_prepaid_credit = fields.Monetary(
        string="Prepaid Credit",
        compute="_compute_isp_prepaid_credit",
        groups="account.group_account_invoice,account.group_account_readonly",
        help="Customer payments received in advance minus unpaid invoices, in "
        "the current company: what credit-based ISP grants are paid from.",
    )
    isp_subscription_count = fields.Integer(
        string="ISP Subscriptions",
        compute="_compute_isp_subscription_count",
        groups="isp_data_recurring.group_isp_user",
    )

    @api.depends_context("company")
    def _compute_isp_prepaid_credit(self):
        for partner in self:
            partner.isp_prepaid_credit = -(partner.commercial_partner_id.credit or 0.0)

    def _compute_isp_subscription_count(self):
        commercial = self.commercial_partner_id
        groups = self.env["isp.subscription"]._read_group(
            [("commercial_partner_id", "in", commercial.ids)],
            ["commercial_partner_id"],
            ["__count"],
        )
        counts = {partner.id: count for partner, count in groups}
        for partner in self:
            partner.isp_subscription_count = counts.get(
                partner.commercial_partner_id.id, 0
            )

    def action_view_isp_subscriptions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "isp_data_recurring.isp_subscription_action"
        )
        action["domain"] = [
            ("commercial_partner_id", "=", self.commercial_partner_id.id)
        ]
        action["context"] = {"default_partner_id": self.commercial_partner_id.id}
        return action

    def action_open_isp_top_up(self):
        self.ensure_one()
        if not self.env.user.has_group("account.group_account_invoice"):
            raise AccessError(
                _(
                    "Only users with Accounting billing rights can top up "
                    "prepaid credit. Ask an accountant to record the payment."
                )
            )
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "isp_data_recurring.isp_credit_top_up_action"
        )
        action["context"] = {
            "default_partner_id": self.commercial_partner_id.id,
            "default_company_id": self.env.company.id,
        }
        return action
