# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""What the subscription's chatter says of each grant and skip."""

from markupsafe import Markup, escape

from odoo import _, api, models
from odoo.tools import format_amount, format_date

from ..core import engine, units


class IspSubscription(models.Model):
    _inherit = "isp.subscription"

    @api.model
    def _isp_log_results(self, plans, grants):
        """One chatter note per subscription, posted in one batch."""
        grants_of = grants.grouped("subscription_id")
        bodies = {}
        for plan in plans:
            sub = plan.subscription
            sub_grants = grants_of.get(sub)
            if sub_grants:
                bodies[sub.id] = Markup("<br/>").join(
                    sub._isp_grant_message(grant) for grant in sub_grants
                )
        if bodies:
            self.browse(list(bodies))._message_log_batch(bodies=bodies)

    def _isp_grant_message(self, grant):
        self.ensure_one()
        period = _(
            "%(start)s to %(end)s",
            start=format_date(self.env, grant.period_start),
            end=format_date(self.env, grant.period_end),
        )
        if grant.state == "granted" and grant.kind == "addon":
            return escape(
                _(
                    "%(note)s: %(data)s more until %(end)s.",
                    note=grant.note or _("Add-on"),
                    data=units.format_data(grant.data_gb),
                    end=format_date(self.env, grant.period_end),
                )
            )
        if grant.state == "granted":
            message = _(
                "Granted %(data)s for %(period)s, %(amount)s",
                data=units.format_data(grant.data_gb),
                period=period,
                amount=format_amount(self.env, grant.amount, grant.currency_id),
            )
            if grant.move_id:
                message += _(
                    " (invoice %(invoice)s, %(payment)s)",
                    invoice=grant.move_id.name or _("draft"),
                    payment=dict(
                        grant.move_id._fields["payment_state"]._description_selection(
                            self.env
                        )
                    ).get(grant.move_id.payment_state, ""),
                )
            return escape(message) + self._isp_no_email_text()
        if grant.reason == engine.INSUFFICIENT:
            return (
                escape(
                    _(
                        "Skipped %(period)s: credit %(credit)s does not cover "
                        "%(price)s. The subscription resumes as soon as the credit is "
                        "topped up.",
                        period=period,
                        credit=format_amount(
                            self.env, grant.credit_before, grant.currency_id
                        ),
                        price=format_amount(
                            self.env, grant.price_total, grant.currency_id
                        ),
                    )
                )
                + self._isp_no_email_text()
            )
        return escape(
            _(
                "Skipped %(period)s: missed while grants were not running, not "
                "charged.",
                period=period,
            )
        )

    def _isp_no_email_text(self):
        self.ensure_one()
        if self.partner_id.email:
            return ""
        return escape(_(" The subscriber has no e-mail address: not notified."))

    def _isp_sms(self, body):
        """Send ``body`` by SMS to the subscriber's mobile (else phone),
        through Odoo's SMS queue, logged in the chatter; without a number,
        the chatter says so and nothing is sent."""
        self.ensure_one()
        partner = self.partner_id
        if not (partner.mobile or partner.phone):
            self._message_log(
                body=_("The subscriber has no mobile number: SMS not sent: %s", body)
            )
            return False
        return self._message_sms(body, partner_ids=partner.ids, put_in_queue=True)
