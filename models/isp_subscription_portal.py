# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The subscription as its subscriber sees it: the portal, and the warning
before a renewal their credit will not pay."""

from datetime import timedelta

from odoo import _, api, fields, models
from odoo.tools import format_amount, format_date

from ..core import credit, engine, forecast


class IspSubscription(models.Model):
    _inherit = "isp.subscription"

    low_credit_warned_on = fields.Date(
        readonly=True,
        copy=False,
        help="The renewal date the subscriber was last warned of, so that "
        "each renewal is warned of once.",
    )

    def _compute_access_url(self):
        res = super()._compute_access_url()
        for sub in self:
            sub.access_url = f"/my/isp/subscriptions/{sub.id}"
        return res

    # ------------------------------------------------------------------
    # What the portal shows
    # ------------------------------------------------------------------
    def _isp_portal_credit(self):
        """The subscriber's prepaid credit in this subscription's company."""
        self.ensure_one()
        sub = self.sudo()
        return float(sub._isp_credits(sub.company_id)[sub.commercial_partner_id.id])

    def _isp_portal_grant_line(self, grant):
        """One period, in the subscriber's words."""
        self.ensure_one()
        if grant.state == "granted":
            if grant.move_id and grant.payment_state in ("paid", "in_payment"):
                return _("Granted, paid from your credit")
            return _("Granted")
        if grant.state == "reversed":
            return _("Cancelled and credited back")
        if grant.resolved_by_id:
            return _(
                "Not granted then; resumed on %(date)s after your top-up",
                date=format_date(self.env, grant.resolved_by_id.period_start),
            )
        if grant.reason == engine.INSUFFICIENT:
            return _(
                "Not granted: your credit (%(credit)s) did not cover %(price)s",
                credit=format_amount(self.env, grant.credit_before, grant.currency_id),
                price=format_amount(self.env, grant.price_total, grant.currency_id),
            )
        return _("Not charged: our service did not run that day")

    def _isp_portal_usage_days(self, today=None):
        """The daily usage of the current and previous periods, for the
        portal's bars: ``[(day, GB, percent of the busiest day)]``, oldest
        first (empty without usage)."""
        self.ensure_one()
        sub = self.sudo()
        today = today or sub._isp_today(sub.company_id)
        periods = sub.grant_ids.filtered(
            lambda g: (
                g.state == "granted" and g.kind == "period" and g.period_start <= today
            )
        ).sorted("period_start")[-2:]
        if not periods:
            return []
        days = (
            self.env["isp.usage.day"]
            .sudo()
            .search(
                [
                    ("subscription_id", "=", sub.id),
                    ("day", ">=", periods[0].period_start),
                    ("day", "<=", min(periods[-1].period_end, today)),
                ],
                order="day",
            )
        )
        top = max(days.mapped("used_gb"), default=0.0)
        return [
            (d.day, d.used_gb, round(100.0 * d.used_gb / top) if top else 0)
            for d in days
        ]

    def _isp_resume_hint(self):
        """What resumes a waiting subscription, for its subscriber: the
        amount and what it gives ("top up 3.50 to get your next 5 GB")."""
        self.ensure_one()
        if self.state != engine.WAITING:
            return False
        missing = self.sudo()._isp_missing_credit()[self.id]
        return _(
            "Top up %(amount)s to get your next %(data)s at once.",
            amount=format_amount(self.env, float(missing), self.currency_id),
            data=self.data_label if self.data_limit_gb else _("period"),
        )

    def _isp_low_credit(self, today=None):
        """``{subscription: missing}`` of these credit-based subscriptions
        whose next renewal, within the company's warning delay, the credit
        will not pay: ``core.forecast``, with every running subscription of
        their subscribers, as the runs will decide them."""
        result = {}
        subs = self.sudo().filtered(
            lambda s: s.state == engine.ACTIVE and s.recurring_mode == engine.CREDIT
        )
        for company, company_subs in subs.grouped("company_id").items():
            today_c = today or self._isp_today(company)
            window = today_c + timedelta(days=company.isp_low_credit_days)
            coming = company_subs.filtered(
                lambda s, t=today_c, w=window: s.next_date and t < s.next_date <= w
            )
            if not coming:
                continue
            rounding = credit.to_decimal(company.currency_id.rounding)
            running = (
                self.sudo()
                .with_company(company)
                .search(
                    [
                        ("company_id", "=", company.id),
                        (
                            "commercial_partner_id",
                            "in",
                            coming.commercial_partner_id.ids,
                        ),
                        ("state", "in", (engine.ACTIVE, engine.WAITING)),
                    ],
                    order="id",
                )
            )
            credit_of = running._isp_credits(company)
            terms_of = running._isp_billing_terms_getter(company, today_c)
            for partner, partner_subs in running.grouped(
                "commercial_partner_id"
            ).items():
                short = forecast.short_before(
                    credit_of[partner.id],
                    [(s, s._isp_core_subscription(terms_of(s))) for s in partner_subs],
                    today_c,
                    window,
                    rounding,
                )
                result.update(
                    {
                        sub.with_env(self.env): missing
                        for sub, missing in short.items()
                        if sub in coming
                    }
                )
        return result

    @api.model
    def _cron_warn_low_credit(self, date_ref=None):
        """Entry point of the scheduled action "ISP: warn of low credit".

        E-mails each credit-based subscriber whose next renewal their credit
        will not pay, once per renewal, with what is missing and by when."""
        model = self.sudo()
        candidates = model.search(
            [
                ("state", "=", engine.ACTIVE),
                ("recurring_mode", "=", engine.CREDIT),
            ]
        )
        today = fields.Date.to_date(date_ref) if date_ref else None
        short = candidates._isp_low_credit(today)
        todo = {
            sub: missing
            for sub, missing in short.items()
            if sub.low_credit_warned_on != sub.next_date
        }
        template = self.env.ref(
            "isp_data_recurring.mail_template_low_credit", raise_if_not_found=False
        )
        sms = self.env.ref(
            "isp_data_recurring.sms_template_low_credit", raise_if_not_found=False
        )
        for sub, missing in todo.items():
            amount = format_amount(self.env, float(missing), sub.currency_id)
            if (
                template
                and sub.partner_id.email
                and sub.company_id._isp_notifies_by("email")
            ):
                template.with_context(isp_missing=amount).send_mail(
                    sub.id, force_send=False
                )
            if sms and sub.company_id._isp_notifies_by("sms"):
                sub._isp_sms(
                    sms.sudo()
                    .with_context(isp_missing=amount)
                    ._render_field("body", sub.ids, compute_lang=True)[sub.id]
                )
            sub.with_context(tracking_disable=True).low_credit_warned_on = sub.next_date
            sub._message_log(
                body=_(
                    "Low credit: %(missing)s missing for the renewal of %(date)s; "
                    "the subscriber was warned.",
                    missing=format_amount(self.env, float(missing), sub.currency_id),
                    date=format_date(self.env, sub.next_date),
                )
            )
        self.env["ir.cron"]._notify_progress(done=len(todo), remaining=0)
        return len(todo)
