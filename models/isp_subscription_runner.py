# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The runner: which subscriptions are due, their locks, and the fallback.

One call of the scheduled action takes one batch of due subscriptions, locked
with ``FOR NO KEY UPDATE SKIP LOCKED`` so that concurrent runs share the work, hands
it to the billing pipeline and reports its progress; ``ir.cron`` calls it
again, committing in between, while work remains. A batch that fails is
replayed one subscription per savepoint, so that one bad subscriber is logged
on its record and the others proceed.
"""

import logging
from datetime import datetime, timezone

import psycopg2
from markupsafe import Markup

from odoo import _, api, models
from odoo.exceptions import UserError
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY
from odoo.tools import SQL

from ..core import engine, fanout

_logger = logging.getLogger(__name__)


class IspSubscription(models.Model):
    _inherit = "isp.subscription"

    # ------------------------------------------------------------------
    # Which subscriptions are due
    # ------------------------------------------------------------------
    @api.model
    def _isp_due_sql(self, company, today, since):
        """Due subscriptions of ``company`` on ``today``.

        Active ones whose next grant date has come, and every subscription
        waiting for credit (retried on each run). A run takes a waiting
        subscription, or one whose last attempt failed, only once: not again
        when it was processed after ``since``, ``ir.cron``'s ``lastcall`` (the
        end of the last complete run).
        """
        return SQL(
            """
            FROM isp_subscription
            WHERE company_id = %(company)s
              AND (state = %(waiting)s
                   OR (state = %(active)s AND next_date <= %(today)s))
              AND (processed_at IS NULL OR processed_at < %(since)s
                   OR (state = %(active)s AND last_error IS NULL))
            """,
            company=company.id,
            waiting=engine.WAITING,
            active=engine.ACTIVE,
            today=today,
            since=since,
        )

    @api.model
    def _isp_lock_due(self, company, today, since, limit, id_range=None):
        """Lock the next batch of due subscriptions, skipping locked ones.

        ``id_range`` (first, last) keeps to the subscriptions of one job's
        batch. A row that another transaction changed since this one began
        cannot be locked (serialization failure): the batch is then empty and
        the subscriptions are left to the next call; in a job, the error
        propagates, and queue_job retries the job.
        """
        self.flush_model()
        due = self._isp_due_sql(company, today, since)
        if id_range:
            due = SQL("%s AND id BETWEEN %s AND %s", due, *id_range)
        try:
            with self.env.cr.savepoint():
                rows = self.env.execute_query(
                    SQL(
                        "SELECT id %s ORDER BY id LIMIT %s "
                        "FOR NO KEY UPDATE SKIP LOCKED",
                        due,
                        limit,
                    )
                )
        except psycopg2.Error as exc:
            if exc.pgcode not in PG_CONCURRENCY_ERRORS_TO_RETRY or id_range:
                raise
            _logger.info("ISP grants: concurrent update, batch left for later")
            return self.browse()
        subs = self.browse([row[0] for row in rows])
        subs.invalidate_recordset()
        return subs

    @api.model
    def _isp_count_due(self, days, since):
        """How many subscriptions are still due, ``days`` giving each
        company's today."""
        return sum(
            self.env.execute_query(
                SQL("SELECT count(*) %s", self._isp_due_sql(company, today, since))
            )[0][0]
            for company, today in days.items()
        )

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
        """Lock these subscriptions for processing, as the cron does.

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

    # ------------------------------------------------------------------
    # Entry points
    # ------------------------------------------------------------------
    @api.model
    def _cron_process_due(self, date_ref=None):
        """Entry point of the scheduled action "ISP: grant recurring data".

        Processes one batch of due subscriptions (the first company that has
        some) and reports the progress: ``ir.cron`` calls it again, after a
        commit, while subscriptions remain due. Returns how many were
        processed.
        """
        if self.env["isp.fan.out"]._isp_enabled():
            return self._isp_fan_out_due(date_ref)
        # The first run ever has no lastcall: it takes what was never processed.
        since = self.env.context.get("lastcall") or datetime.min
        days = {}
        done = 0
        for company in self._isp_companies_with_running_subscriptions():
            days[company] = today = self._isp_today(company, date_ref)
            if done:
                continue
            model = self.sudo().with_company(company)
            subs = model._isp_lock_due(company, today, since, self._isp_batch_size())
            if subs:
                subs._isp_process_locked(today)
                done = len(subs)
        remaining = self._isp_count_due(days, since) if done else 0
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        return done

    @api.model
    def _isp_fan_out_due(self, date_ref=None):
        """The scheduled action with the fan-out on: one job per batch of due
        subscriptions of each company (``isp.fan.out``). Returns how many
        subscriptions were handed to the jobs."""
        # This run's jobs take a waiting or failed subscription once: not
        # again when one of them (or a twin job) processed it after now.
        since = datetime.now(timezone.utc).replace(tzinfo=None)
        groups = []
        for company in self._isp_companies_with_running_subscriptions():
            today = self._isp_today(company, date_ref)
            rows = self.env.execute_query(
                SQL(
                    "SELECT id %s ORDER BY id", self._isp_due_sql(company, today, since)
                )
            )
            groups.append(
                (
                    company.id,
                    self.sudo().with_company(company),
                    today,
                    [row[0] for row in rows],
                    (company, today, since),
                )
            )
        return self.env["isp.fan.out"]._isp_fan_out(
            fanout.GRANT, self._isp_batch_size(), "_isp_job_grant", groups
        )

    @api.model
    def _isp_job_grant(self, first, last, company, today, since):
        """A queue_job job of the fan-out: the pipeline of the scheduled
        action, for what is still due among the subscriptions ``first`` to
        ``last`` of ``company``. Returns what it did, for the job's record."""
        model = self.sudo().with_company(company)
        subs = model._isp_lock_due(company, today, since, None, (first, last))
        if not subs:
            return _("Nothing left to do: processed by another run or job.")
        grants = self.env["isp.data.grant"].sudo()
        last_grant = grants.search([], order="id desc", limit=1).id or 0
        subs._isp_process_locked(today)
        failed = subs.filtered("last_error")
        new = grants.search(
            [("id", ">", last_grant), ("subscription_id", "in", subs.ids)]
        )
        return self._isp_run_summary(new, failed)

    @api.model
    def _isp_retry_waiting(self, partners):
        """Retry at once the waiting subscriptions of ``partners``.

        Called when credit arrives (a posted customer payment). Same locks and
        code path as the cron; subscriptions being processed elsewhere are
        skipped and the cron retries them.
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

    # ------------------------------------------------------------------
    # One locked batch, with its one-by-one fallback
    # ------------------------------------------------------------------
    def _isp_process_locked(self, today):
        """Decide, bill and record the grants of these locked subscriptions.

        The whole batch is executed at once (one ``account.move.create``); if
        that fails, each subscription is planned again and executed alone
        under its own savepoint, so that one bad record is logged and
        skipped. It runs in a clean context (see ``_isp_clean_context``).
        """
        context = self._isp_clean_context()
        if context != self.env.context:
            return self.with_env(self.env(context=context))._isp_process_locked(today)
        switched = self._isp_apply_pending_plans(today)
        plans, errors = self._isp_plan(today)
        errors.update(switched)
        plans = [plan for plan in plans if plan.changes_anything()]
        if plans:
            try:
                with self.env.cr.savepoint():
                    self._isp_execute(plans, today)
            except Exception:  # noqa: BLE001 - retried one by one below
                _logger.info(
                    "ISP grants: batch of %s failed, retrying one by one",
                    len(plans),
                    exc_info=True,
                )
                errors.update(self._isp_execute_one_by_one(plans, today))
        self._isp_record_errors(errors)
        self._isp_mark_processed()

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

    def _isp_execute_one_by_one(self, plans, today):
        """Plan and execute each subscription alone: the batch's plan spent
        every subscriber's credit on grants that did not all happen."""
        errors = {}
        for plan in plans:
            sub = plan.subscription
            try:
                with self.env.cr.savepoint():
                    alone, failed = sub._isp_plan(today)
                    errors.update(failed)
                    alone = [p for p in alone if p.changes_anything()]
                    if alone:
                        self._isp_execute(alone, today)
            except Exception as exc:  # noqa: BLE001 - one bad record is skipped
                errors[sub] = self._isp_error_text(exc)
        return errors

    def _isp_mark_processed(self):
        """Stamp these subscriptions as processed by this run.

        The clock's own time, to the microsecond, so that a run never takes
        them again while the next run (whose ``lastcall`` is later) does.
        """
        self.env.execute_query(
            SQL(
                "UPDATE isp_subscription "
                "SET processed_at = clock_timestamp() AT TIME ZONE 'UTC' "
                "WHERE id IN %s",
                tuple(self.ids),
            )
        )
        self.invalidate_recordset(["processed_at"])

    # ------------------------------------------------------------------
    # What a run did, in a notification
    # ------------------------------------------------------------------
    @api.model
    def _isp_run_summary(self, grants, failed):
        """One sentence on these new grants and failed subscriptions."""
        granted = grants.filtered(lambda g: g.state == "granted")
        short = grants.filtered(lambda g: g.reason == engine.INSUFFICIENT)
        missed = grants.filtered(lambda g: g.reason == engine.MISSED)
        parts = []
        if granted:
            parts.append(_("%(count)s period(s) granted", count=len(granted)))
        if short:
            parts.append(_("%(count)s skipped for lack of credit", count=len(short)))
        if missed:
            parts.append(_("%(count)s missed, not charged", count=len(missed)))
        if failed:
            parts.append(
                _(
                    "%(count)s failed: %(subs)s (the reason is on each)",
                    count=len(failed),
                    subs=", ".join(failed[:5].mapped("name")),
                )
            )
        if not parts:
            return _("Nothing was due: no period starts before the next grant date.")
        return _("%(parts)s.", parts="; ".join(parts))

    @api.model
    def _isp_notification(self, title, message, warning=False):
        """A notification, then the screen reloads to show what changed."""
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": message,
                "type": "warning" if warning else "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    @api.model
    def _isp_error_text(self, exc):
        if isinstance(exc, psycopg2.Error) and (
            exc.pgcode in PG_CONCURRENCY_ERRORS_TO_RETRY
        ):
            return _(
                "Another transaction changed this subscription meanwhile; it "
                "will be retried on the next run."
            )
        if isinstance(exc, psycopg2.IntegrityError):
            return _(
                "This period was already granted by another run; nothing was "
                "charged twice. (%(error)s)",
                error=exc.pgerror or exc,
            )
        return str(exc.args[0]) if exc.args else str(exc)

    def _isp_record_errors(self, errors):
        """Write each failed subscription's error on it and in its chatter."""
        for sub, message in errors.items():
            _logger.warning("ISP grants: %s skipped: %s", sub.name, message)
            with self.env.cr.savepoint():
                sub.with_context(tracking_disable=True).write({"last_error": message})
                sub._message_log(
                    body=Markup("<p>%s</p><p>%s</p>")
                    % (_("Recurring grant failed, it will be retried:"), message)
                )
