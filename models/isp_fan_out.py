# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The fan-out: a scheduled run spread over Odoo's workers by OCA queue_job.

With the setting *Spread runs over workers* on, the scheduled actions that
grant data, deliver to the network and send the grants' e-mails select what
is due and enqueue one job per batch (``core.fanout``); queue_job's runner
hands the jobs to every worker of every server. Off (the default), each
scheduled action does the work itself, one batch per call, as before.

Each job runs the same pipeline as the scheduled action, in its own
transaction, under the same locks: what another job or a user holds is
skipped, and what is no longer due is left alone. A job that fails on a
PostgreSQL concurrency error is retried by queue_job; one that fails otherwise
records its error and rolls back whole, and the next run takes its work again
once it is no longer pending.
"""

import logging

from odoo import _, api, models
from odoo.tools import SQL, str2bool

from ..core import fanout

_logger = logging.getLogger(__name__)

FAN_OUT_PARAM = "isp_data_recurring.fan_out"
# A job in one of these states has not started yet: while a run's jobs wait,
# the next run enqueues nothing more of that kind and scope.
WAITING = ("wait_dependencies", "pending", "enqueued")
# Still to finish: waiting, or running (or died running: queue_job's runner
# requeues a job whose worker died).
OUTSTANDING = (*WAITING, "started")


class IspFanOut(models.AbstractModel):
    _name = "isp.fan.out"
    _description = "ISP: runs spread over workers (queue_job)"

    @api.model
    def _isp_enabled(self):
        """Whether the scheduled runs are spread over queue_job's workers."""
        value = self.env["ir.config_parameter"].sudo().get_param(FAN_OUT_PARAM)
        return str2bool(value or "0", False)

    @api.model
    def _isp_waiting(self, kind, scope):
        """Whether jobs of this kind and scope wait to start (one query)."""
        self.env["queue.job"].flush_model(["identity_key", "state"])
        return bool(
            self.env.execute_query(
                SQL(
                    "SELECT 1 FROM queue_job WHERE identity_key LIKE %s "
                    "AND state IN %s LIMIT 1",
                    fanout.scope_prefix(kind, scope) + "%",
                    WAITING,
                )
            )
        )

    @api.model
    def _isp_ids_by_scope(self, model, scope_field, where):
        """``[(scope id, [due ids in id order])]`` of ``model``'s rows that
        match ``where``, grouped by ``scope_field`` (one query)."""
        model.flush_model()
        return self.env.execute_query(
            SQL(
                "SELECT %s, array_agg(id ORDER BY id) FROM %s WHERE %s "
                "GROUP BY 1 ORDER BY 1",
                SQL.identifier(scope_field),
                SQL.identifier(model._table),
                where,
            )
        )

    @api.model
    def _isp_fan_out(self, kind, size, method, groups):
        """Enqueue the jobs of one run. ``groups`` gives, per scope (company
        or RADIUS server), ``(scope id, target, day, due ids, job args)``.
        Reports the progress to ``ir.cron``; returns how many due ids were
        handed to jobs."""
        handed = 0
        for scope, target, day, ids, args in groups:
            batches = self._isp_enqueue(
                target, kind, scope, day, ids, size, method, *args
            )
            handed += sum(batch.count for batch in batches)
        self.env["ir.cron"]._notify_progress(done=handed, remaining=0)
        return handed

    @api.model
    def _isp_enqueue(self, target, kind, scope, day, ids, size, method, *args):
        """Enqueue one job per batch of ``ids``: ``target.method(first, last,
        *args)``, named and keyed by ``core.fanout``. Returns the batches.

        Unless jobs of this kind and scope still wait to start: the next run
        enqueues what they leave, so one run's jobs never pile on another's.
        A running job does not hold the next run back: what it holds locked,
        the next run's jobs skip, and what a dead job left undone, they do.
        """
        if not ids:
            return []
        if self._isp_waiting(kind, scope):
            _logger.info(
                "ISP %s (%s): jobs of the previous run are still to run, "
                "%s due left for the next run",
                kind,
                scope,
                len(ids),
            )
            return []
        cut = fanout.batches(ids, size)
        label = self._isp_kind_label(kind)
        for batch in cut:
            delayable = target.with_delay(
                identity_key=fanout.identity_key(kind, scope, day, batch),
                description=_(
                    "%(work)s: %(count)s due, ids %(first)s to %(last)s",
                    work=label,
                    count=batch.count,
                    first=batch.first,
                    last=batch.last,
                ),
            )
            getattr(delayable, method)(batch.first, batch.last, *args)
        _logger.info("ISP %s (%s): %s due in %s jobs", kind, scope, len(ids), len(cut))
        return cut

    @api.model
    def _isp_kind_label(self, kind):
        return {
            fanout.GRANT: _("Grant recurring data"),
            fanout.DELIVER: _("Deliver to the network"),
            fanout.NOTIFY: _("Send grant notifications"),
        }[kind]

    # ------------------------------------------------------------------
    # What the accountant sees: the jobs of the runs
    # ------------------------------------------------------------------
    @api.model
    def _isp_jobs_domain(self, state=None):
        domain = [("identity_key", "=like", fanout.KEY_PREFIX + "%")]
        if state == "pending":
            domain.append(("state", "in", OUTSTANDING))
        elif state:
            domain.append(("state", "=", state))
        return domain

    @api.model
    def isp_job_counts(self):
        """Pending and failed jobs of the runs, for the subscriptions list:
        ``{"enabled", "pending", "failed", "can_open"}`` (one query)."""
        self.env["isp.subscription"].check_access("read")
        self.env["queue.job"].flush_model(["identity_key", "state", "company_id"])
        rows = self.env.execute_query(
            SQL(
                "SELECT state, count(*) FROM queue_job "
                "WHERE identity_key LIKE %s AND state IN %s "
                "AND (company_id IS NULL OR company_id IN %s) GROUP BY state",
                fanout.KEY_PREFIX + "%",
                (*OUTSTANDING, "failed"),
                tuple(self.env.companies.ids),
            )
        )
        counts = dict(rows)
        return {
            "enabled": self._isp_enabled(),
            "pending": sum(counts.get(state, 0) for state in OUTSTANDING),
            "failed": counts.get("failed", 0),
            "can_open": self.env["queue.job"].has_access("read"),
        }

    @api.model
    def action_isp_open_jobs(self, state=None):
        """The jobs of the runs, in queue_job's own views."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "queue_job.action_queue_job"
        )
        action.update(
            {
                "name": _("Jobs of the ISP runs"),
                "domain": self._isp_jobs_domain(state),
                "context": {},
            }
        )
        return action


class QueueJob(models.Model):
    _inherit = "queue.job"

    def related_action_isp_batch(self):
        """The records of an ISP run's batch (its first to last id): the
        subscriptions, network events or grants the job took care of."""
        self.ensure_one()
        first, last = self.args[:2]
        return {
            "type": "ir.actions.act_window",
            "name": self.name,
            "res_model": self.model_name,
            "view_mode": "list,form",
            "views": [(False, "list"), (False, "form")],
            "domain": [("id", ">=", first), ("id", "<=", last)],
        }
