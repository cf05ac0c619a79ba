# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import format_amount

from ..core import credit, engine


class IspCreditTopUp(models.TransientModel):
    _name = "isp.credit.top.up"
    _description = "Top Up Prepaid Credit"
    _check_company_auto = True

    subscription_id = fields.Many2one(
        "isp.subscription",
        check_company=True,
        domain="[('commercial_partner_id', '=', commercial_partner_id)]",
        help="Optional: the subscription this prepayment is for. The payment "
        "raises the subscriber's credit, shared by all their subscriptions.",
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        compute="_compute_company_id",
        store=True,
        readonly=False,
        precompute=True,
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Subscriber",
        required=True,
        check_company=True,
        compute="_compute_partner_id",
        store=True,
        readonly=False,
        precompute=True,
    )
    commercial_partner_id = fields.Many2one(related="partner_id.commercial_partner_id")
    journal_id = fields.Many2one(
        "account.journal",
        required=True,
        check_company=True,
        domain="[('type', 'in', ('bank', 'cash'))]",
        compute="_compute_journal_id",
        store=True,
        readonly=False,
        precompute=True,
        help="Bank or cash journal the money was received in.",
    )
    currency_id = fields.Many2one(
        "res.currency",
        required=True,
        compute="_compute_currency_id",
        store=True,
        precompute=True,
    )
    amount = fields.Monetary(required=True)
    date = fields.Date(required=True, default=fields.Date.context_today)
    company_currency_id = fields.Many2one(
        related="company_id.currency_id", string="Company Currency"
    )
    prepaid_credit = fields.Monetary(
        string="Current Credit",
        currency_field="company_currency_id",
        compute="_compute_prepaid_credit",
        groups="account.group_account_invoice,account.group_account_readonly",
    )

    @api.depends("subscription_id")
    def _compute_company_id(self):
        for wizard in self:
            if wizard.subscription_id:
                wizard.company_id = wizard.subscription_id.company_id
            elif not wizard.company_id:
                wizard.company_id = self.env.company

    @api.depends("subscription_id")
    def _compute_partner_id(self):
        for wizard in self:
            if wizard.subscription_id:
                wizard.partner_id = wizard.subscription_id.commercial_partner_id

    @api.depends("company_id")
    def _compute_journal_id(self):
        Journal = self.env["account.journal"]
        for wizard in self:
            if wizard.journal_id.company_id == wizard.company_id:
                continue
            company_domain = Journal._check_company_domain(wizard.company_id)
            wizard.journal_id = Journal.search(
                company_domain + [("type", "=", "bank")], limit=1
            ) or Journal.search(company_domain + [("type", "=", "cash")], limit=1)

    @api.depends("journal_id", "company_id")
    def _compute_currency_id(self):
        for wizard in self:
            wizard.currency_id = (
                wizard.journal_id.currency_id or wizard.company_id.currency_id
            )

    @api.depends("partner_id", "company_id")
    def _compute_prepaid_credit(self):
        for wizard in self:
            wizard.prepaid_credit = wizard.partner_id.with_company(
                wizard.company_id
            ).isp_prepaid_credit

    @api.constrains("amount", "currency_id")
    def _check_amount(self):
        for wizard in self:
            try:
                problem = credit.top_up_problem(
                    wizard.amount, wizard.currency_id.rounding or 0.01
                )
            except ValueError:
                problem = credit.NOT_POSITIVE
            if problem == credit.NOT_POSITIVE:
                raise ValidationError(
                    _(
                        "Enter the amount the subscriber paid: a top-up must be "
                        "more than zero. To take credit back, refund the "
                        "payment from Accounting instead."
                    )
                )
            if problem == credit.TOO_LARGE:
                raise ValidationError(
                    _(
                        "A top-up of %(amount)s is not plausible: check the "
                        "amount (it must be under %(limit)s).",
                        amount=format_amount(
                            self.env, wizard.amount, wizard.currency_id
                        ),
                        limit=format_amount(
                            self.env, float(credit.TOP_UP_LIMIT), wizard.currency_id
                        ),
                    )
                )

    # ------------------------------------------------------------------
    # Buttons
    # ------------------------------------------------------------------
    def action_confirm(self):
        """Post the customer payment; it resumes waiting subscriptions."""
        self.ensure_one()
        self._check_user_can_pay()
        self._check_amount()
        self._check_journal()
        partner = self.partner_id.commercial_partner_id
        Subscription = self.env["isp.subscription"]
        waiting = Subscription.search(
            [
                ("commercial_partner_id", "=", partner.id),
                ("state", "=", engine.WAITING),
            ]
        )
        payment = self.env["account.payment"].create(self._prepare_payment_vals())
        payment.action_post()
        if self.subscription_id:
            self.subscription_id._message_log(
                body=_(
                    "Prepaid credit topped up by %(amount)s (payment %(payment)s).",
                    amount=format_amount(self.env, self.amount, self.currency_id),
                    payment=payment.name,
                )
            )
        waiting.invalidate_recordset(["state"])
        resumed = waiting.filtered(lambda sub: sub.state != engine.WAITING)
        return self._notification(payment, resumed, waiting - resumed)

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def _check_user_can_pay(self):
        if not self.env.user.has_group("account.group_account_invoice"):
            raise AccessError(
                _(
                    "Only users with Accounting billing rights can top up "
                    "prepaid credit. Ask an accountant to record the payment."
                )
            )
        self.env["account.payment"].check_access("create")

    def _check_journal(self):
        self.ensure_one()
        if not self.journal_id.inbound_payment_method_line_ids:
            raise UserError(
                _(
                    "The journal %(journal)s cannot receive payments. Add a "
                    "payment method on its Incoming Payments tab, or choose "
                    "another journal.",
                    journal=self.journal_id.display_name,
                )
            )

    def _prepare_payment_vals(self):
        self.ensure_one()
        memo = _("Prepaid credit top-up")
        if self.subscription_id:
            memo = _("Prepaid credit top-up for %(sub)s", sub=self.subscription_id.name)
        return {
            "payment_type": "inbound",
            "partner_type": "customer",
            "partner_id": self.partner_id.commercial_partner_id.id,
            "amount": self.amount,
            "currency_id": self.currency_id.id,
            "date": self.date,
            "journal_id": self.journal_id.id,
            "company_id": self.company_id.id,
            "memo": memo,
        }

    def _notification(self, payment, resumed, still_waiting):
        message = _(
            "Payment %(payment)s of %(amount)s is posted for %(partner)s.",
            payment=payment.name,
            amount=format_amount(self.env, payment.amount, payment.currency_id),
            partner=payment.partner_id.display_name,
        )
        if resumed:
            message += " " + _(
                "Resumed: %(subs)s.", subs=", ".join(resumed.mapped("name"))
            )
        if still_waiting:
            message += " " + _(
                "Still waiting for credit: %(subs)s. Check their price against "
                "the credit.",
                subs=", ".join(still_waiting.mapped("name")),
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Credit topped up"),
                "message": message,
                "type": "warning" if still_waiting else "success",
                "sticky": bool(still_waiting),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
