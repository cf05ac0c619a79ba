# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""What a subscription's period costs and what its subscriber can pay: the
one price road (``BillingTerms``), Odoo's credit, and the core's view of a
subscription. The grant run (``isp_grant_run.py``), the screens and the
portal all read money through these, so what they show is what a run decides.
"""

from dataclasses import dataclass
from decimal import Decimal

from odoo import Command, _, api, models
from odoo.exceptions import UserError

from ..core import credit, engine, units


@dataclass(frozen=True)
class BillingTerms:
    """One period's invoice lines, and their total: the one price road.

    The invoice is built from ``lines`` and totals ``total`` (taxes
    included, in the subscription's currency); the credit check uses
    ``credit_total``, the same total in the company's currency at the rate
    of the day. Both come from the same values, so they agree by
    construction.
    """

    fiscal_position: models.BaseModel
    lines: tuple
    total: Decimal
    credit_total: Decimal


class IspSubscription(models.Model):
    _inherit = "isp.subscription"

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

    def _isp_core_subscription(self, terms, data_gb=None):
        """The subscription as the core sees it, at ``terms`` (BillingTerms
        of one period; an add-on pack passes its own terms and data)."""
        self.ensure_one()
        template = self.product_id.product_tmpl_id
        if data_gb is None:
            data_gb = units.normalize_data_limit(self.data_limit_gb) * self.quantity
        return engine.Subscription(
            mode=self.recurring_mode,
            state=self.state,
            rule=self._isp_rule(),
            anchor=self.recurrence_anchor or self.date_start,
            next_date=self.next_date or self.date_start,
            credit_total=terms.credit_total,
            invoice_total=terms.total,
            invoice_policy=self.invoice_policy,
            data_gb=data_gb,
            closing=template.isp_status == "retired"
            and template.isp_retire_policy == "close",
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
    def _isp_billing_terms_getter(self, company, day=None):
        """Return ``sub -> BillingTerms`` of one period on ``day`` (the rate
        of the day converts a foreign currency for the credit check).

        Computed once per package, price, quantity, currency and fiscal
        position: thousands of subscribers share a handful of packages.
        """
        fpos_of = self._isp_fiscal_position_getter(company)
        day = day or self._isp_today(company)
        cache = {}

        def terms_of(sub):
            fpos = fpos_of(sub.commercial_partner_id)
            key = (
                sub.product_id.id,
                sub.price_unit,
                sub.quantity,
                sub.currency_id.id,
                sub.unused_credit,
                fpos.id,
            )
            if key not in cache:
                cache[key] = sub._isp_billing_terms(fpos, company, day)
            return cache[key]

        return terms_of

    def _isp_billing_terms(self, fiscal_position, company, day):
        """The invoice lines of one period (without their labels), and their
        total with taxes computed from those very lines."""
        self.ensure_one()
        taxes = self.product_id.taxes_id._filter_taxes_by_company(self.company_id)
        taxes = fiscal_position.map_tax(taxes)
        analytic = self.site_id.analytic_account_id
        common = {"tax_ids": [Command.set(taxes.ids)]}
        if analytic:
            common["analytic_distribution"] = {str(analytic.id): 100}
        lines = [
            dict(
                common,
                product_id=self.product_id.id,
                quantity=float(self.quantity),
                price_unit=self.price_unit,
            )
        ]
        if self.unused_credit:
            # One-off plan change: the unused part of the old plan.
            lines.append(
                dict(
                    common,
                    product_id=self.product_id.id,
                    quantity=1.0,
                    price_unit=-self.unused_credit,
                    isp_unused=True,
                )
            )
        total = sum(
            taxes.compute_all(
                line["price_unit"],
                currency=self.currency_id,
                quantity=line["quantity"],
                product=self.product_id,
                partner=self.commercial_partner_id,
            )["total_included"]
            for line in lines
        )
        credit_total = total
        if self.currency_id != company.currency_id:
            credit_total = self.currency_id._convert(
                total, company.currency_id, company, day
            )
        return BillingTerms(
            fiscal_position,
            tuple(lines),
            credit.to_decimal(total),
            credit.to_decimal(credit_total),
        )

    def _isp_terms_of(self, product, day, quantity=None, price_unit=None, label=None):
        """BillingTerms of one period of this subscription on ``product``
        (a plan change, an add-on pack), at its price in the subscription's
        currency unless ``price_unit`` says otherwise; ``label`` names the
        first invoice line."""
        self.ensure_one()
        candidate = self.new(
            {
                "partner_id": self.partner_id.id,
                "product_id": product.id,
                "company_id": self.company_id.id,
                "currency_id": self.currency_id.id,
                "price_unit": self._isp_price_of(product, day)
                if price_unit is None
                else price_unit,
                "quantity": self.quantity if quantity is None else quantity,
                "unused_credit": 0.0,
            }
        )
        fpos = self._isp_fiscal_position_getter(self.company_id)(
            self.commercial_partner_id
        )
        terms = candidate._isp_billing_terms(fpos, self.company_id, day)
        if label:
            lines = (dict(terms.lines[0], name=label), *terms.lines[1:])
            terms = BillingTerms(
                terms.fiscal_position, lines, terms.total, terms.credit_total
            )
        return terms

    def _isp_price_of(self, product, day):
        """``product``'s price in this subscription's currency."""
        self.ensure_one()
        company = self.company_id
        return company.currency_id._convert(
            product.lst_price, self.currency_id, company, day
        )

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
