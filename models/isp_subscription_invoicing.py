# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The grant pipeline of a locked batch, step 2: execute the decisions.

``_isp_execute`` carries out what ``_isp_plan`` decided, without asking the
rules again: invoice values, one ``account.move.create``, one post, one
reconciliation plan for the grants paid from credit, the grant rows, the new
schedules, the chatter, the e-mails and what the network must now know.
"""

from odoo import Command, _, api, models
from odoo.exceptions import UserError
from odoo.tools import format_date

from ..core import engine, units


class IspSubscription(models.Model):
    _inherit = "isp.subscription"

    # ------------------------------------------------------------------
    # 2. Execute: invoices, payment from credit, grants, schedule, chatter
    # ------------------------------------------------------------------
    def _isp_execute(self, plans, today):
        """Execute these plans in one transaction: all of it, or nothing.

        Posting comes last, with the payment from credit and the chatter that
        names the invoices: posting takes the sale journal's next numbers, and
        Odoo's invoice numbers are gapless per journal, so another batch that
        posts in the journal waits from then until this transaction commits.
        Doing everything else first keeps that wait short, which is what lets
        batches run side by side on several workers.
        """
        move_of, to_post = self._isp_create_invoices(plans, today, post=False)
        rollover_of = self._isp_rollover_in(plans)
        grant_vals = []
        for plan in plans:
            grant_vals.extend(
                plan.subscription._isp_prepare_grant_vals(plan, move_of, rollover_of)
            )
        grants = self.env["isp.data.grant"].sudo().create(grant_vals)
        self._isp_resolve_skips(plans, grants)
        self._isp_write_results(plans, today)
        grants._isp_queue_notifications()
        self._isp_after_execute(plans, today)
        if to_post:
            to_post.action_post()
        self._isp_pay_from_credit(plans, move_of)
        self._isp_log_results(plans, grants)

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
    def _isp_create_invoices(self, plans, today, sale_line=None, post=True):
        """One ``account.move.create`` for the batch's invoiced grants, then
        one post of those the decisions want posted.

        Returns ``{(subscription id, period start): invoice}``; without
        ``post``, also the invoices to post, for the caller to post.
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
            bills_order = sale_line or (
                sub.sale_line_id if sub._isp_bills_order_line() else False
            )
            for granted in plan.decision.grants:
                if not granted.invoiced:
                    continue
                vals = sub._isp_prepare_invoice_vals(
                    plan, granted.period, today, bills_order, journal
                )
                if granted.posted and journal:
                    # What posting sets, one invoice at a time (a write each),
                    # set here in the batch's create.
                    vals["checked"] = journal.autocheck_on_post
                move_vals.append(vals)
                bills_order = False
                keys.append((sub.id, granted.period.start, granted.posted))
        moves = Move.create(move_vals) if move_vals else Move
        self._isp_follow_invoices(moves)
        move_of, to_post = {}, Move
        for move, (sub_id, start, posted) in zip(moves, keys, strict=True):
            move_of[(sub_id, start)] = move
            if posted:
                to_post |= move
        if not post:
            return move_of, to_post
        if to_post:
            to_post.action_post()
        return move_of

    @api.model
    def _isp_follow_invoices(self, moves):
        """Each subscriber follows their invoice, with Odoo's default
        subtypes, as posting would make them do, one insert for the batch.
        Posting then has nothing left to subscribe: it takes the journal's
        next numbers, and holds them until the commit (see ``_isp_execute``),
        so the less it does, the sooner another batch may post."""
        if not moves:
            return
        default, _internal, external = self.env[
            "mail.message.subtype"
        ].default_subtypes("account.move")
        self.env["mail.followers"].sudo().create(
            [
                {
                    "res_model": "account.move",
                    "res_id": move.id,
                    "partner_id": move.partner_id.id,
                    "subtype_ids": [
                        Command.set(
                            (external if move.partner_id.partner_share else default).ids
                        )
                    ],
                }
                for move in moves
                if move.partner_id
            ]
        )

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
        package = self.product_id.with_context(lang=lang).display_name
        data = units.format_data(self.data_limit_gb)
        if self.quantity > 1:
            data = _("%(count)s x %(data)s", count=self.quantity, data=data)
        lines = []
        for terms_line in plan.terms.lines:
            line_vals = dict(terms_line)
            if line_vals.pop("isp_unused", False):
                line_vals["name"] = _("Unused part of the previous plan")
                lines.append(Command.create(line_vals))
                continue
            # Odoo's convention: the product, then the description on its own
            # line (the invoice form shows them apart).
            line_vals["name"] = line_vals.get("name") or "\n".join(
                (
                    package,
                    _(
                        "%(data)s, %(start)s to %(end)s",
                        data=data,
                        start=format_date(self.env, period.start, lang_code=lang),
                        end=format_date(self.env, period.end, lang_code=lang),
                    ),
                )
            )
            if bills_order:
                line_vals["sale_line_ids"] = [Command.link(bills_order.id)]
                bills_order = False
            lines.append(Command.create(line_vals))
        vals = {
            "move_type": "out_invoice",
            "partner_id": self.partner_id.id,
            "company_id": self.company_id.id,
            "currency_id": self.currency_id.id,
            "invoice_date": today,
            "fiscal_position_id": plan.terms.fiscal_position.id,
            "invoice_origin": self.sale_order_id.name or self.name,
            "invoice_line_ids": lines,
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

    def _isp_prepare_grant_vals(self, plan, move_of, rollover_of=None):
        self.ensure_one()
        decision = plan.decision
        carried = (rollover_of or {}).get(self.id)
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
                    amount=float(plan.terms.total),
                    move_id=move.id if move else False,
                    **(carried or {}),
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
