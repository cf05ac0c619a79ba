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
from odoo.tools import format_amount, format_date

from ..core import credit, engine, proration, recurrence

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
            return sub._isp_notification(
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
        company = sub.company_id
        today = sub._isp_today(company)
        current = sub._isp_current_grants(today).get(sub.id)
        rounding = credit.to_decimal(company.currency_id.rounding)
        unused = 0
        if current and current.move_id and sub.state == engine.ACTIVE:
            period = recurrence.Period(0, current.period_start, current.period_end)
            untaxed = credit.to_decimal(current.move_id.amount_untaxed)
            unused = proration.unused_share(
                untaxed, period, today, credit.to_decimal(sub.currency_id.rounding)
            )
        old_product = sub.product_id
        new_terms = sub._isp_terms_for(self.product_id, today)
        if sub.recurring_mode == engine.CREDIT and unused:
            taxes = current.move_id.invoice_line_ids[:1].tax_ids
            refund_total = taxes.compute_all(float(unused), currency=sub.currency_id)[
                "total_included"
            ]
            refund_company = sub.currency_id._convert(
                refund_total, company.currency_id, company, today
            )
            available = sub._isp_credits(company)[sub.commercial_partner_id.id]
            missing = proration.upgrade_missing(
                available, refund_company, new_terms.credit_total, rounding
            )
            if missing:
                raise UserError(
                    _(
                        "The credit does not pay for %(new)s, even with the unused "
                        "part of %(old)s credited back: %(missing)s is missing. "
                        "Record a top-up first, or change at the next renewal.",
                        new=self.product_id.display_name,
                        old=old_product.display_name,
                        missing=format_amount(
                            self.env, float(missing), company.currency_id
                        ),
                    )
                )
        detail, refund = "", self.env["account.move"]
        if unused and sub.recurring_mode == engine.CREDIT:
            refund = sub._isp_refund_unused(current, unused, today, old_product)
            detail = _(
                "Unused part credited back: %(amount)s (credit note %(refund)s).",
                amount=format_amount(self.env, refund.amount_total, sub.currency_id),
                refund=refund.name,
            )
        elif unused:
            sub.unused_credit = float(unused)
            detail = _(
                "Unused part taken off the next invoice: %(amount)s.",
                amount=format_amount(self.env, float(unused), sub.currency_id),
            )
        if current and current.period_start == today:
            # The whole period was unused: the new plan replaces it today.
            current.with_context(isp_grant_reversal=True).write(
                {"state": "reversed", "reversal_reason": _("Plan change")}
            )
        note = self._isp_note(sub, _("now"), detail)
        sub._isp_switch_plan(self.product_id, today)
        sub._message_log(body=note)
        sub._isp_process_locked(today)
        new = sub.grant_ids.filtered(
            lambda g: g.state == "granted" and g.period_start == today
        )
        if new:
            new.with_context(isp_grant_reversal=True).write(
                {"note": _("Plan change from %s", old_product.display_name)}
            )
        return sub._isp_notification(
            _("Plan changed"),
            _(
                "%(sub)s is on %(package)s from today. %(detail)s",
                sub=sub.name,
                package=self.product_id.display_name,
                detail=detail,
            ),
        )
