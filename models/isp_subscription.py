# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import psycopg2
from markupsafe import Markup, escape

from odoo import Command, _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL, format_amount, format_date, split_every

from ..core import clock, credit, engine, recurrence, units
from .product_template import (
    INVOICE_POLICY_SELECTION,
    RECURRENCE_SELECTION,
    RECURRING_MODE_SELECTION,
    check_data_limit_vals,
    check_price_vals,
)
from .res_config_settings import DEFAULT_BATCH_SIZE

_logger = logging.getLogger(__name__)

STATE_SELECTION = [
    (engine.DRAFT, "Draft"),
    (engine.ACTIVE, "Active"),
    (engine.WAITING, "Waiting for Credit"),
    (engine.CLOSED, "Closed"),
]
# Fields that define the schedule: frozen once the subscription runs.
SCHEDULE_FIELDS = {"date_start", "recurrence", "recurrence_interval"}
# Context keys kept when credit arrives from another flow (a payment).
CLEAN_CONTEXT_KEYS = ("lang", "tz", "tracking_disable", "allowed_company_ids")
# Time budget of one scheduled-action call; Odoo calls the job again while
# it reports remaining work (ir.cron progress API).
CRON_TIME_BUDGET = 120


@dataclass
class GrantPlan:
    """What the core decided for one locked subscription, with billing data."""

    subscription: "IspSubscription"
    decision: engine.Decision
    total: Decimal
    credit: Decimal | None
    taxes: models.BaseModel
    fiscal_position: models.BaseModel
    today: object

    def changes_anything(self):
        decision, sub = self.decision, self.subscription
        return bool(
            decision.events
            or decision.state != sub.state
            or decision.next_date != sub.next_date
            or decision.anchor != sub.recurrence_anchor
        )


