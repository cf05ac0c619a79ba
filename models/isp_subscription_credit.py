# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The subscription's money as the accountant sees it: what a period costs
with taxes, what credit is missing, and the top-up that resumes it.

Every amount here comes from the pipeline's own getters (billing terms, Odoo's
credit), so what the screens show is what the next run decides on.
"""

from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import format_amount, format_date

from ..core import credit, engine

ACCOUNTING_READERS = "account.group_account_invoice,account.group_account_readonly"


class IspSubscription(models.Model):
    _inherit = "isp.subscription"

    price_total = fields.Monetary(
        string="Price incl. Taxes",
        compute="_compute_price_total",
        help="What one period's invoice totals, taxes included: the amount the "
        "prepaid credit must cover.",
    )
    credit_missing = fields.Monetary(
        string="Missing",
        compute="_compute_credit_missing",
        groups=ACCOUNTING_READERS,
        help="Waiting for credit: what the subscriber must still pay for the "
        "next period to be granted (its price with taxes minus the credit).",
    )
    waiting_message = fields.Char(compute="_compute_waiting_message")

    @api.depends("product_id", "price_unit", "partner_id", "company_id")
    def _compute_price_total(self):
        for sub, terms in self._isp_terms_by_sub().items():
            sub.price_total = float(terms.total) if terms else 0.0

    @api.depends("state", "product_id", "price_unit", "partner_id", "company_id")
    @api.depends_context("company")
    def _compute_credit_missing(self):
        waiting = self.filtered(lambda s: s.state == engine.WAITING)
        missing = waiting._isp_missing_credit()
        for sub in self:
            sub.credit_missing = float(missing.get(sub.id) or 0)

    @api.depends("state", "waiting_since", "product_id", "price_unit", "partner_id")
    def _compute_waiting_message(self):
        """One line for the banner; the amounts only for who may see credits."""
        can_see = self.env.user.has_group(
            "account.group_account_invoice"
        ) or self.env.user.has_group("account.group_account_readonly")
        waiting = self.filtered(lambda s: s.state == engine.WAITING)
        missing = waiting._isp_missing_credit() if can_see else {}
        for sub in self:
            if sub not in waiting:
                sub.waiting_message = False
            elif can_see:
                sub.waiting_message = _(
                    "Waiting for credit since %(since)s: top up %(missing)s to "
                    "resume it at once (a period costs %(price)s with taxes).",
                    since=format_date(self.env, sub.waiting_since),
                    missing=format_amount(
                        self.env, float(missing[sub.id]), sub.currency_id
                    ),
                    price=format_amount(self.env, sub.price_total, sub.currency_id),
                )
            else:
                sub.waiting_message = _(
                    "Waiting for credit since %(since)s: no data is granted until "
                    "the subscriber's prepaid credit covers the next period. An "
                    "accountant can record their payment.",
                    since=format_date(self.env, sub.waiting_since),
                )

    def _isp_terms_by_sub(self):
        """BillingTerms of one period of each subscription (None when it has
        no package yet, or its terms cannot be computed while being typed)."""
        result = {}
        for company, subs in self.grouped("company_id").items():
            terms_of = self.sudo()._isp_billing_terms_getter(company)
            for sub in subs:
                try:
                    result[sub] = terms_of(sub.sudo()) if sub.product_id else None
                except ValueError:
                    result[sub] = None
        return result

    def _isp_missing_credit(self):
        """Credit each subscription lacks for its next period, by id (Decimal).

        Each subscription is compared alone with its subscriber's credit.
        """
        result = {}
        for company, subs in self.grouped("company_id").items():
            subs = subs.sudo().with_company(company)
            rounding = credit.to_decimal(company.currency_id.rounding)
            credit_of = subs._isp_credits(company)
            terms_of = subs._isp_billing_terms_getter(company)
            for sub in subs:
                available = credit_of[sub.commercial_partner_id.id]
                result[sub.id] = credit.missing_credit(
                    available, terms_of(sub).credit_total, rounding
                )
        return result

    def _isp_missing_credit_together(self, company):
        """What resumes all these subscriptions of one subscriber at once:
        their periods' totals together, less the credit (Decimal, 0 or more)."""
        if not self:
            return 0
        subs = self.sudo().with_company(company)
        terms_of = subs._isp_billing_terms_getter(company)
        total = sum(terms_of(sub).credit_total for sub in subs)
        available = subs._isp_credits(company)[subs.commercial_partner_id.id]
        return credit.missing_credit(
            available, total, credit.to_decimal(company.currency_id.rounding)
        )

    @api.model
    def _isp_check_can_top_up(self):
        if not self.env.user.has_group("account.group_account_invoice"):
            raise AccessError(
                _(
                    "Only users with Accounting billing rights can top up "
                    "prepaid credit. Ask an accountant to record the payment."
                )
            )
