# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The grant run: plan, execute, and the result it returns.

``GrantRun(subscriptions, today).run()`` is what every road that grants data
goes through: the scheduled action and its queue_job jobs, *Run now*, a
top-up that resumes waiting subscriptions, a plan change made now. An add-on
pack goes through its ``execute`` with its own plan. The subscriptions are
locked by the caller (``isp_subscription_runner.py``).

1. **Plan** (``plan``): the subscribers' credits and the billing terms are read
   in a few queries (``isp_subscription_pricing.py``), and
   ``core.engine.CreditLedger`` decides each subscription once.
2. **Execute** (``execute``): the decisions are carried out without asking the
   rules again: the invoices (``isp_subscription_invoicing.py``), the grant
   rows from the core's own Grants and Skips, the new schedules, the e-mails
   and the network's outbox, then posting and the payment from credit last
   (see ``execute``), and the chatter.
3. **Result** (``RunResult``): the grants written and the subscriptions that
   failed, with why. Callers report from it; nothing is looked up again.

The whole batch is executed at once; if that fails, each subscription is
planned again and executed alone under its own savepoint, so one bad record
is logged on it and skipped while the rest proceed.
"""

import logging
from dataclasses import dataclass, field

import psycopg2
from markupsafe import Markup

from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY
from odoo.tools import SQL

from ..core import credit, engine

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GrantPlan:
    """What the core decided for one locked subscription, with its terms.

    ``sale_line`` is the order line the first invoice bills (an add-on pack
    sold on an order); ``note`` goes on the grants (why they are special).
    """

    subscription: object
    core: engine.Subscription
    decision: engine.Decision
    terms: object
    sale_line: object = None
    note: str = ""

    def changes_anything(self):
        return self.decision.changes(self.core)

    def rows(self, granted, skipped, common=None):
        """One row of values per period decided, in period order:
        ``granted(grant)`` or ``skipped(skip)`` adds each its own values to
        its period's and ``common``'s."""
        for event in self.decision.events:
            own = skipped(event) if isinstance(event, engine.Skip) else granted(event)
            yield {
                **(common or {}),
                "period_start": event.period.start,
                "period_end": event.period.end,
                **own,
            }

    @property
    def renews(self):
        """Whether this plan grants a period (not only an add-on pack)."""
        return any(g.kind == "period" for g in self.decision.grants)


@dataclass
class RunResult:
    """What a run did: the grant rows it wrote, the subscriptions it took,
    and those that failed with why (``{subscription: message}``)."""

    env: object
    grants: object
    processed: object
    errors: dict = field(default_factory=dict)

    @classmethod
    def empty(cls, env):
        return cls(env, env["isp.data.grant"], env["isp.subscription"])

    def __len__(self):
        return len(self.processed)

    def __or__(self, other):
        return RunResult(
            self.env,
            self.grants | other.grants,
            self.processed | other.processed,
            {**self.errors, **other.errors},
        )

    @property
    def failed(self):
        return self.env["isp.subscription"].union(*self.errors)

    def summary(self):
        """One sentence on what was granted, skipped and failed."""
        _ = self.env._
        grants = self.grants
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
        if self.errors:
            parts.append(
                _(
                    "%(count)s failed: %(subs)s (the reason is on each)",
                    count=len(self.errors),
                    subs=", ".join(self.failed[:5].mapped("name")),
                )
            )
        if not parts:
            return _("Nothing was due: no period starts before the next grant date.")
        return _("%(parts)s.", parts="; ".join(parts))


def error_text(env, exc):
    """What an exception means for the accountant reading it on a record."""
    if isinstance(exc, psycopg2.Error) and exc.pgcode in PG_CONCURRENCY_ERRORS_TO_RETRY:
        return env._(
            "Another transaction changed this subscription meanwhile; it "
            "will be retried on the next run."
        )
    if isinstance(exc, psycopg2.IntegrityError):
        return env._(
            "This period was already granted by another run; nothing was "
            "charged twice. (%(error)s)",
            error=exc.pgerror or exc,
        )
    return str(exc.args[0]) if exc.args else str(exc)


class GrantRun:
    """One run over locked subscriptions of one company, on one day."""

    def __init__(self, subscriptions, today, note=""):
        self.subs = subscriptions
        self.env = subscriptions.env
        self.today = today
        self.note = note

    # ------------------------------------------------------------------
    # The run
    # ------------------------------------------------------------------
    def run(self):
        """Plan and execute; returns the RunResult."""
        errors = self.subs._isp_apply_pending_plans(self.today)
        plans, failed = self.plan()
        errors.update(failed)
        plans = [plan for plan in plans if plan.changes_anything()]
        grants = self.env["isp.data.grant"]
        if plans:
            try:
                with self.env.cr.savepoint():
                    grants = self.execute(plans)
            except Exception:  # noqa: BLE001 - retried one by one below
                _logger.info(
                    "ISP grants: batch of %s failed, retrying one by one",
                    len(plans),
                    exc_info=True,
                )
                grants, failed = self._execute_one_by_one(plans)
                errors.update(failed)
        self._record_errors(errors)
        self._mark_processed()
        return RunResult(self.env, grants, self.subs, errors)

    def _execute_one_by_one(self, plans):
        """Plan and execute each subscription alone: the batch's plan spent
        every subscriber's credit on grants that did not all happen."""
        grants, errors = self.env["isp.data.grant"], {}
        for plan in plans:
            sub = plan.subscription
            try:
                with self.env.cr.savepoint():
                    alone, failed = GrantRun(sub, self.today, self.note).plan()
                    errors.update(failed)
                    alone = [p for p in alone if p.changes_anything()]
                    if alone:
                        grants |= self.execute(alone)
            except Exception as exc:  # noqa: BLE001 - one bad record is skipped
                errors[sub] = error_text(self.env, exc)
        return grants, errors

    def _record_errors(self, errors):
        """Write each failed subscription's error on it and in its chatter."""
        _ = self.env._
        for sub, message in errors.items():
            _logger.warning("ISP grants: %s skipped: %s", sub.name, message)
            with self.env.cr.savepoint():
                sub.with_context(tracking_disable=True).write({"last_error": message})
                sub._message_log(
                    body=Markup("<p>%s</p><p>%s</p>")
                    % (_("Recurring grant failed, it will be retried:"), message)
                )

    def _mark_processed(self):
        """Stamp the subscriptions as processed by this run, with the clock's
        own time, so that a run never takes them again while the next run
        (whose ``lastcall`` is later) does."""
        if not self.subs:
            return
        self.env.execute_query(
            SQL(
                "UPDATE isp_subscription "
                "SET processed_at = clock_timestamp() AT TIME ZONE 'UTC' "
                "WHERE id IN %s",
                tuple(self.subs.ids),
            )
        )
        self.subs.invalidate_recordset(["processed_at"])

    # ------------------------------------------------------------------
    # 1. Plan: read everything the core needs, decide once
    # ------------------------------------------------------------------
    def plan(self):
        """The GrantPlans of the subscriptions, and the errors of those that
        cannot be billed (``{subscription: message}``).

        Subscriptions are decided in their order (by id): each sees the credit
        its subscriber's previous subscriptions left.
        """
        subs = self.subs
        company = self.env.company
        rounding = credit.to_decimal(company.currency_id.rounding)
        ledger = engine.CreditLedger(subs._isp_credits(company))
        terms_of = subs._isp_billing_terms_getter(company, self.today)
        plans, errors = [], {}
        for sub in subs:
            try:
                sub._isp_check_billable()
                terms = terms_of(sub)
                core = sub._isp_core_subscription(terms)
                decision = ledger.decide(
                    sub.commercial_partner_id.id, core, self.today, rounding
                )
                plans.append(GrantPlan(sub, core, decision, terms, note=self.note))
            except Exception as exc:  # noqa: BLE001 - one bad record is skipped
                errors[sub] = error_text(self.env, exc)
        return plans, errors

    # ------------------------------------------------------------------
    # 2. Execute: all of it, or nothing
    # ------------------------------------------------------------------
    def execute(self, plans):
        """Execute these plans in one transaction; returns the grants.

        Posting comes last, with the payment from credit and the chatter that
        names the invoices: posting takes the sale journal's next numbers, and
        Odoo's invoice numbers are gapless per journal, so another batch that
        posts in the journal waits from then until this transaction commits.
        Doing everything else first keeps that wait short, which is what lets
        batches run side by side on several workers.
        """
        Subscription = self.env["isp.subscription"]
        move_of, to_post = Subscription._isp_create_invoices(plans, self.today)
        carried = Subscription._isp_rollover_in(plans)
        grants = (
            self.env["isp.data.grant"]
            .sudo()
            .create(
                [
                    vals
                    for plan in plans
                    for vals in self._grant_vals(plan, move_of, carried)
                ]
            )
        )
        self._resolve_skips(plans, grants)
        self._write_schedules(plans)
        grants._isp_queue_notifications()
        Subscription._isp_after_execute(plans, self.today)
        if to_post:
            to_post.action_post()
        Subscription._isp_pay_from_credit(plans, move_of)
        Subscription._isp_log_results(plans, grants)
        return grants

    @staticmethod
    def _grant_vals(plan, move_of, carried):
        """The grant rows of one plan, from the core's own Grants and Skips."""
        sub, decision = plan.subscription, plan.decision
        common = {
            "subscription_id": sub.id,
            "partner_id": sub.partner_id.id,
            "company_id": sub.company_id.id,
            "currency_id": sub.currency_id.id,
            "credit_before": float(decision.credit or 0),
            "price_total": float(plan.core.billed_total),
        }
        if plan.note:
            common["note"] = plan.note

        def granted_vals(granted):
            move = move_of.get((sub.id, granted.period.start))
            vals = {
                "state": "granted",
                "kind": granted.kind,
                "data_gb": float(granted.data_gb),
                "amount": float(granted.amount),
                "move_id": move.id if move else False,
            }
            if granted.kind == "period":
                vals.update(carried.get(sub.id) or {})
            return vals

        def skipped_vals(skip):
            return {
                "state": "skipped",
                "reason": skip.reason,
                "data_gb": 0.0,
                "amount": 0.0,
            }

        return list(plan.rows(granted_vals, skipped_vals, common))

    def _resolve_skips(self, plans, grants):
        """A subscription that resumed resolves its skips for lack of credit:
        they read as resolved by the grant that restarted it."""
        restarted = {
            plan.subscription.id
            for plan in plans
            if plan.renews and plan.core.state == engine.WAITING
        }
        if not restarted:
            return
        skips = (
            self.env["isp.data.grant"]
            .sudo()
            .search(
                [
                    ("subscription_id", "in", list(restarted)),
                    ("reason", "=", engine.INSUFFICIENT),
                    ("resolved_by_id", "=", False),
                ]
            )
        )
        granted_of = {
            grant.subscription_id.id: grant
            for grant in grants
            if grant.state == "granted" and grant.kind == "period"
        }
        for sub, sub_skips in skips.grouped("subscription_id").items():
            sub_skips.write({"resolved_by_id": granted_of[sub.id].id})

    def _write_schedules(self, plans):
        """Write the new schedules, grouped so equal values share one UPDATE."""
        groups = {}
        for plan in plans:
            decision, sub = plan.decision, plan.subscription
            waiting_since = False
            if decision.state == engine.WAITING:
                waiting_since = sub.waiting_since or self.today
            key = (
                decision.state,
                decision.anchor,
                decision.next_date,
                decision.valid_until or sub.valid_until,
                waiting_since,
            )
            groups.setdefault(key, []).append(sub.id)
        Subscription = self.env["isp.subscription"]
        for key, ids in groups.items():
            state, anchor, next_date, valid_until, waiting_since = key
            Subscription.browse(ids).with_context(tracking_disable=True).write(
                {
                    "state": state,
                    "recurrence_anchor": anchor,
                    "next_date": next_date,
                    "valid_until": valid_until,
                    "waiting_since": waiting_since,
                    "last_error": False,
                }
            )
