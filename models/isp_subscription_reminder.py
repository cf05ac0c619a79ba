# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Credit that arrives, and reminders of subscriptions waiting for it."""

from datetime import timedelta

from markupsafe import Markup

from odoo import _, api, models
from odoo.tools import format_amount, format_date

from ..core import engine


class IspSubscription(models.Model):
    _inherit = "isp.subscription"

    @api.model
    def _isp_credit_received(self, partners):
        """Credit arrived for ``partners``: retry their waiting subscriptions.

        Returns the subscriptions that resumed; their open reminders are
        marked done.
        """
        waiting = self._isp_retry_waiting(partners)
        resumed = waiting.filtered(lambda sub: sub.state != engine.WAITING)
        resumed._isp_close_waiting_reminders()
        # A postpaid subscriber suspended for an unpaid invoice comes back.
        self._isp_dunning_paid(partners)
        return resumed

    @api.model
    def _isp_reminder_activity_type(self):
        return self.env.ref("mail.mail_activity_data_todo")

    def _isp_open_reminders(self):
        """Open reminder activities of these subscriptions."""
        return (
            self.env["mail.activity"]
            .sudo()
            .search(
                [
                    ("res_model", "=", self._name),
                    ("res_id", "in", self.ids),
                    ("activity_type_id", "=", self._isp_reminder_activity_type().id),
                    ("automated", "=", True),
                ]
            )
        )

    def _isp_close_waiting_reminders(self):
        """Mark done the reminders of these subscriptions if they stopped waiting."""
        done = self.filtered(lambda sub: sub.state != engine.WAITING)
        if not done:
            return
        reminders = done._isp_open_reminders()
        if reminders:
            reminders.action_feedback(
                feedback=_("The subscription no longer waits for credit.")
            )

    @api.model
    def _isp_reminder_domain(self, company, today):
        """Subscriptions of ``company`` waiting long enough to be reminded."""
        days = company.isp_waiting_activity_days
        return [
            ("company_id", "=", company.id),
            ("state", "=", engine.WAITING),
            ("waiting_since", "<=", today - timedelta(days=days)),
        ]

    def _isp_needs_reminder(self):
        """These subscriptions, less those already reminded during this wait.

        A reminder dated after the wait began belongs to this wait (it comes
        at least one day after it began).
        """
        reminded = self._isp_open_reminders().mapped("res_id")
        return self.filtered(
            lambda sub: (
                sub.id not in reminded
                and (
                    not sub.waiting_reminder_date
                    or sub.waiting_reminder_date <= sub.waiting_since
                )
            )
        )

    @api.model
    def _isp_fallback_responsible(self, company):
        """The company's first accounting user, else the administrator."""
        users = self.env.ref("account.group_account_invoice").sudo().users
        users = users.filtered(
            lambda user: user.active and not user.share and company in user.company_ids
        )
        return users.sorted("id")[:1] or self.env.ref("base.user_admin")

    def _isp_responsible(self, fallback):
        self.ensure_one()
        user = self.user_id
        if (
            user
            and user.active
            and not user.share
            and self.company_id in user.company_ids
        ):
            return user
        return fallback

    def _isp_schedule_reminders(self, today):
        """One to-do activity per subscription, created in one batch."""
        company = self.env.company
        missing = self._isp_missing_credit()
        fallback = self._isp_fallback_responsible(company)
        activity_type = self._isp_reminder_activity_type()
        model_id = self.env["ir.model"]._get_id(self._name)
        vals_list = []
        for sub in self:
            waited = (today - sub.waiting_since).days
            amount = format_amount(self.env, float(missing[sub.id]), sub.currency_id)
            vals_list.append(
                {
                    "res_model_id": model_id,
                    "res_id": sub.id,
                    "activity_type_id": activity_type.id,
                    "automated": True,
                    "user_id": sub._isp_responsible(fallback).id,
                    "date_deadline": today,
                    "summary": _(
                        "Waiting for credit for %(days)s days: %(amount)s missing",
                        days=waited,
                        amount=amount,
                    ),
                    "note": Markup("<p>%s</p>")
                    % _(
                        "%(sub)s has granted no data since %(since)s: the "
                        "prepaid credit of %(partner)s lacks %(amount)s. Contact "
                        "the subscriber, then record their payment with Top up; "
                        "the subscription resumes at once.",
                        sub=sub.name,
                        since=format_date(self.env, sub.waiting_since),
                        partner=sub.commercial_partner_id.display_name,
                        amount=amount,
                    ),
                }
            )
        self.env["mail.activity"].create(vals_list)
        self.with_context(tracking_disable=True).write({"waiting_reminder_date": today})

    @api.model
    def _cron_remind_waiting(self, date_ref=None):
        """Entry point of the scheduled action "ISP: remind waiting subscriptions".

        Schedules one to-do for the responsible of each subscription that has
        waited for credit at least the company's reminder delay (0 turns the
        reminders off), once per wait; reminders of subscriptions that resumed
        are marked done. One batch per call: ``ir.cron`` calls again while
        subscriptions remain to remind.
        """
        model = self.sudo()
        stale = model.browse(
            model.env["mail.activity"]
            .search(
                [
                    ("res_model", "=", self._name),
                    ("activity_type_id", "=", self._isp_reminder_activity_type().id),
                    ("automated", "=", True),
                ]
            )
            .mapped("res_id")
        ).exists()
        stale._isp_close_waiting_reminders()
        todo = []
        for company in model._isp_companies_with_running_subscriptions():
            if company.isp_waiting_activity_days <= 0:
                continue
            today = self._isp_today(company, date_ref)
            subs = model.search(model._isp_reminder_domain(company, today), order="id")
            subs = subs._isp_needs_reminder()
            if subs:
                todo.append((company, today, subs))
        if not todo:
            self.env["ir.cron"]._notify_progress(done=0, remaining=0)
            return 0
        company, today, subs = todo[0]
        batch = subs[: self.env["isp.fan.out"]._isp_batch_size()]
        batch.with_company(company)._isp_schedule_reminders(today)
        remaining = sum(len(subs) for _company, _today, subs in todo) - len(batch)
        self.env["ir.cron"]._notify_progress(done=len(batch), remaining=remaining)
        return len(batch)
