# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The subscriber's pages in Odoo's portal, and their online top-up.

``/my/isp/subscriptions``: their subscriptions and prepaid credit.
``/my/isp/subscriptions/<id>``: one subscription, its grants and invoices.
``/my/isp/subscriptions/<id>/top_up``: pay an amount with Odoo's payment
providers; the confirmed transaction becomes a posted customer payment, which
raises the credit and resumes waiting subscriptions (payment_transaction.py).
Access as Odoo does for invoices: the portal record rules of the subscriber's
commercial partner, or the subscription's access token.
"""

from odoo import _, http
from odoo.exceptions import AccessError, MissingError, UserError, ValidationError
from odoo.http import request

from odoo.addons.payment import utils as payment_utils
from odoo.addons.payment.controllers.portal import PaymentPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager

from ..core import credit

MODEL = "isp.subscription"
HISTORY = "my_isp_subscriptions_history"
VOUCHER_FEEDBACK = "isp_voucher_feedback"


class IspPortal(PaymentPortal):
    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "isp_subscription_count" in counters:
            Subscription = request.env[MODEL]
            values["isp_subscription_count"] = (
                Subscription.search_count(self._isp_domain(), limit=1)
                if Subscription.has_access("read")
                else 0
            )
        return values

    def _isp_domain(self):
        partner = request.env.user.partner_id.commercial_partner_id
        return [
            ("commercial_partner_id", "=", partner.id),
            ("state", "!=", "draft"),
        ]

    def _isp_subscription(self, sub_id, access_token=None):
        """The subscription, sudoed, or None when the user may not see it."""
        try:
            return self._document_check_access(MODEL, sub_id, access_token)
        except (AccessError, MissingError):
            return None

    @http.route(
        ["/my/isp/subscriptions", "/my/isp/subscriptions/page/<int:page>"],
        type="http",
        auth="user",
        website=True,
    )
    def portal_my_isp_subscriptions(self, page=1, **kw):
        Subscription = request.env[MODEL]
        domain = self._isp_domain()
        pager = portal_pager(
            url="/my/isp/subscriptions",
            total=Subscription.search_count(domain),
            page=page,
            step=self._items_per_page,
        )
        subscriptions = Subscription.search(
            domain, limit=self._items_per_page, offset=pager["offset"]
        )
        request.session[HISTORY] = subscriptions.ids[:100]
        sudo = subscriptions.sudo()
        values = self._prepare_portal_layout_values()
        values.update(
            page_name="isp_subscription",
            subscriptions=sudo,
            pager=pager,
            credits={sub.id: sub._isp_portal_credit() for sub in sudo},
            low_credit=sudo._isp_low_credit(),
        )
        return request.render("isp_data_recurring.portal_my_isp_subscriptions", values)

    @http.route(
        ["/my/isp/subscriptions/<int:sub_id>"], type="http", auth="public", website=True
    )
    def portal_my_isp_subscription(self, sub_id, access_token=None, **kw):
        sub_sudo = self._isp_subscription(sub_id, access_token)
        if not sub_sudo:
            return request.redirect("/my")
        values = self._get_page_view_values(
            sub_sudo,
            access_token,
            self._prepare_portal_layout_values(),
            HISTORY,
            False,
            **kw,
        )
        invoices = sub_sudo.grant_ids.move_id.filtered(lambda m: m.state == "posted")
        values.update(
            page_name="isp_subscription",
            subscription=sub_sudo,
            credit=sub_sudo._isp_portal_credit(),
            resume_hint=sub_sudo._isp_resume_hint(),
            low_credit=sub_sudo._isp_low_credit().get(sub_sudo),
            usage_days=sub_sudo._isp_portal_usage_days(),
            voucher_feedback=request.session.pop(VOUCHER_FEEDBACK, None),
            invoices=invoices,
            access_token=access_token,
        )
        return request.render("isp_data_recurring.portal_isp_subscription", values)

    @http.route(
        ["/my/isp/subscriptions/<int:sub_id>/voucher"],
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
    )
    def portal_isp_redeem_voucher(self, sub_id, pin=None, **kw):
        """Redeem a prepaid card on one's own subscription; what happened is
        shown on the subscription's page."""
        sub_sudo = self._isp_subscription(sub_id)
        if not sub_sudo or sub_sudo.state == "closed":
            return request.redirect("/my")
        try:
            with request.env.cr.savepoint():
                card, message = sub_sudo._isp_redeem_voucher(
                    pin,
                    "portal",
                    address=request.httprequest.remote_addr,
                    user=request.env.user,
                )
        except UserError as exc:
            # e.g. a bundle card whose pack the period cannot take: the card
            # stays unused, and the subscriber reads why.
            card, message = None, str(exc)
        request.session[VOUCHER_FEEDBACK] = (bool(card), message)
        return request.redirect(sub_sudo.access_url)

    # ------------------------------------------------------------------
    # Online top-up
    # ------------------------------------------------------------------
    def _isp_top_up_problem(self, amount, currency):
        """Why ``amount`` cannot be a top-up, in words; None when it can."""
        try:
            problem = credit.top_up_problem(amount or 0, currency.rounding)
        except ValueError:
            problem = credit.NOT_POSITIVE
        if problem == credit.NOT_POSITIVE:
            return _("Enter the amount you want to pay: more than zero.")
        if problem == credit.TOO_LARGE:
            return _("That amount is not plausible: check it.")
        return None

    @http.route(
        ["/my/isp/subscriptions/<int:sub_id>/top_up"],
        type="http",
        auth="user",
        website=True,
    )
    def portal_isp_top_up(self, sub_id, amount=None, **kw):
        sub_sudo = self._isp_subscription(sub_id)
        if not sub_sudo:
            return request.redirect("/my")
        partner = request.env.user.partner_id
        company, currency = sub_sudo.company_id, sub_sudo.currency_id
        suggested = sub_sudo._isp_missing_credit()[sub_sudo.id]
        amount = self._cast_as_float(amount)
        values = {
            **self._prepare_portal_layout_values(),
            "page_name": "isp_subscription",
            "subscription": sub_sudo,
            "currency": currency,
            "amount": amount,
            "suggested": float(suggested) or None,
            "problem": amount is not None
            and self._isp_top_up_problem(amount, currency),
        }
        if amount is not None and not values["problem"]:
            report = {}
            providers = (
                request.env["payment.provider"]
                .sudo()
                ._get_compatible_providers(
                    company.id,
                    partner.id,
                    amount,
                    currency_id=currency.id,
                    report=report,
                )
            )
            values.update(
                providers_sudo=providers,
                payment_methods_sudo=request.env["payment.method"]
                .sudo()
                ._get_compatible_payment_methods(
                    providers.ids, partner.id, currency_id=currency.id, report=report
                ),
                tokens_sudo=request.env["payment.token"]
                .sudo()
                ._get_available_tokens(providers.ids, partner.id),
                availability_report=report,
                show_tokenize_input_mapping=self._compute_show_tokenize_input_mapping(
                    providers
                ),
                company_mismatch=not self._can_partner_pay_in_company(partner, company),
                expected_company=company,
                reference_prefix=f"TOPUP-{sub_sudo.name}",
                partner_id=partner.id,
                transaction_route=f"/my/isp/subscriptions/{sub_sudo.id}/top_up/transaction",
                landing_route=sub_sudo.access_url,
                access_token=payment_utils.generate_access_token(
                    partner.id, amount, currency.id
                ),
            )
        return request.render("isp_data_recurring.portal_isp_top_up", values)

    @http.route(
        ["/my/isp/subscriptions/<int:sub_id>/top_up/transaction"],
        type="json",
        auth="user",
    )
    def portal_isp_top_up_transaction(self, sub_id, amount, access_token, **kwargs):
        sub_sudo = self._isp_subscription(sub_id)
        if not sub_sudo:
            raise ValidationError(_("This subscription is not yours."))
        partner = request.env.user.partner_id
        currency = sub_sudo.currency_id
        amount = self._cast_as_float(amount)
        if not payment_utils.check_access_token(
            access_token, partner.id, amount, currency.id
        ):
            raise ValidationError(_("The access token is invalid."))
        problem = self._isp_top_up_problem(amount, currency)
        if problem:
            raise ValidationError(problem)
        self._validate_transaction_kwargs(kwargs)
        if kwargs.get("is_validation"):
            raise ValidationError(_("A top-up is a payment, not a validation."))
        # Never trust the browser with where to land.
        kwargs["landing_route"] = sub_sudo.access_url
        tx_sudo = self._create_transaction(
            amount=amount,
            currency_id=currency.id,
            partner_id=partner.id,
            reference_prefix=f"TOPUP-{sub_sudo.name}",
            custom_create_values={"isp_subscription_id": sub_sudo.id},
            **kwargs,
        )
        return tx_sudo._get_processing_values()
