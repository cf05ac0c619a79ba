# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The settings of the runs and what the accountant sees of their jobs.

With the setting *Spread runs over workers* on, the scheduled actions that
grant data, deliver to the network and send the grants' e-mails enqueue one
OCA queue_job job per batch (``isp_run_mixin.py``); queue_job's runner hands
the jobs to every worker of every server. Off (the default), each scheduled
action does the work itself, one batch per call.

Each job runs the same pipeline as the scheduled action, in its own
transaction, under the same locks: what another job or a user holds is
skipped, and what is no longer due is left alone. A job that fails on a
PostgreSQL concurrency error is retried by queue_job; one that fails otherwise
records its error and rolls back whole, and the next run takes its work again
once it is no longer pending.
"""

from odoo import _, api, models
from odoo.tools import SQL, str2bool

from ..core import fanout
from .res_config_settings import DEFAULT_BATCH_SIZE

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
    def _isp_batch_size(self):
        """Rows per batch of a run (Settings), 1 or more."""
        value = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("isp_data_recurring.batch_size", DEFAULT_BATCH_SIZE)
        )
        try:
            return max(int(value), 1)
        except (TypeError, ValueError):
            return DEFAULT_BATCH_SIZE

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
