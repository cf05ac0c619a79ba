# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import api, fields, models

from ..core import engine


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
        return self._isp_top_up_action()

    def _isp_top_up_action(self, subscription=None):
        """The top-up wizard for this subscriber, its amount what resumes the
        subscription (or every subscription of theirs waiting for credit)."""
        self.ensure_one()
        Subscription = self.env["isp.subscription"]
        Subscription._isp_check_can_top_up()
        partner = self.commercial_partner_id
        company = subscription.company_id if subscription else self.env.company
        waiting = subscription or Subscription.search(
            [
                ("commercial_partner_id", "=", partner.id),
                ("company_id", "=", company.id),
                ("state", "=", engine.WAITING),
            ]
        )
        waiting = waiting.filtered(lambda sub: sub.state == engine.WAITING)
        context = {
            "default_partner_id": partner.id,
            "default_company_id": company.id,
        }
        if subscription or len(waiting) == 1:
            context["default_subscription_id"] = (subscription or waiting).id
        missing = waiting._isp_missing_credit_together(company)
        if missing:
            context["default_amount"] = float(missing)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "isp_data_recurring.isp_credit_top_up_action"
        )
        action["context"] = context
        return action
