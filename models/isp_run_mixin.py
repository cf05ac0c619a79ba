# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""One scheduled run, written once: select what is due, take a batch under
lock, process it; inline, or fanned out over queue_job's workers.

A model that runs in batches (the grants, the network delivery, the grants'
e-mails) inherits ``isp.run.mixin`` and fills in its hooks:

- ``_isp_run_kind``: ``core.fanout.GRANT``, ``DELIVER`` or ``NOTIFY``;
- ``_isp_run_scopes(date_ref)``: ``[(scope, day)]``, the companies or RADIUS
  servers that have work, each with its calendar day;
- ``_isp_run_due(scope, day, since)``: the SQL condition of its due rows;
- ``_isp_run_take(where, limit)``: lock and return the due rows matching
  ``where`` (skipping what another transaction holds);
- ``_isp_run_process(records, scope, day)``: do the work; returns what was
  done (anything with a length; a ``summary()`` if it has one).

``_isp_run`` is the scheduled action: with *Spread runs over workers* off, it
takes one batch of the first scope that has some and reports the progress to
``ir.cron``, which calls it again, after a commit, while work remains. On, it
enqueues one queue_job job per batch (``with_delay``), keyed by
``core.fanout.identity_key``, unless the previous run's jobs of that kind and
scope still wait to start; each job (``_isp_run_job``) takes and processes
what is still due among its ids, in its own transaction.
"""

import logging
from datetime import datetime, timezone

import psycopg2

from odoo import _, api, models
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY
from odoo.tools import SQL

from ..core import fanout

_logger = logging.getLogger(__name__)


class IspRunMixin(models.AbstractModel):
    _name = "isp.run.mixin"
    _description = "ISP: a run in batches, inline or over queue_job's workers"

    _isp_run_kind = None

    # ------------------------------------------------------------------
    # Hooks
    # ------------------------------------------------------------------
    @api.model
    def _isp_run_scopes(self, date_ref=None):
        raise NotImplementedError

    @api.model
    def _isp_run_due(self, scope, day, since):
        raise NotImplementedError

    @api.model
    def _isp_run_take(self, where, limit=None):
        raise NotImplementedError

    @api.model
    def _isp_run_process(self, records, scope, day):
        raise NotImplementedError

    # ------------------------------------------------------------------
    # The run
    # ------------------------------------------------------------------
    @api.model
    def _isp_run_since(self):
        """The start of the run: ``ir.cron``'s ``lastcall`` (the end of the
        last complete run; none on the very first run, which takes all), or,
        called on its own (a shell, a server action, an integration), now: a
        call on its own is a whole run, and takes again what waits."""
        if "lastcall" not in self.env.context:
            return datetime.now(timezone.utc).replace(tzinfo=None)
        return self.env.context["lastcall"] or datetime.min

    @api.model
    def _isp_run(self, date_ref=None, batch_size=None):
        """The scheduled action. Returns what the batch processed (inline) or
        how many due rows were handed to jobs (fan-out)."""
        if self.env["isp.fan.out"]._isp_enabled():
            return self._isp_run_fan_out(date_ref)
        since = self._isp_run_since()
        limit = batch_size or self.env["isp.fan.out"]._isp_batch_size()
        scopes = self._isp_run_scopes(date_ref)
        done = None
        for scope, day in scopes:
            model = self._isp_run_model(scope)
            try:
                with self.env.cr.savepoint():
                    records = model._isp_run_take(
                        model._isp_run_due(scope, day, since), limit
                    )
            except psycopg2.Error as exc:
                if exc.pgcode not in PG_CONCURRENCY_ERRORS_TO_RETRY:
                    raise
                # A row changed since this transaction began: the next call
                # (a new transaction) takes it.
                _logger.info(
                    "ISP %s: concurrent update, left for later", self._isp_run_kind
                )
                continue
            if records:
                done = model._isp_run_process(records, scope, day)
                break
        remaining = (
            sum(self._isp_run_count(scope, day, since) for scope, day in scopes)
            if done
            else 0
        )
        self.env["ir.cron"]._notify_progress(
            done=len(done) if done else 0, remaining=remaining
        )
        return done if done is not None else 0

    @api.model
    def _isp_run_model(self, scope):
        """This model as a run works on it: as superuser, in the scope's
        company."""
        company = scope if scope._name == "res.company" else scope.company_id
        return self.sudo().with_company(company)

    @api.model
    def _isp_run_count(self, scope, day, since):
        self.flush_model()
        return self.env.execute_query(
            SQL(
                "SELECT count(*) FROM %s WHERE %s",
                SQL.identifier(self._table),
                self._isp_run_due(scope, day, since),
            )
        )[0][0]

    # ------------------------------------------------------------------
    # The fan-out
    # ------------------------------------------------------------------
    @api.model
    def _isp_run_fan_out(self, date_ref=None):
        """Enqueue one job per batch of due rows of each scope. Returns how
        many due rows were handed to jobs."""
        fan_out = self.env["isp.fan.out"]
        # This run's jobs take a waiting row once: not again when one of them
        # (or a twin job) processed it after now.
        since = datetime.now(timezone.utc).replace(tzinfo=None)
        size = fan_out._isp_batch_size()
        handed = 0
        for scope, day in self._isp_run_scopes(date_ref):
            self.flush_model()
            ids = [
                row[0]
                for row in self.env.execute_query(
                    SQL(
                        "SELECT id FROM %s WHERE %s ORDER BY id",
                        SQL.identifier(self._table),
                        self._isp_run_due(scope, day, since),
                    )
                )
            ]
            if not ids:
                continue
            if fan_out._isp_waiting(self._isp_run_kind, scope.id):
                _logger.info(
                    "ISP %s (%s): jobs of the previous run are still to run, "
                    "%s due left for the next run",
                    self._isp_run_kind,
                    scope.id,
                    len(ids),
                )
                continue
            model = self._isp_run_model(scope)
            label = fan_out._isp_kind_label(self._isp_run_kind)
            cut = fanout.batches(ids, size)
            for batch in cut:
                model.with_delay(
                    identity_key=fanout.identity_key(
                        self._isp_run_kind, scope.id, day, batch
                    ),
                    description=_(
                        "%(work)s: %(count)s due, ids %(first)s to %(last)s",
                        work=label,
                        count=batch.count,
                        first=batch.first,
                        last=batch.last,
                    ),
                )._isp_run_job(batch.first, batch.last, scope, day, since)
            _logger.info(
                "ISP %s (%s): %s due in %s jobs",
                self._isp_run_kind,
                scope.id,
                len(ids),
                len(cut),
            )
            handed += len(ids)
        self.env["ir.cron"]._notify_progress(done=handed, remaining=0)
        return handed

    @api.model
    def _isp_run_job(self, first, last, scope, day, since):
        """A queue_job job of the fan-out: take and process what is still due
        among the rows ``first`` to ``last`` of ``scope``. A PostgreSQL
        concurrency error propagates: queue_job retries the job. Returns what
        it did, for the job's record."""
        where = SQL(
            "%s AND id BETWEEN %s AND %s",
            self._isp_run_due(scope, day, since),
            first,
            last,
        )
        model = self._isp_run_model(scope)
        records = model._isp_run_take(where)
        if not records:
            return _("Nothing left to do: processed by another run or job.")
        done = model._isp_run_process(records, scope, day)
        if hasattr(done, "summary"):
            return done.summary()
        return _("%(count)s processed.", count=len(done))