class IspSubscription(models.Model):
    _name = "isp.subscription"
    _description = "ISP Subscription"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(
        string="Reference",
        required=True,
        readonly=True,
        copy=False,
        default=lambda self: _("New"),
        index="trigram",
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Subscriber",
        required=True,
        index=True,
        tracking=True,
        check_company=True,
    )
    commercial_partner_id = fields.Many2one(
        related="partner_id.commercial_partner_id", store=True, index=True
    )
    product_id = fields.Many2one(
        "product.product",
        string="Package",
        required=True,
        tracking=True,
        check_company=True,
        domain=[("isp_is_recurring", "=", True)],
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    currency_id = fields.Many2one(
        related="company_id.currency_id", string="Currency", store=True
    )
    site_id = fields.Many2one(
        related="product_id.isp_site_id", string="Site", store=True, index=True
    )
    price_unit = fields.Monetary(
        string="Price",
        compute="_compute_from_product",
        store=True,
        readonly=False,
        precompute=True,
        tracking=True,
        help="Price of one period, before taxes. Defaults to the package's price.",
    )
    recurring_mode = fields.Selection(
        RECURRING_MODE_SELECTION,
        string="Mode",
        compute="_compute_from_product",
        store=True,
        readonly=False,
        precompute=True,
        required=True,
        tracking=True,
    )
    invoice_policy = fields.Selection(
        INVOICE_POLICY_SELECTION,
        string="One-off Invoicing",
        compute="_compute_from_product",
        store=True,
        readonly=False,
        precompute=True,
        required=True,
    )
    recurrence = fields.Selection(
        RECURRENCE_SELECTION,
        compute="_compute_from_product",
        store=True,
        readonly=False,
        precompute=True,
        required=True,
    )
    recurrence_interval = fields.Integer(
        string="Repeat Every",
        compute="_compute_from_product",
        store=True,
        readonly=False,
        precompute=True,
        required=True,
    )
    data_limit_gb = fields.Float(
        string="Data Limit (GB)",
        digits=(16, 3),
        compute="_compute_from_product",
        store=True,
        readonly=False,
        precompute=True,
        help="0: no data limit, each period only renews the validity.",
    )
    date_start = fields.Date(
        string="Start Date",
        required=True,
        default=fields.Date.context_today,
        tracking=True,
    )
    recurrence_anchor = fields.Date(
        readonly=True,
        copy=False,
        help="Date the periods are counted from: the start date, or the day the "
        "subscription resumed after waiting for credit.",
    )
    next_date = fields.Date(
        string="Next Grant",
        readonly=True,
        copy=False,
        index=True,
        tracking=True,
    )
    state = fields.Selection(
        STATE_SELECTION,
        default=engine.DRAFT,
        required=True,
        readonly=True,
        copy=False,
        index=True,
        tracking=True,
    )
    valid_until = fields.Date(
        readonly=True,
        copy=False,
        help="End of the last granted period: the subscriber's access is paid "
        "until this day.",
    )
    grant_ids = fields.One2many(
        "isp.data.grant", "subscription_id", string="Grants", readonly=True
    )
    grant_count = fields.Integer(compute="_compute_grant_count")
    data_label = fields.Char(compute="_compute_data_label")
    last_error = fields.Text(readonly=True, copy=False)
    waiting_since = fields.Date(
        readonly=True,
        copy=False,
        help="First day of the current wait for credit.",
    )
    waiting_reminder_date = fields.Date(
        string="Reminded On",
        readonly=True,
        copy=False,
        help="Day the responsible was last reminded that this subscription "
        "waits for credit.",
    )
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        default=lambda self: self.env.user,
        tracking=True,
        help="The accountant reminded when the subscription waits for credit.",
    )
    sale_line_id = fields.Many2one(
        "sale.order.line",
        string="Order Line",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The sale order line this subscription was sold on. Its first "
        "grant bills that line.",
    )
    sale_order_id = fields.Many2one(
        related="sale_line_id.order_id", string="Sale Order", store=True
    )

    @api.depends("product_id")
    def _compute_from_product(self):
        for sub in self:
            template = sub.product_id.product_tmpl_id
            if not template:
                continue
            sub.price_unit = sub.product_id.lst_price
            sub.recurring_mode = template.isp_recurring_mode or engine.CREDIT
            sub.invoice_policy = template.isp_invoice_policy or "posted"
            sub.recurrence = template.isp_recurrence or recurrence.MONTHLY
            sub.recurrence_interval = template.isp_recurrence_interval or 1
            sub.data_limit_gb = template.isp_data_limit_gb

    @api.depends("data_limit_gb")
    def _compute_data_label(self):
        for sub in self:
            sub.data_label = units.format_data(sub.data_limit_gb)

    def _compute_grant_count(self):
        groups = self.env["isp.data.grant"]._read_group(
            [("subscription_id", "in", self.ids)], ["subscription_id"], ["__count"]
        )
        counts = {sub.id: count for sub, count in groups}
        for sub in self:
            sub.grant_count = counts.get(sub.id, 0)

    @api.constrains("product_id", "company_id")
    def _check_product(self):
        for sub in self:
            product = sub.product_id
            if not product.isp_is_recurring:
                raise ValidationError(
                    _(
                        "%(product)s is not a recurring ISP service. Give it a "
                        "recurrence on its Data Recurring tab, or choose another "
                        "package.",
                        product=product.display_name,
                    )
                )
            if product.company_id and product.company_id != sub.company_id:
                raise ValidationError(
                    _(
                        "The package %(product)s belongs to %(product_company)s, "
                        "but subscription %(sub)s is in %(company)s. Choose a "
                        "package of %(company)s or a shared one.",
                        product=product.display_name,
                        product_company=product.company_id.name,
                        sub=sub.name,
                        company=sub.company_id.name,
                    )
                )

    @api.constrains(
        "price_unit", "recurrence", "recurrence_interval", "data_limit_gb", "date_start"
    )
    def _check_terms(self):
        for sub in self:
            if sub.price_unit < 0:
                raise ValidationError(
                    _(
                        "The price of subscription %(sub)s cannot be negative. "
                        "Enter a price of 0 or more.",
                        sub=sub.name,
                    )
                )
            try:
                units.normalize_data_limit(sub.data_limit_gb)
                sub._isp_rule()
                recurrence.check_start(sub.date_start)
            except ValueError as exc:
                raise ValidationError(
                    _("Subscription %(sub)s: %(error)s", sub=sub.name, error=exc)
                ) from exc

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            check_data_limit_vals(vals, "data_limit_gb")
            check_price_vals(self.env, vals, "price_unit")
            if vals.get("name", _("New")) == _("New"):
                vals["name"] = self.env["ir.sequence"].next_by_code(
                    "isp.subscription"
                ) or _("New")
        return super().create(vals_list)

    def write(self, vals):
        check_data_limit_vals(vals, "data_limit_gb")
        check_price_vals(self.env, vals, "price_unit")
        if SCHEDULE_FIELDS & vals.keys() and any(
            sub.state != engine.DRAFT for sub in self
        ):
            raise UserError(
                _(
                    "The start date and recurrence of a running subscription "
                    "cannot change. Close it and create a new one."
                )
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_draft(self):
        if any(sub.state != engine.DRAFT or sub.grant_ids for sub in self):
            raise UserError(
                _(
                    "Only draft subscriptions without grants can be deleted. "
                    "Close the subscription instead: its grants stay as the "
                    "audit trail."
                )
            )

    # ------------------------------------------------------------------
    # Buttons
    # ------------------------------------------------------------------
    def action_activate(self):
        for sub in self:
            if sub.state != engine.DRAFT:
                raise UserError(
                    _("Subscription %(sub)s is already running.", sub=sub.name)
                )
        for sub in self:
            sub.write(
                {
                    "state": engine.ACTIVE,
                    "recurrence_anchor": sub.date_start,
                    "next_date": sub.date_start,
                    "last_error": False,
                }
            )
        return True

    def action_close(self):
        self.write({"state": engine.CLOSED})
        return True

    def action_run_now(self):
        """Process these subscriptions now, through the cron's code path."""
        self._isp_check_manager()
        self._isp_lock(nowait=True)
        for company, subs in self.grouped("company_id").items():
            today = self._isp_today(company)
            subs.sudo().with_company(company)._isp_process_locked(today)
        return True

    def action_view_grants(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "isp_data_recurring.isp_data_grant_action"
        )
        action["domain"] = [("subscription_id", "=", self.id)]
        action["context"] = {}
        return action

    def action_view_invoices(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account.action_move_out_invoice_type"
        )
        action["domain"] = [("id", "in", self.grant_ids.move_id.ids)]
        action["context"] = {"default_move_type": "out_invoice"}
        return action

    def action_open_top_up(self):
        """Open the top-up wizard, the missing credit as the amount."""
        self.ensure_one()
        if not self.env.user.has_group("account.group_account_invoice"):
            raise AccessError(
                _(
                    "Only users with Accounting billing rights can top up "
                    "prepaid credit. Ask an accountant to record the payment."
                )
            )
        context = {
            "default_subscription_id": self.id,
            "default_partner_id": self.commercial_partner_id.id,
            "default_company_id": self.company_id.id,
        }
        if self.state == engine.WAITING:
            missing = self._isp_missing_credit().get(self.id)
            if missing:
                context["default_amount"] = float(missing)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "isp_data_recurring.isp_credit_top_up_action"
        )
        action["context"] = context
        return action

    # ------------------------------------------------------------------
    # Engine: the shell around core.engine
    # ------------------------------------------------------------------
    def _isp_check_manager(self):
        if not self.env.user.has_group("isp_data_recurring.group_isp_manager"):
            raise AccessError(_("Only ISP Managers can run recurring grants by hand."))
        self.check_access("write")

    def _isp_rule(self):
        self.ensure_one()
        return recurrence.Rule(self.recurrence, self.recurrence_interval)

    @api.model
    def _isp_today(self, company, date_ref=None):
        """The calendar day it is for ``company`` (its ISP timezone)."""
        if date_ref:
            return fields.Date.to_date(date_ref)
        return clock.local_today(
            datetime.now(timezone.utc), company._isp_effective_timezone()
        )

    @api.model
    def _isp_batch_size(self):
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
    def _isp_due_sql(self, company, today, after_id):
        """Due subscriptions of ``company`` on ``today``, by id after ``after_id``.

        Active ones whose next grant date has come, and every subscription
        waiting for credit (retried on each run).
        """
        return SQL(
            """
            FROM isp_subscription
            WHERE company_id = %(company)s
              AND id > %(after)s
              AND (state = %(waiting)s
                   OR (state = %(active)s AND next_date <= %(today)s))
            """,
            company=company.id,
            after=after_id,
            waiting=engine.WAITING,
            active=engine.ACTIVE,
            today=today,
        )

    @api.model
    def _isp_lock_due(self, company, today, after_id, limit):
        """Lock the next batch of due subscriptions, skipping locked ones."""
        self.flush_model()
        rows = self.env.execute_query(
            SQL(
                "SELECT id %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                self._isp_due_sql(company, today, after_id),
                limit,
            )
        )
        subs = self.browse([row[0] for row in rows])
        subs.invalidate_recordset()
        return subs

    @api.model
    def _isp_count_due(self, company, today, after_id):
        rows = self.env.execute_query(
            SQL("SELECT count(*) %s", self._isp_due_sql(company, today, after_id))
        )
        return rows[0][0]

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
                        "ORDER BY id FOR UPDATE %s",
                        tuple(self.ids),
                        lock,
                    )
                )
        except (
            psycopg2.errors.LockNotAvailable,
            psycopg2.errors.SerializationFailure,
        ) as exc:
            raise UserError(
                _(
                    "This subscription is being processed right now, by the "
                    "scheduled action or another user. Reload it in a minute."
                )
            ) from exc
        self.invalidate_recordset()
        return self.browse([row[0] for row in rows])

    @api.model
    def _cron_process_due(self, date_ref=None):
        """Entry point of the scheduled action "ISP: grant recurring data".

        Processes every due subscription of every company, batch by batch.
        Each batch is locked, invoiced, posted, paid from credit and committed
        (outside tests) before the next one is taken.
        """
        started = time.monotonic()
        in_cron = bool(self.env.context.get("ir_cron_progress_id"))
        done = 0
        for company in self._isp_companies_with_running_subscriptions():
            today = self._isp_today(company, date_ref)
            model = self.sudo().with_company(company)
            after_id = 0
            while True:
                try:
                    subs = model._isp_lock_due(
                        company, today, after_id, self._isp_batch_size()
                    )
                except psycopg2.errors.SerializationFailure:
                    # A row changed under our snapshot: leave it to the next run.
                    _logger.info("ISP grants: serialization conflict, retry later")
                    self.env.cr.rollback()
                    return done
                if not subs:
                    break
                after_id = subs.ids[-1]
                subs._isp_process_locked(today)
                done += len(subs)
                remaining = model._isp_count_due(company, today, after_id)
                self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
                self._isp_commit()
                if in_cron and time.monotonic() - started > CRON_TIME_BUDGET:
                    return done
        self.env["ir.cron"]._notify_progress(done=done, remaining=0)
        return done

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

    @api.model
    def _isp_commit(self):
        if not getattr(threading.current_thread(), "testing", False):
            self.env.cr.commit()  # pylint: disable=invalid-commit

    def _isp_process_locked(self, today):
        """Decide, bill and record the grants of these locked subscriptions.

        The whole batch is applied at once (one ``account.move.create``); if
        that fails, each subscription is applied alone under its own
        savepoint, so that one bad record is logged and skipped. It runs in a
        clean context: a caller's ``default_*`` or ``skip_invoice_sync`` keys
        (a form, a payment wizard) must never reach the grants' invoices.
        """
        clean = {
            key: value
            for key, value in self.env.context.items()
            if key in CLEAN_CONTEXT_KEYS
        }
        if clean != self.env.context:
            return self.with_env(self.env(context=clean))._isp_process_locked(today)
        plans, errors = self._isp_plan(today)
        plans = [plan for plan in plans if plan.changes_anything()]
        if plans:
            try:
                with self.env.cr.savepoint():
                    self._isp_apply(plans, today)
            except Exception:  # noqa: BLE001 - retried one by one below
                _logger.info(
                    "ISP grants: batch of %s failed, retrying one by one",
                    len(plans),
                    exc_info=True,
                )
                # Plan each one again, alone: the batch's plan spent every
                # subscriber's credit on grants that did not all happen.
                for plan in plans:
                    sub = plan.subscription
                    try:
                        with self.env.cr.savepoint():
                            alone, failed = sub._isp_plan(today)
                            if failed:
                                errors.update(failed)
                                continue
                            alone = [p for p in alone if p.changes_anything()]
                            if alone:
                                self._isp_apply(alone, today)
                    except Exception as exc:  # noqa: BLE001
                        errors[sub] = self._isp_error_text(exc)
        self._isp_record_errors(errors)

    @api.model
    def _isp_error_text(self, exc):
        if isinstance(exc, psycopg2.errors.SerializationFailure):
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
        if not errors:
            return
        for sub, message in errors.items():
            _logger.warning("ISP grants: %s skipped: %s", sub.name, message)
            with self.env.cr.savepoint():
                sub.with_context(tracking_disable=True).write({"last_error": message})
                sub._message_log(
                    body=Markup("<p>%s</p><p>%s</p>")
                    % (_("Recurring grant failed, it will be retried:"), message)
                )

    # -- planning: read everything the core needs, in few queries ---------
    def _isp_plan(self, today):
        company = self.env.company
        rounding = credit.to_decimal(company.currency_id.rounding)
        credit_subs = self.filtered(lambda s: s.recurring_mode == engine.CREDIT)
        balances = self._isp_receivable_balances(
            credit_subs.commercial_partner_id, company
        )
        ledger = engine.CreditLedger(
            {pid: credit.available_credit(bal) for pid, bal in balances.items()}
        )
        billing_of = self._isp_billing_getter(company)
        plans, errors = [], {}
        for sub in self:
            try:
                sub._isp_check_billable()
                fpos, taxes, total = billing_of(sub)
                partner_key = sub.commercial_partner_id.id
                available = (
                    ledger.balance(partner_key)
                    if sub.recurring_mode == engine.CREDIT
                    else None
                )
                decision = engine.decide(
                    sub._isp_core_subscription(total), today, available, rounding
                )
                if decision.charged:
                    ledger.consume(partner_key, decision.charged)
                plans.append(
                    GrantPlan(sub, decision, total, available, taxes, fpos, today)
                )
            except Exception as exc:  # noqa: BLE001 - one bad record is skipped
                errors[sub] = self._isp_error_text(exc)
        return plans, errors

    def _isp_core_subscription(self, total):
        self.ensure_one()
        return engine.Subscription(
            mode=self.recurring_mode,
            state=self.state,
            rule=self._isp_rule(),
            anchor=self.recurrence_anchor or self.date_start,
            next_date=self.next_date or self.date_start,
            total=total,
        )

    def _isp_check_billable(self):
        """Raise a UserError telling the accountant what blocks billing."""
        self.ensure_one()
        product = self.product_id
        if not product.active or not product.product_tmpl_id.active:
            raise UserError(
                _(
                    "The package %(product)s is archived. Restore it or close "
                    "this subscription.",
                    product=product.display_name,
                )
            )
        if product.company_id and product.company_id != self.company_id:
            raise UserError(
                _(
                    "The package %(product)s belongs to another company.",
                    product=product.display_name,
                )
            )
        if self.recurring_mode == engine.CREDIT or self.invoice_policy != "none":
            partner = self.commercial_partner_id.with_company(self.company_id)
            account = partner.property_account_receivable_id
            if not account:
                raise UserError(
                    _(
                        "Subscriber %(partner)s has no receivable account in "
                        "%(company)s. Set one on the contact's Accounting tab.",
                        partner=partner.display_name,
                        company=self.company_id.name,
                    )
                )
            if account.deprecated:
                raise UserError(
                    _(
                        "The receivable account %(account)s of %(partner)s is "
                        "deprecated. Choose an active one on the contact's "
                        "Accounting tab.",
                        account=account.display_name,
                        partner=partner.display_name,
                    )
                )
            if account.account_type != "asset_receivable":
                raise UserError(
                    _(
                        "The receivable account %(account)s of %(partner)s is "
                        "not of type Receivable. Fix it on the contact's "
                        "Accounting tab.",
                        account=account.display_name,
                        partner=partner.display_name,
                    )
                )
            income = product.with_company(self.company_id)._get_product_accounts()[
                "income"
            ]
            if not income or income.deprecated:
                raise UserError(
                    _(
                        "The package %(product)s has no active income account. "
                        "Set one on the product or its category.",
                        product=product.display_name,
                    )
                )

    def _isp_grant_total(self, fiscal_position):
        """Taxes and total (taxes included) of one period's invoice."""
        self.ensure_one()
        taxes = self.product_id.taxes_id._filter_taxes_by_company(self.company_id)
        taxes = fiscal_position.map_tax(taxes)
        result = taxes.compute_all(
            self.price_unit,
            currency=self.currency_id,
            quantity=1.0,
            product=self.product_id,
            partner=self.commercial_partner_id,
        )
        return taxes, credit.to_decimal(result["total_included"])

    @api.model
    def _isp_billing_getter(self, company):
        """Return ``sub -> (fiscal position, taxes, total)`` for one period.

        Computed once per package, price and fiscal position: thousands of
        subscribers share a handful of packages.
        """
        fpos_of = self._isp_fiscal_position_getter(company)
        cache = {}

        def billing_of(sub):
            fpos = fpos_of(sub.commercial_partner_id)
            key = (sub.product_id.id, sub.price_unit, fpos.id)
            if key not in cache:
                cache[key] = sub._isp_grant_total(fpos)
            taxes, total = cache[key]
            return fpos, taxes, total

        return billing_of

    @api.model
    def _isp_fiscal_position_getter(self, company):
        """Return ``partner -> fiscal position``, as invoices would pick it.

        Auto-applied fiscal positions cost a search per partner, so it is only
        done when the company has some.
        """
        fpos_model = self.env["account.fiscal.position"].with_company(company)
        has_auto = bool(
            fpos_model.search_count(
                fpos_model._check_company_domain(company) + [("auto_apply", "=", True)],
                limit=1,
            )
        )
        cache = {}

        def fiscal_position_of(partner):
            if partner.id not in cache:
                if has_auto:
                    cache[partner.id] = fpos_model._get_fiscal_position(partner)
                else:
                    cache[partner.id] = partner.with_company(
                        company
                    ).property_account_position_id
            return cache[partner.id]

        return fiscal_position_of

    @api.model
    def _isp_receivable_domain(self, partners, company):
        return [
            ("partner_id", "in", partners.ids),
            ("company_id", "child_of", company.root_id.id),
            ("account_id.account_type", "=", "asset_receivable"),
            ("parent_state", "=", "posted"),
            ("reconciled", "=", False),
        ]

    @api.model
    def _isp_receivable_balances(self, partners, company):
        """Receivable balance per commercial partner, in one query.

        The prepaid credit is minus this balance (see core.credit).
        """
        if not partners:
            return {}
        groups = (
            self.env["account.move.line"]
            .sudo()
            ._read_group(
                self._isp_receivable_domain(partners, company),
                ["partner_id"],
                ["amount_residual:sum"],
            )
        )
        balances = {partner.id: Decimal(0) for partner in partners}
        for partner, residual in groups:
            balances[partner.id] = credit.to_decimal(residual)
        return balances

    # -- applying: one move create, one post, one reconcile plan ----------
    def _isp_apply(self, plans, today):
        company = self.env.company
        # The grant and the subscription's chatter are the audit trail: the
        # batch's invoices skip the creation note, follower subscription and
        # field tracking, which cost several queries per invoice.
        Move = (
            self.env["account.move"]
            .sudo()
            .with_company(company)
            .with_context(
                mail_create_nolog=True, mail_create_nosubscribe=True, mail_notrack=True
            )
        )
        Journal = self.env["account.journal"].sudo()
        journal = Journal.search(
            [*Journal._check_company_domain(company), ("type", "=", "sale")], limit=1
        )
        move_vals, move_keys = [], []
        for plan in plans:
            policy = plan.subscription._isp_invoice_policy()
            if policy == "none":
                continue
            bills_order = plan.subscription._isp_bills_order_line()
            for period in plan.decision.grants:
                move_vals.append(
                    plan.subscription._isp_prepare_invoice_vals(
                        plan, period, today, bills_order, journal
                    )
                )
                bills_order = False
                move_keys.append((plan.subscription.id, period.start, policy))
        moves = Move.create(move_vals) if move_vals else Move
        move_of = {}
        to_post = Move
        for move, (sub_id, start, policy) in zip(moves, move_keys, strict=True):
            move_of[(sub_id, start)] = move
            if policy == "posted":
                to_post |= move
        if to_post:
            to_post.action_post()
        self._isp_pay_from_credit(plans, move_of, company)

        grant_vals = []
        for plan in plans:
            grant_vals.extend(plan.subscription._isp_prepare_grant_vals(plan, move_of))
        grants = self.env["isp.data.grant"].sudo().create(grant_vals)
        self._isp_write_results(plans)
        self._isp_log_results(plans, grants)
        grants._isp_queue_notifications()

    def _isp_invoice_policy(self):
        """Credit-based grants are always invoiced, posted and paid."""
        self.ensure_one()
        if self.recurring_mode == engine.CREDIT:
            return "posted"
        return self.invoice_policy

    def _isp_bills_order_line(self):
        """The first grant bills the order line the package was sold on."""
        self.ensure_one()
        line = self.sale_line_id
        return bool(line) and not line.invoice_lines.filtered(
            lambda aml: aml.move_id.state != "cancel"
        )

    def _isp_prepare_invoice_vals(
        self, plan, period, today, bills_order=False, journal=None
    ):
        self.ensure_one()
        line_vals = self._isp_prepare_invoice_line_vals(plan, period)
        if bills_order:
            order_line = self.sale_line_id
            line_vals.update(
                quantity=order_line.product_uom_qty,
                price_unit=order_line.price_unit,
                discount=order_line.discount,
                sale_line_ids=[Command.link(order_line.id)],
            )
        vals = {
            "move_type": "out_invoice",
            "partner_id": self.partner_id.id,
            "company_id": self.company_id.id,
            "currency_id": self.currency_id.id,
            "invoice_date": today,
            "fiscal_position_id": plan.fiscal_position.id,
            "invoice_origin": self.sale_order_id.name or self.name,
            "invoice_line_ids": [Command.create(line_vals)],
        }
        if journal:
            vals["journal_id"] = journal.id
        return vals

    def _isp_prepare_invoice_line_vals(self, plan, period):
        self.ensure_one()
        lang = self.partner_id.lang or self.env.lang
        label = _(
            "%(package)s: %(data)s, %(start)s to %(end)s",
            package=self.product_id.display_name,
            data=units.format_data(self.data_limit_gb),
            start=format_date(self.env, period.start, lang_code=lang),
            end=format_date(self.env, period.end, lang_code=lang),
        )
        return {
            "product_id": self.product_id.id,
            "name": label,
            "quantity": 1.0,
            "price_unit": self.price_unit,
            "tax_ids": [Command.set(plan.taxes.ids)],
        }

    @api.model
    def _isp_pay_from_credit(self, plans, move_of, company):
        """Reconcile credit-based invoices with the subscribers' credit lines.

        One reconciliation plan for the batch: per subscriber, its new
        invoices' receivable lines with its outstanding payments and credit
        notes. A credit-based invoice that is not fully paid afterwards aborts
        the batch: no grant may exist without its deduction.
        """
        paid_moves = self.env["account.move"]
        for plan in plans:
            if plan.subscription.recurring_mode != engine.CREDIT:
                continue
            for period in plan.decision.grants:
                paid_moves |= move_of[(plan.subscription.id, period.start)]
        if not paid_moves:
            return
        partners = paid_moves.commercial_partner_id
        AML = self.env["account.move.line"].sudo()
        outstanding = AML.search(
            self._isp_receivable_domain(partners, company)
            + [("amount_residual", "<", 0)],
            order="date, id",
        )
        new_lines = paid_moves.line_ids.filtered(
            lambda line: line.account_type == "asset_receivable"
        )
        new_of = new_lines.grouped("partner_id")
        outstanding_of = outstanding.grouped("partner_id")
        plan_lines = [
            new_of[partner] | outstanding_of.get(partner, AML) for partner in partners
        ]
        AML._reconcile_plan(plan_lines)
        unpaid = paid_moves.filtered(
            lambda move: not move.currency_id.is_zero(move.amount_residual)
        )
        if unpaid:
            raise UserError(
                _(
                    "The prepaid credit of %(partners)s did not cover invoice(s) "
                    "%(moves)s; nothing was granted.",
                    partners=", ".join(unpaid.partner_id.mapped("display_name")),
                    moves=", ".join(unpaid.mapped("name")),
                )
            )

    def _isp_prepare_grant_vals(self, plan, move_of):
        self.ensure_one()
        decision = plan.decision
        common = {
            "subscription_id": self.id,
            "partner_id": self.partner_id.id,
            "company_id": self.company_id.id,
            "currency_id": self.currency_id.id,
            "credit_before": float(plan.credit) if plan.credit is not None else 0.0,
            "price_total": float(plan.total),
        }
        vals_list = []
        for period in decision.grants:
            move = move_of.get((self.id, period.start))
            vals_list.append(
                dict(
                    common,
                    period_start=period.start,
                    period_end=period.end,
                    state="granted",
                    data_gb=self.data_limit_gb,
                    amount=float(plan.total),
                    move_id=move.id if move else False,
                )
            )
        for skip in decision.skips:
            vals_list.append(
                dict(
                    common,
                    period_start=skip.period.start,
                    period_end=skip.period.end,
                    state="skipped",
                    reason=skip.reason,
                    data_gb=0.0,
                    amount=0.0,
                )
            )
        return vals_list

    @api.model
    def _isp_write_results(self, plans):
        """Write the new schedule, grouped so equal values share one UPDATE."""
        groups = defaultdict(list)
        for plan in plans:
            decision = plan.decision
            sub = plan.subscription
            valid_until = sub.valid_until
            if decision.grants:
                valid_until = max(period.end for period in decision.grants)
            waiting_since = False
            if decision.state == engine.WAITING:
                waiting_since = sub.waiting_since or plan.today
            key = (
                decision.state,
                decision.anchor,
                decision.next_date,
                valid_until,
                waiting_since,
            )
            groups[key].append(sub.id)
        for key, ids in groups.items():
            state, anchor, next_date, valid_until, waiting_since = key
            self.browse(ids).with_context(tracking_disable=True).write(
                {
                    "state": state,
                    "recurrence_anchor": anchor,
                    "next_date": next_date,
                    "valid_until": valid_until,
                    "waiting_since": waiting_since,
                    "last_error": False,
                }
            )

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

    # ------------------------------------------------------------------
    # Credit arrived, and reminders of subscriptions waiting for it
    # ------------------------------------------------------------------
    @api.model
    def _isp_credit_received(self, partners):
        """Credit arrived for ``partners``: retry their waiting subscriptions.

        Returns the subscriptions that resumed; their open reminders are
        marked done.
        """
        waiting = self._isp_retry_waiting(partners)
        resumed = waiting.filtered(lambda sub: sub.state != engine.WAITING)
        resumed._isp_close_waiting_reminders()
        return resumed

    def _isp_missing_credit(self):
        """Credit each subscription lacks for its next period, by id (Decimal).

        Each subscription is compared alone with its subscriber's credit.
        """
        result = {}
        for company, subs in self.grouped("company_id").items():
            subs = subs.sudo().with_company(company)
            rounding = credit.to_decimal(company.currency_id.rounding)
            balances = subs._isp_receivable_balances(
                subs.commercial_partner_id, company
            )
            billing_of = subs._isp_billing_getter(company)
            for sub in subs:
                total = billing_of(sub)[2]
                available = credit.available_credit(
                    balances.get(sub.commercial_partner_id.id, 0)
                )
                result[sub.id] = credit.missing_credit(available, total, rounding)
        return result

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
        reminders off), once per wait. Reminders of subscriptions that resumed
        are marked done.
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
        total = sum(len(subs) for _company, _today, subs in todo)
        done = 0
        for company, today, subs in todo:
            for batch in split_every(self._isp_batch_size(), subs.ids, model.browse):
                batch.with_company(company)._isp_schedule_reminders(today)
                done += len(batch)
                self.env["ir.cron"]._notify_progress(done=done, remaining=total - done)
                self._isp_commit()
        self.env["ir.cron"]._notify_progress(done=done, remaining=0)
        return done
