# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The subscription's commercial life: rollover, retirement, plan changes
and add-on data packs.

The rules are in the core (``core.rollover``, ``core.proration``,
``engine.addon_grant``, the engine's ``closing``); this carries them out with
the grant pipeline's own pieces.
"""

from datetime import timedelta
from decimal import Decimal

from markupsafe import Markup

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import format_date

from ..core import credit, engine, recurrence, rollover, units
from .isp_subscription_billing import BillingTerms, GrantPlan


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
            if plan.decision.grants
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
            and any(g.invoiced for g in plan.decision.grants)
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
        current period, invoiced (and paid from credit) like a grant."""
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
        end = current.period_end
        if template.isp_addon_days:
            end = today + timedelta(days=template.isp_addon_days - 1)
        terms = sub._isp_pack_terms(product, quantity, sale_line, today)
        rounding = credit.to_decimal(company.currency_id.rounding)
        available = sub._isp_credits(company)[sub.commercial_partner_id.id]
        core = sub._isp_core_subscription(terms.credit_total)
        try:
            granted = engine.addon_grant(
                core,
                available,
                terms.credit_total,
                credit.to_decimal(template.isp_data_limit_gb) * quantity,
                recurrence.Period(0, today, end),
                rounding,
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
        decision = engine.Decision(
            (granted,), (), core.anchor, core.next_date, sub.state, credit=available
        )
        plan = GrantPlan(sub, core, decision, terms)
        move_of = sub._isp_create_invoices([plan], today, sale_line=sale_line)
        sub._isp_pay_from_credit([plan], move_of)
        vals = sub._isp_prepare_grant_vals(plan, move_of)
        for grant_vals in vals:
            grant_vals.update(kind="addon", note=_("Add-on: %s", template.name))
        grant = self.env["isp.data.grant"].sudo().create(vals)
        sub._message_log(
            body=Markup("<p>%s</p>")
            % _(
                "Add-on %(pack)s: %(data)s more until %(end)s.",
                pack=template.name,
                data=grant.data_label,
                end=fields.Date.to_string(end),
            )
        )
        grant._isp_queue_notifications()
        sub._isp_network_sync(today)
        return grant

    def _isp_pack_terms(self, product, quantity, sale_line, day):
        """BillingTerms of a pack sold to this subscription."""
        self.ensure_one()
        pack = self.new(
            {
                "partner_id": self.partner_id.id,
                "product_id": product.id,
                "company_id": self.company_id.id,
                "currency_id": (sale_line.currency_id or self.currency_id).id
                if sale_line
                else self.currency_id.id,
                "price_unit": sale_line._isp_unit_price()
                if sale_line
                else product.lst_price,
                "quantity": quantity,
                "unused_credit": 0.0,
            }
        )
        fpos = self._isp_fiscal_position_getter(self.company_id)(
            self.commercial_partner_id
        )
        terms = pack._isp_billing_terms(fpos, self.company_id, day)
        label = _(
            "%(pack)s\nAdded to %(sub)s: %(data)s",
            pack=product.display_name,
            sub=self.name,
            data=units.format_data(
                product.product_tmpl_id.isp_data_limit_gb * quantity
            ),
        )
        lines = (dict(terms.lines[0], name=label), *terms.lines[1:])
        return BillingTerms(
            terms.fiscal_position, lines, terms.total, terms.credit_total
        )

    # ------------------------------------------------------------------
    # Plan changes (the wizard is wizards/isp_plan_change.py)
    # ------------------------------------------------------------------
    def action_change_plan(self):
        self.ensure_one()
        self._isp_check_manager()
        return self.env["isp.plan.change"]._isp_open(self)

    def _isp_terms_for(self, product, day):
        """BillingTerms of this subscription on ``product`` (a plan change)."""
        self.ensure_one()
        candidate = self.new(
            {
                "partner_id": self.partner_id.id,
                "product_id": product.id,
                "company_id": self.company_id.id,
                "currency_id": self.currency_id.id,
                "price_unit": self._isp_price_of(product, day),
                "quantity": self.quantity,
                "unused_credit": 0.0,
            }
        )
        fpos = self._isp_fiscal_position_getter(self.company_id)(
            self.commercial_partner_id
        )
        return candidate._isp_billing_terms(fpos, self.company_id, day)

    def _isp_price_of(self, product, day):
        """``product``'s price in this subscription's currency."""
        self.ensure_one()
        company = self.company_id
        return company.currency_id._convert(
            product.lst_price, self.currency_id, company, day
        )

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

    def _isp_refund_unused(self, grant, unused, day, old_product):
        """A posted credit note for the unused part of ``grant``'s invoice."""
        self.ensure_one()
        invoice = grant.move_id
        line = invoice.invoice_line_ids[:1]
        refund = (
            self.env["account.move"]
            .sudo()
            .with_company(self.company_id)
            .create(
                {
                    "move_type": "out_refund",
                    "partner_id": self.partner_id.id,
                    "currency_id": self.currency_id.id,
                    "invoice_date": day,
                    "invoice_origin": invoice.name,
                    "ref": _("Plan change: unused part of %s", invoice.name),
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "product_id": old_product.id,
                                "name": _(
                                    "Unused part of %(package)s from %(day)s",
                                    package=old_product.display_name,
                                    day=format_date(self.env, day),
                                ),
                                "quantity": 1.0,
                                "price_unit": float(unused),
                                "tax_ids": [Command.set(line.tax_ids.ids)],
                                "analytic_distribution": line.analytic_distribution,
                            }
                        )
                    ],
                }
            )
        )
        refund.action_post()
        return refund

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
