# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The grant pipeline of a locked batch, read top to bottom.

1. ``_isp_plan``: fetch what the core needs in a few queries (credits,
   billing terms) and let ``core.engine.CreditLedger`` decide each
   subscription once: grants with their billing instruction, skips, the new
   schedule.
2. ``_isp_execute``: carry the decisions out without asking the rules again:
   invoice values, one ``account.move.create``, one post, one reconciliation
   plan for the grants paid from credit, the grant rows, the new schedules,
   the chatter and the e-mails to send.
"""

from dataclasses import dataclass
from decimal import Decimal

from odoo import Command, _, api, models
from odoo.exceptions import UserError
from odoo.tools import format_date

from ..core import credit, engine, units


@dataclass(frozen=True)
class BillingTerms:
    """One period's invoice line, and its total: the one price road.

    The credit check uses ``total``, and the invoice is built from ``line``:
    both come from the same values, so they agree by construction.
    """

    fiscal_position: models.BaseModel
    line: dict
    total: Decimal


@dataclass(frozen=True)
class GrantPlan:
    """What the core decided for one locked subscription, with its terms."""

    subscription: models.BaseModel
    core: engine.Subscription
    decision: engine.Decision
    terms: BillingTerms

    def changes_anything(self):
        return self.decision.changes(self.core)


class IspSubscription(models.Model):
    _inherit = "isp.subscription"

    # ------------------------------------------------------------------
    # 1. Plan: read everything the core needs, decide once
    # ------------------------------------------------------------------
    def _isp_plan(self, today):
        """The GrantPlans of these subscriptions, and the errors of those
        that cannot be billed (``{subscription: message}``).

        Subscriptions are decided in the order of ``self`` (by id): each sees
        the credit its subscriber's previous subscriptions left.
        """
        company = self.env.company
        rounding = credit.to_decimal(company.currency_id.rounding)
        ledger = engine.CreditLedger(self._isp_credits(company))
        terms_of = self._isp_billing_terms_getter(company)
        plans, errors = [], {}
        for sub in self:
            try:
                sub._isp_check_billable()
                terms = terms_of(sub)
                core = sub._isp_core_subscription(terms.total)
                decision = ledger.decide(
                    sub.commercial_partner_id.id, core, today, rounding
                )
                plans.append(GrantPlan(sub, core, decision, terms))
            except Exception as exc:  # noqa: BLE001 - one bad record is skipped
                errors[sub] = self._isp_error_text(exc)
        return plans, errors

    def _isp_credits(self, company):
        """Prepaid credit of these subscriptions' subscribers, by partner id.

        Odoo's own definition (``res.partner.credit`` in ``company``), read
        for the whole batch in one query.
        """
        partners = self.commercial_partner_id.with_company(company).sudo()
        partners.invalidate_recordset(["credit", "debit"])
        # Odoo's compute stores each amount on a one-partner recordset, which
        # reads that partner's company (for the currency) in a query of its
        # own: one query per subscriber unless the companies are read first.
        partners.fetch(["company_id"])
        return {
            partner.id: credit.available_credit(partner.credit) for partner in partners
        }

    def _isp_core_subscription(self, total):
        self.ensure_one()
        return engine.Subscription(
            mode=self.recurring_mode,
            state=self.state,
            rule=self._isp_rule(),
            anchor=self.recurrence_anchor or self.date_start,
            next_date=self.next_date or self.date_start,
            total=total,
            invoice_policy=self.invoice_policy,
            data_gb=units.normalize_data_limit(self.data_limit_gb),
        )

    def _isp_check_billable(self):
        """Raise a UserError telling the accountant what blocks billing."""
        self.ensure_one()
        product = self.product_id
        if not product.active or not product.product_tmpl_id.active:
            raise UserError(
                _(
                    "The package %(product)s is archived. Restore it or close "
                    "this subscription.",
                    product=product.display_name,
                )
            )
        if product.company_id and product.company_id != self.company_id:
            raise UserError(
                _(
                    "The package %(product)s belongs to another company.",
                    product=product.display_name,
                )
            )
        partner = self.commercial_partner_id.with_company(self.company_id)
        account = partner.property_account_receivable_id
        if not account:
            raise UserError(
                _(
                    "Subscriber %(partner)s has no receivable account in "
                    "%(company)s. Set one on the contact's Accounting tab.",
                    partner=partner.display_name,
                    company=self.company_id.name,
                )
            )
        if account.deprecated:
            raise UserError(
                _(
                    "The receivable account %(account)s of %(partner)s is "
                    "deprecated. Choose an active one on the contact's "
                    "Accounting tab.",
                    account=account.display_name,
                    partner=partner.display_name,
                )
            )
        if account.account_type != "asset_receivable":
            raise UserError(
                _(
                    "The receivable account %(account)s of %(partner)s is "
                    "not of type Receivable. Fix it on the contact's "
                    "Accounting tab.",
                    account=account.display_name,
                    partner=partner.display_name,
                )
            )
        income = product.with_company(self.company_id)._get_product_accounts()["income"]
        if not income or income.deprecated:
            raise UserError(
                _(
                    "The package %(product)s has no active income account. "
                    "Set one on the product or its category.",
                    product=product.display_name,
                )
            )

    @api.model
    def _isp_billing_terms_getter(self, company):
        """Return ``sub -> BillingTerms`` of one period.

        Computed once per package, price and fiscal position: thousands of
        subscribers share a handful of packages.
        """
        fpos_of = self._isp_fiscal_position_getter(company)
        cache = {}

        def terms_of(sub):
            fpos = fpos_of(sub.commercial_partner_id)
            key = (sub.product_id.id, sub.price_unit, fpos.id)
            if key not in cache:
                cache[key] = sub._isp_billing_terms(fpos)
            return cache[key]

        return terms_of

    def _isp_billing_terms(self, fiscal_position):
        """The invoice line of one period (without its label), and its total
        with taxes computed from that very line."""
        self.ensure_one()
        taxes = self.product_id.taxes_id._filter_taxes_by_company(self.company_id)
        taxes = fiscal_position.map_tax(taxes)
        line = {
            "product_id": self.product_id.id,
            "quantity": 1.0,
            "price_unit": self.price_unit,
            "tax_ids": [Command.set(taxes.ids)],
        }
        total = taxes.compute_all(
            line["price_unit"],
            currency=self.currency_id,
            quantity=line["quantity"],
            product=self.product_id,
            partner=self.commercial_partner_id,
        )["total_included"]
        return BillingTerms(fiscal_position, line, credit.to_decimal(total))

    @api.model
    def _isp_fiscal_position_getter(self, company):
        """Return ``partner -> fiscal position``, as invoices would pick it.

        Auto-applied fiscal positions cost a search per partner, so it is only
        done when the company has some.
        """
        fpos_model = self.env["account.fiscal.position"].with_company(company)
        has_auto = bool(
            fpos_model.search_count(
                fpos_model._check_company_domain(company) + [("auto_apply", "=", True)],
                limit=1,
            )
        )
        cache = {}

        def fiscal_position_of(partner):
            if partner.id not in cache:
                if has_auto:
                    cache[partner.id] = fpos_model._get_fiscal_position(partner)
                else:
                    cache[partner.id] = partner.with_company(
                        company
                    ).property_account_position_id
            return cache[partner.id]

        return fiscal_position_of

    # ------------------------------------------------------------------
    # 2. Execute: invoices, payment from credit, grants, schedule, chatter
    # ------------------------------------------------------------------
    def _isp_execute(self, plans, today):
        move_of = self._isp_create_invoices(plans, today)
        self._isp_pay_from_credit(plans, move_of)
        grant_vals = []
        for plan in plans:
            grant_vals.extend(plan.subscription._isp_prepare_grant_vals(plan, move_of))
        grants = self.env["isp.data.grant"].sudo().create(grant_vals)
        self._isp_resolve_skips(plans, grants)
        self._isp_write_results(plans, today)
        self._isp_log_results(plans, grants)
        grants._isp_queue_notifications()
        self.browse([plan.subscription.id for plan in plans])._isp_network_sync(today)

    @api.model
    def _isp_resolve_skips(self, plans, grants):
        """A subscription that resumed resolves its skips for lack of credit:
        they read as resolved by the grant that restarted it, not as periods
        that contradict it."""
        restarted = {
            plan.subscription.id
            for plan in plans
            if plan.decision.grants and plan.core.state == engine.WAITING
        }
        if not restarted:
            return
        Grant = self.env["isp.data.grant"].sudo()
        skips = Grant.search(
            [
                ("subscription_id", "in", list(restarted)),
                ("reason", "=", engine.INSUFFICIENT),
                ("resolved_by_id", "=", False),
            ]
        )
        granted_of = {
            grant.subscription_id.id: grant
            for grant in grants
            if grant.state == "granted"
        }
        for sub_id, sub_skips in skips.grouped("subscription_id").items():
            sub_skips.write({"resolved_by_id": granted_of[sub_id.id].id})

    @api.model
    def _isp_create_invoices(self, plans, today):
        """One ``account.move.create`` for the batch's invoiced grants, then
        one post of those the decisions want posted.

        Returns ``{(subscription id, period start): invoice}``.
        """
        company = self.env.company
        # The grant and the subscription's chatter are the audit trail: the
        # batch's invoices skip the creation note, follower subscription and
        # field tracking, which cost several queries per invoice.
        Move = (
            self.env["account.move"]
            .sudo()
            .with_company(company)
            .with_context(
                mail_create_nolog=True, mail_create_nosubscribe=True, mail_notrack=True
            )
        )
        Journal = self.env["account.journal"].sudo()
        journal = Journal.search(
            [*Journal._check_company_domain(company), ("type", "=", "sale")], limit=1
        )
        move_vals, keys = [], []
        for plan in plans:
            sub = plan.subscription
            bills_order = sub._isp_bills_order_line()
            for granted in plan.decision.grants:
                if not granted.invoiced:
                    continue
                move_vals.append(
                    sub._isp_prepare_invoice_vals(
                        plan, granted.period, today, bills_order, journal
                    )
                )
                bills_order = False
                keys.append((sub.id, granted.period.start, granted.posted))
        moves = Move.create(move_vals) if move_vals else Move
        move_of, to_post = {}, Move
        for move, (sub_id, start, posted) in zip(moves, keys, strict=True):
            move_of[(sub_id, start)] = move
            if posted:
                to_post |= move
        if to_post:
            to_post.action_post()
        return move_of

    def _isp_bills_order_line(self):
        """The first grant bills the order line the package was sold on."""
        self.ensure_one()
        line = self.sale_line_id
        return bool(line) and not line.invoice_lines.filtered(
            lambda aml: aml.move_id.state != "cancel"
        )

    def _isp_prepare_invoice_vals(
        self, plan, period, today, bills_order=False, journal=None
    ):
        self.ensure_one()
        lang = self.partner_id.lang or self.env.lang
        line_vals = dict(
            plan.terms.line,
            # Odoo's convention: the product, then the description on its own
            # line (the invoice form shows them apart).
            name="\n".join(
                (
                    self.product_id.with_context(lang=lang).display_name,
                    _(
                        "%(data)s, %(start)s to %(end)s",
                        data=units.format_data(self.data_limit_gb),
                        start=format_date(self.env, period.start, lang_code=lang),
                        end=format_date(self.env, period.end, lang_code=lang),
                    ),
                )
            ),
        )
        if bills_order:
            line_vals["sale_line_ids"] = [Command.link(self.sale_line_id.id)]
        vals = {
            "move_type": "out_invoice",
            "partner_id": self.partner_id.id,
            "company_id": self.company_id.id,
            "currency_id": self.currency_id.id,
            "invoice_date": today,
            "fiscal_position_id": plan.terms.fiscal_position.id,
            "invoice_origin": self.sale_order_id.name or self.name,
            "invoice_line_ids": [Command.create(line_vals)],
        }
        if journal:
            vals["journal_id"] = journal.id
        return vals

    @api.model
    def _isp_pay_from_credit(self, plans, move_of):
        """Reconcile the invoices paid from credit with the subscribers'
        outstanding payments and credit notes, in one reconciliation plan.

        An invoice that is not fully paid afterwards aborts the batch: no
        grant may exist without its deduction.
        """
        paid = self.env["account.move"].browse(
            move_of[(plan.subscription.id, granted.period.start)].id
            for plan in plans
            for granted in plan.decision.grants
            if granted.paid_from_credit
        )
        if not paid:
            return
        partners = paid.commercial_partner_id
        company = self.env.company
        AML = self.env["account.move.line"].sudo()
        outstanding = AML.search(
            [
                ("partner_id", "in", partners.ids),
                ("company_id", "child_of", company.root_id.id),
                ("account_id.account_type", "=", "asset_receivable"),
                ("parent_state", "=", "posted"),
                ("reconciled", "=", False),
                ("amount_residual", "<", 0),
            ],
            order="date, id",
        )
        new_of = paid.line_ids.filtered(
            lambda line: line.account_type == "asset_receivable"
        ).grouped("partner_id")
        outstanding_of = outstanding.grouped("partner_id")
        AML._reconcile_plan(
            [new_of[partner] | outstanding_of.get(partner, AML) for partner in partners]
        )
        unpaid = paid.filtered(
            lambda move: not move.currency_id.is_zero(move.amount_residual)
        )
        if unpaid:
            raise UserError(
                _(
                    "The prepaid credit of %(partners)s did not cover invoice(s) "
                    "%(moves)s; nothing was granted.",
                    partners=", ".join(unpaid.partner_id.mapped("display_name")),
                    moves=", ".join(unpaid.mapped("name")),
                )
            )

    def _isp_prepare_grant_vals(self, plan, move_of):
        self.ensure_one()
        decision = plan.decision
        common = {
            "subscription_id": self.id,
            "partner_id": self.partner_id.id,
            "company_id": self.company_id.id,
            "currency_id": self.currency_id.id,
            "credit_before": float(decision.credit or 0),
            "price_total": float(plan.terms.total),
        }
        vals_list = []
        for granted in decision.grants:
            move = move_of.get((self.id, granted.period.start))
            vals_list.append(
                dict(
                    common,
                    period_start=granted.period.start,
                    period_end=granted.period.end,
                    state="granted",
                    data_gb=float(granted.data_gb),
                    amount=float(granted.amount),
                    move_id=move.id if move else False,
                )
            )
        for skip in decision.skips:
            vals_list.append(
                dict(
                    common,
                    period_start=skip.period.start,
                    period_end=skip.period.end,
                    state="skipped",
                    reason=skip.reason,
                    data_gb=0.0,
                    amount=0.0,
                )
            )
        return vals_list

    @api.model
    def _isp_write_results(self, plans, today):
        """Write the new schedules, grouped so equal values share one UPDATE."""
        groups = {}
        for plan in plans:
            decision, sub = plan.decision, plan.subscription
            waiting_since = False
            if decision.state == engine.WAITING:
                waiting_since = sub.waiting_since or today
            key = (
                decision.state,
                decision.anchor,
                decision.next_date,
                decision.valid_until or sub.valid_until,
                waiting_since,
            )
            groups.setdefault(key, []).append(sub.id)
        for key, ids in groups.items():
            state, anchor, next_date, valid_until, waiting_since = key
            self.browse(ids).with_context(tracking_disable=True).write(
                {
                    "state": state,
                    "recurrence_anchor": anchor,
                    "next_date": next_date,
                    "valid_until": valid_until,
                    "waiting_since": waiting_since,
                    "last_error": False,
                }
            )
