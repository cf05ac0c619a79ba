# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The scheduled grant run: which subscriptions are due, and their locks.

The run loop itself (one batch per call, or one queue_job job per batch) is
``isp.run.mixin``; this fills in its hooks for the grants. A batch is taken
with ``FOR NO KEY UPDATE SKIP LOCKED``, so concurrent runs share the work, and
handed to the grant run (``isp_grant_run.GrantRun``), which returns its
RunResult. A top-up, *Run now* and a plan change take the same locks and go
through the same grant run.
"""

import psycopg2

from odoo import _, api, models
from odoo.exceptions import UserError
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY
from odoo.tools import SQL

from ..core import engine, fanout
from .isp_grant_run import GrantRun


class IspSubscription(models.Model):
    _inherit = "isp.subscription"

    _isp_run_kind = fanout.GRANT

    @api.model
    def _cron_process_due(self, date_ref=None):
        """Entry point of the scheduled action "ISP: grant recurring data".

        One batch of due subscriptions per call (``isp.run.mixin``), or their
        jobs with the fan-out on. Returns the batch's RunResult (0 when there
        was nothing to do, or the number handed to jobs)."""
        return self._isp_run(date_ref)

    # ------------------------------------------------------------------
    # Hooks of isp.run.mixin
    # ------------------------------------------------------------------
    @api.model
    def _isp_run_scopes(self, date_ref=None):
        return [
            (company, self._isp_today(company, date_ref))
            for company in self._isp_companies_with_running_subscriptions()
        ]

    @api.model
    def _isp_run_due(self, company, today, since=None):
        """Due subscriptions of ``company`` on ``today``.

        Active ones whose next grant date has come, and every subscription
        waiting for credit (retried on each run). A run takes a waiting
        subscription, or one whose last attempt failed, only once: not again
        when it was processed after ``since``, the start of the run (None:
        whatever was processed when, as the preview of the next run asks).
        """
        due = SQL(
            "company_id = %(company)s AND (state = %(waiting)s "
            "OR (state = %(active)s AND next_date <= %(today)s))",
            company=company.id,
            waiting=engine.WAITING,
            active=engine.ACTIVE,
            today=today,
        )
        if since is None:
            return due
        return SQL(
            "%(due)s AND (processed_at IS NULL OR processed_at < %(since)s "
            "OR (state = %(active)s AND last_error IS NULL))",
            due=due,
            since=since,
            active=engine.ACTIVE,
        )

    @api.model
    def _isp_run_take(self, where, limit=None):
        """Lock the next due subscriptions matching ``where``, skipping those
        another transaction holds. A row another transaction changed since
        this one began raises a serialization failure, for the caller."""
        self.flush_model()
        rows = self.env.execute_query(
            SQL(
                "SELECT id FROM isp_subscription WHERE %s ORDER BY id LIMIT %s "
                "FOR NO KEY UPDATE SKIP LOCKED",
                where,
                limit,
            )
        )
        subs = self.browse([row[0] for row in rows])
        subs.invalidate_recordset()
        return subs

    @api.model
    def _isp_run_process(self, subs, company, today):
        return subs._isp_process_locked(today)

    # ------------------------------------------------------------------
    # Locks and the grant run
    # ------------------------------------------------------------------
    @api.model
    def _isp_companies_with_running_subscriptions(self):
        """Companies that have active or waiting subscriptions (one query)."""
        self.flush_model(["state", "company_id"])
        rows = self.env.execute_query(
            SQL(
                "SELECT DISTINCT company_id FROM isp_subscription WHERE state IN %s",
                (engine.ACTIVE, engine.WAITING),
            )
        )
        return self.env["res.company"].sudo().browse(sorted(r[0] for r in rows))

    def _isp_lock(self, nowait=False):
        """Lock these subscriptions for processing, as the run does.

        With ``nowait``, a subscription that another transaction is processing
        raises a UserError instead of waiting.
        """
        if not self:
            return self
        self.flush_recordset()
        lock = SQL("NOWAIT") if nowait else SQL("SKIP LOCKED")
        try:
            with self.env.cr.savepoint():
                rows = self.env.execute_query(
                    SQL(
                        "SELECT id FROM isp_subscription WHERE id IN %s "
                        "ORDER BY id FOR NO KEY UPDATE %s",
                        tuple(self.ids),
                        lock,
                    )
                )
        except psycopg2.Error as exc:
            if exc.pgcode not in PG_CONCURRENCY_ERRORS_TO_RETRY:
                raise
            raise UserError(
                _(
                    "This subscription is being processed right now, by the "
                    "scheduled action or another user. Reload it in a minute."
                )
            ) from exc
        self.invalidate_recordset()
        return self.browse([row[0] for row in rows])

    @api.model
    def _isp_retry_waiting(self, partners):
        """Retry at once the waiting subscriptions of ``partners``.

        Called when credit arrives (a posted customer payment). Same locks and
        grant run as the scheduled action; subscriptions being processed
        elsewhere are skipped and the next run retries them. Returns the
        waiting subscriptions.
        """
        waiting = self.sudo().search(
            [
                ("commercial_partner_id", "in", partners.commercial_partner_id.ids),
                ("state", "=", engine.WAITING),
            ]
        )
        for company, subs in waiting.grouped("company_id").items():
            locked = subs.with_company(company)._isp_lock()
            if locked:
                locked._isp_process_locked(self._isp_today(company))
        return waiting

    def _isp_process_locked(self, today, note=""):
        """The grant run of these locked subscriptions (one company), in a
        clean context (see ``_isp_clean_context``); ``note`` goes on the
        grants. Returns its RunResult."""
        context = self._isp_clean_context()
        if context != self.env.context:
            return self.with_env(self.env(context=context))._isp_process_locked(
                today, note
            )
        return GrantRun(self, today, note).run()

    def _isp_clean_context(self):
        """The user's own context, in the companies at hand, and nothing of
        what a caller's screen added: a form's ``default_*`` keys, or Register
        Payment's ``active_ids`` and ``skip_invoice_sync``, must never reach
        the grants' invoices (``odoo.tools.clean_context`` drops only the
        first)."""
        context = dict(self.env.user.context_get())
        if "allowed_company_ids" in self.env.context:
            context["allowed_company_ids"] = self.env.context["allowed_company_ids"]
        return context
