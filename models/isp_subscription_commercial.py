# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The subscription's commercial life: rollover, retirement, plan changes
and add-on data packs.

The rules are in the core (``core.rollover``, ``core.proration``,
``engine.addon_grant``, the engine's ``closing``); this carries them out with
the grant pipeline's own pieces.
"""

from datetime import timedelta
from decimal import Decimal

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import format_amount

from ..core import credit, engine, proration, recurrence, rollover, units
from .isp_grant_run import GrantPlan, GrantRun


class IspSubscription(models.Model):
    _inherit = "isp.subscription"

    unused_credit = fields.Monetary(
        readonly=True,
        copy=False,
        help="One-off plan change: the unused part of the old plan, taken off "
        "the next invoice.",
    )
    pending_product_id = fields.Many2one(
        "product.product",
        string="Next Plan",
        readonly=True,
        copy=False,
        check_company=True,
        help="The package the subscription switches to at its next renewal.",
    )
    rollover_note = fields.Char(compute="_compute_rollover_note")

    @api.depends("product_id", "radius_server_id")
    def _compute_rollover_note(self):
        for sub in self:
            template = sub.product_id.product_tmpl_id
            sub.rollover_note = False
            if template.isp_rollover and not sub.radius_server_id:
                sub.rollover_note = _(
                    "Rollover is off: it needs the usage from RADIUS accounting, "
                    "and no RADIUS server serves this subscription."
                )

    # ------------------------------------------------------------------
    # Rollover, decided when a period is granted
    # ------------------------------------------------------------------
    @api.model
    def _isp_rollover_in(self, plans):
        """``{subscription id: grant values}`` of the data carried into the
        periods these plans grant (rollover on, usage known)."""
        subs = self.browse(
            plan.subscription.id
            for plan in plans
            if plan.renews
            and plan.subscription.radius_server_id
            and plan.subscription.product_id.product_tmpl_id.isp_rollover
        )
        if not subs:
            return {}
        previous = {}
        for grant in (
            self.env["isp.data.grant"]
            .sudo()
            .search(
                [
                    ("subscription_id", "in", subs.ids),
                    ("state", "=", "granted"),
                    ("kind", "=", "period"),
                ],
                order="period_start desc",
            )
        ):
            previous.setdefault(grant.subscription_id.id, grant)
        result = {}
        for sub in subs:
            last = previous.get(sub.id)
            if not last:
                continue
            template = sub.product_id.product_tmpl_id
            rule = sub._isp_rule()
            anchor = sub.recurrence_anchor or sub.date_start
            index_of = lambda day, a=anchor, r=rule: (  # noqa: E731
                recurrence.period_at(a, r, day).index if day >= a else 0
            )
            chunks = [
                (origin, Decimal(str(gb))) for origin, gb in last.rollover_chunks or []
            ]
            carried = rollover.carry(
                chunks,
                Decimal(str(last.data_gb)),
                Decimal(str(last.used_gb)),
                index_of(last.period_start),
                index_of(last.period_end) + 1,
                template.isp_rollover_periods,
                Decimal(str(template.isp_rollover_max_gb)),
            )
            if carried:
                result[sub.id] = {
                    "rollover_gb": float(rollover.total(carried)),
                    "rollover_chunks": [[o, float(gb)] for o, gb in carried],
                }
        return result

    # ------------------------------------------------------------------
    # After a batch is executed
    # ------------------------------------------------------------------
    @api.model
    def _isp_after_execute(self, plans, today):
        """The one-off deductions used, the closings told, and what the
        network must now know."""
        invoiced = self.browse(
            plan.subscription.id
            for plan in plans
            if plan.subscription.unused_credit
            and any(g.invoiced and g.kind == "period" for g in plan.decision.grants)
        )
        if invoiced:
            invoiced.write({"unused_credit": 0.0})
        closed = self.browse(
            plan.subscription.id
            for plan in plans
            if plan.decision.state == engine.CLOSED and plan.core.state != engine.CLOSED
        )
        for sub in closed:
            sub._message_log(
                body=_(
                    "Closed at the end of its period: its package %(package)s is "
                    "retired.",
                    package=sub.product_id.display_name,
                )
            )
        closed._isp_network_remove()
        running = self.browse(plan.subscription.id for plan in plans) - closed
        running._isp_network_sync(today)

    # ------------------------------------------------------------------
    # Add-on data packs
    # ------------------------------------------------------------------
    def _isp_add_pack(self, product, quantity, sale_line=None):
        """Add ``quantity`` packs of ``product`` to this running subscription's
        current period: decided by the core (``engine.add_pack``), then
        invoiced, paid from credit and recorded by the grant run's own
        ``execute``. Returns the pack's grant."""
        self.ensure_one()
        sub = self.sudo().with_company(self.company_id)
        template = product.product_tmpl_id
        company = sub.company_id
        today = sub._isp_today(company)
        current = sub._isp_current_grants(today).get(sub.id)
        if sub.state not in (engine.ACTIVE, engine.WAITING) or not current:
            raise UserError(
                _(
                    "%(pack)s adds data to a running period: %(sub)s has no "
                    "period granted today.",
                    pack=template.name,
                    sub=sub.name,
                )
            )
        end = current.grant.period_end
        if template.isp_addon_days:
            end = today + timedelta(days=template.isp_addon_days - 1)
        data_gb = credit.to_decimal(template.isp_data_limit_gb) * quantity
        terms = sub._isp_terms_of(
            product,
            today,
            quantity=quantity,
            price_unit=sale_line._isp_unit_price() if sale_line else None,
            label=_(
                "%(pack)s\nAdded to %(sub)s: %(data)s",
                pack=product.display_name,
                sub=sub.name,
                data=units.format_data(data_gb),
            ),
        )
        available = sub._isp_credits(company)[sub.commercial_partner_id.id]
        core = sub._isp_core_subscription(terms, data_gb)
        try:
            decision = engine.add_pack(
                core,
                available,
                recurrence.Period(0, today, end),
                credit.to_decimal(company.currency_id.rounding),
            )
        except engine.NotEnoughCredit as exc:
            raise UserError(
                _(
                    "%(partner)s's prepaid credit does not pay for %(pack)s: "
                    "%(missing)s is missing. Record their top-up first.",
                    partner=sub.commercial_partner_id.display_name,
                    pack=template.name,
                    missing=exc.missing,
                )
            ) from exc
        plan = GrantPlan(
            sub,
            core,
            decision,
            terms,
            sale_line=sale_line,
            note=_("Add-on: %s", template.name),
        )
        return GrantRun(sub, today).execute([plan])

    # ------------------------------------------------------------------
    # Plan changes (the wizard is wizards/isp_plan_change.py)
    # ------------------------------------------------------------------
    def _isp_change_plan_now(self, product, note_of):
        """Put this locked subscription on ``product`` from today: the unused
        part of the current period is credited back with a credit note
        (credit-based) or taken off the next invoice (one-off), the chatter
        says so (``note_of(detail)``), and the new plan's first period is
        granted by a grant run. Refused with the missing amount, before
        anything is written, when the credit cannot pay the upgrade even with
        what is credited back. Returns the detail of the money moved."""
        self.ensure_one()
        company = self.company_id
        today = self._isp_today(company)
        current = self._isp_current_grants(today).get(self.id)
        grant = current.grant if current else self.env["isp.data.grant"]
        rounding = credit.to_decimal(company.currency_id.rounding)
        unused = 0
        if grant.move_id and self.state == engine.ACTIVE:
            period = recurrence.Period(0, grant.period_start, grant.period_end)
            unused = proration.unused_share(
                credit.to_decimal(grant.move_id.amount_untaxed),
                period,
                today,
                credit.to_decimal(self.currency_id.rounding),
            )
        old_product = self.product_id
        prepaid = self.recurring_mode == engine.CREDIT
        if prepaid and unused:
            taxes = grant.move_id.invoice_line_ids[:1].tax_ids
            refund_total = taxes.compute_all(float(unused), currency=self.currency_id)[
                "total_included"
            ]
            missing = proration.upgrade_missing(
                self._isp_credits(company)[self.commercial_partner_id.id],
                self.currency_id._convert(
                    refund_total, company.currency_id, company, today
                ),
                self._isp_terms_of(product, today).credit_total,
                rounding,
            )
            if missing:
                raise UserError(
                    _(
                        "The credit does not pay for %(new)s, even with the unused "
                        "part of %(old)s credited back: %(missing)s is missing. "
                        "Record a top-up first, or change at the next renewal.",
                        new=product.display_name,
                        old=old_product.display_name,
                        missing=format_amount(
                            self.env, float(missing), company.currency_id
                        ),
                    )
                )
        detail, refund = "", self.env["account.move"]
        if unused and prepaid:
            refund = self._isp_refund_unused(grant, unused, today, old_product)
            detail = _(
                "Unused part credited back: %(amount)s (credit note %(refund)s).",
                amount=format_amount(self.env, refund.amount_total, self.currency_id),
                refund=refund.name,
            )
        elif unused:
            self.unused_credit = float(unused)
            detail = _(
                "Unused part taken off the next invoice: %(amount)s.",
                amount=format_amount(self.env, float(unused), self.currency_id),
            )
        if grant and grant.period_start == today:
            # The whole period was unused: the new plan replaces it today.
            grant._isp_mark_reversed(_("Plan change"), refund, today)
        note = note_of(detail)
        self._isp_switch_plan(product, today)
        self._message_log(body=note)
        self._isp_process_locked(
            today, note=_("Plan change from %s", old_product.display_name)
        )
        return detail

    def _isp_switch_plan(self, product, day):
        """Put this subscription on ``product``, its schedule starting ``day``."""
        self.ensure_one()
        template = product.product_tmpl_id
        self.with_context(isp_plan_change=True, tracking_disable=True).write(
            {
                "product_id": product.id,
                "price_unit": self._isp_price_of(product, day),
                "recurring_mode": template.isp_recurring_mode or engine.CREDIT,
                "invoice_policy": template.isp_invoice_policy or "posted",
                "recurrence": template.isp_recurrence,
                "recurrence_interval": template.isp_recurrence_interval or 1,
                "data_limit_gb": template.isp_data_limit_gb,
                "recurrence_anchor": day,
                "next_date": day,
                "pending_product_id": False,
                "state": engine.ACTIVE,
            }
        )

    def _isp_apply_pending_plans(self, today):
        """Switch the subscriptions whose next plan takes over now (their next
        period is due), before the run decides them. Returns the errors of
        those that cannot switch (``{subscription: message}``)."""
        errors = {}
        for sub in self.filtered(
            lambda s: s.pending_product_id and s.next_date and s.next_date <= today
        ):
            old = sub.product_id
            try:
                with self.env.cr.savepoint():
                    sub._isp_switch_plan(sub.pending_product_id, sub.next_date)
            except (UserError, ValidationError) as exc:
                errors[sub] = _(
                    "The plan change to %(new)s failed: %(error)s",
                    new=sub.pending_product_id.display_name,
                    error=exc.args[0],
                )
                continue
            sub._message_log(
                body=_(
                    "Plan changed from %(old)s to %(new)s at the renewal.",
                    old=old.display_name,
                    new=sub.product_id.display_name,
                )
            )
        return errors
