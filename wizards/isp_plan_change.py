# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Change a subscriber's plan: at the next renewal, or now with proration.

At the next renewal (the default), the new package takes over when the next
period starts: the run that grants it switches first. Now: the unused part of
the current period (``core.proration``) is credited back with a credit note
(credit-based) or taken off the next invoice (one-off), and the new plan's
first period starts today, granted at once through the grant pipeline. An
upgrade the credit cannot pay, even with what is credited back, is refused
with the missing amount, before anything is written.
"""

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_date

from ..core import engine
from ..models.isp_terms import notification

TERM_FIELDS = (
    "recurring_mode",
    "invoice_policy",
    "recurrence",
    "recurrence_interval",
    "data_limit_gb",
)


class IspPlanChange(models.TransientModel):
    _name = "isp.plan.change"
    _description = "Change an ISP Subscription's Plan"

    subscription_id = fields.Many2one("isp.subscription", required=True, readonly=True)
    company_id = fields.Many2one(related="subscription_id.company_id")
    product_id = fields.Many2one(
        "product.product",
        string="New Package",
        required=True,
        domain="[('isp_is_recurring', '=', True), ('isp_status', '=', 'active'), "
        "('company_id', 'in', [company_id, False])]",
    )
    when = fields.Selection(
        [("renewal", "At the next renewal"), ("now", "Now, with proration")],
        required=True,
        default="renewal",
    )
    reason = fields.Char(help="Why the plan changes: it goes in the chatter.")

    @api.model
    def _isp_open(self, subscription):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "view_mode": "form",
            "target": "new",
            "context": {"default_subscription_id": subscription.id},
        }

    def action_confirm(self):
        self.ensure_one()
        sub = self.subscription_id
        sub._isp_check_manager()
        if sub.state not in (engine.ACTIVE, engine.WAITING):
            raise UserError(_("Only a running subscription changes plan."))
        if self.product_id == sub.product_id:
            raise UserError(_("%(sub)s already has this package.", sub=sub.name))
        reason = self.product_id.product_tmpl_id._isp_not_sellable_reason()
        if reason:
            raise UserError(reason)
        sub._isp_lock(nowait=True)
        sub = sub.sudo().with_company(sub.company_id)
        if self.when == "renewal":
            sub.pending_product_id = self.product_id
            sub._message_log(body=self._isp_note(sub, _("at the next renewal")))
            return notification(
                _("Plan change"),
                _(
                    "%(sub)s switches to %(package)s on %(date)s.",
                    sub=sub.name,
                    package=self.product_id.display_name,
                    date=format_date(self.env, sub.next_date),
                ),
            )
        return self._isp_change_now(sub)

    def _isp_note(self, sub, when, detail=""):
        return _(
            "Plan change from %(old)s to %(new)s, %(when)s%(reason)s.%(detail)s",
            old=sub.product_id.display_name,
            new=self.product_id.display_name,
            when=when,
            reason=f" ({self.reason})" if self.reason else "",
            detail=f" {detail}" if detail else "",
        )

    def _isp_change_now(self, sub):
        detail = sub._isp_change_plan_now(
            self.product_id, lambda detail: self._isp_note(sub, _("now"), detail)
        )
        return notification(
            _("Plan changed"),
            _(
                "%(sub)s is on %(package)s from today. %(detail)s",
                sub=sub.name,
                package=self.product_id.display_name,
                detail=detail,
            ),
        )
