# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The money a grant run moves: the batch's invoices in one
``account.move.create``, their payment from the prepaid credit in one
reconciliation plan, and the credit note of a plan change's unused part.
Called by ``isp_grant_run.GrantRun.execute``, which decides nothing here
that the core's decision did not say.
"""

from odoo import Command, _, api, models
from odoo.exceptions import UserError
from odoo.tools import format_date

from ..core import units


class IspSubscription(models.Model):
    _inherit = "isp.subscription"

    @api.model
    def _isp_create_invoices(self, plans, today):
        """One ``account.move.create`` for the batch's invoiced grants.

        Returns ``{(subscription id, period start): invoice}`` and the
        invoices the decisions want posted, for the run to post last.
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
            bills_order = plan.sale_line or (
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
        return move_of, to_post

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
