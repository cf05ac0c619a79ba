# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The subscription record: its fields, its life (create, write, delete) and
its buttons. Each method of the model is defined once, in one file.

The model is extended by concern:

- ``isp_subscription_checks.py``: what it refuses (package, terms, username);
- ``isp_subscription_runner.py``: the scheduled grant run's hooks
  (``isp.run.mixin``), its locks; the run itself is ``isp_grant_run.py``;
- ``isp_subscription_pricing.py``: the price road and the credit;
- ``isp_subscription_invoicing.py``: the invoices a run creates and pays;
- ``isp_subscription_chatter.py``: what the chatter says of a run;
- ``isp_subscription_reminder.py``: credit that arrives, reminders;
- ``isp_subscription_credit.py``: the money fields of the form;
- ``isp_subscription_network.py``: the RADIUS account and the outbox;
- ``isp_subscription_commercial.py``: rollover, packs, plan changes;
- ``isp_subscription_portal.py``: the portal and the low-credit warning.
"""

import secrets
from datetime import datetime, timezone

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..core import clock, engine, recurrence, units
from .isp_grant_run import RunResult
from .isp_terms import (
    INVOICE_POLICY_SELECTION,
    RECURRENCE_SELECTION,
    RECURRING_MODE_SELECTION,
    SUBSCRIPTION_STATE_SELECTION,
    check_data_limit_vals,
    check_price_vals,
    notification,
)

# Fields that define the schedule: frozen once the subscription runs.
SCHEDULE_FIELDS = {"date_start", "recurrence", "recurrence_interval"}
# Fields the network must learn of at once.
NETWORK_FIELDS = {"network_username", "network_password"}


class IspSubscription(models.Model):
    _name = "isp.subscription"
    _description = "ISP Subscription"
    _inherit = ["mail.thread", "mail.activity.mixin", "portal.mixin", "isp.run.mixin"]
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
        "res.currency",
        required=True,
        default=lambda self: self.env.company.currency_id,
        help="The currency of its price and invoices: the sale order's.",
    )
    quantity = fields.Integer(
        default=1,
        required=True,
        tracking=True,
        help="Bundles per period: each period grants this many times the "
        "package's data, at this many times its price.",
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
        help="Price of one bundle for one period, before taxes. Defaults to the "
        "package's price.",
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
        SUBSCRIPTION_STATE_SELECTION,
        string="Status",
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
    invoice_count = fields.Integer(compute="_compute_grant_count")
    data_label = fields.Char(compute="_compute_data_label")
    last_error = fields.Text(readonly=True, copy=False)
    processed_at = fields.Datetime(
        string="Last Processed",
        readonly=True,
        copy=False,
        help="When the grant engine last decided this subscription.",
    )
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
        default=lambda self: self._default_user_id(),
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

    @api.model
    def _default_user_id(self):
        """The user creating it; an accountant when that is OdooBot (a
        scheduled action or data loading), who never reads reminders."""
        if self.env.user._is_superuser():
            return self._isp_fallback_responsible(self.env.company)
        return self.env.user

    @api.depends("product_id")
    def _compute_from_product(self):
        for sub in self.filtered("product_id"):
            sub.price_unit = sub.product_id.lst_price
            sub.update(sub.product_id.product_tmpl_id._isp_subscription_terms())

    @api.depends("data_limit_gb")
    def _compute_data_label(self):
        for sub in self:
            try:
                sub.data_label = units.format_data(sub.data_limit_gb)
            except ValueError:
                # A value being typed: the onchange and the constraint say why.
                sub.data_label = False

    def _compute_grant_count(self):
        groups = self.env["isp.data.grant"]._read_group(
            [("subscription_id", "in", self.ids)],
            ["subscription_id"],
            ["__count", "move_id:count_distinct"],
        )
        counts = {sub.id: (grants, moves) for sub, grants, moves in groups}
        for sub in self:
            sub.grant_count, sub.invoice_count = counts.get(sub.id, (0, 0))

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
        if (
            SCHEDULE_FIELDS & vals.keys()
            and not self.env.context.get("isp_plan_change")
            and any(sub.state != engine.DRAFT for sub in self)
        ):
            raise UserError(
                _(
                    "The start date and recurrence of a running subscription "
                    "cannot change. Close it and create a new one."
                )
            )
        if vals.get("network_username"):
            # Before the database's unique index, with words.
            for sub in self:
                sub._isp_check_username(vals["network_username"])
        running = self.filtered(lambda s: s.state in (engine.ACTIVE, engine.WAITING))
        if "network_username" in vals:
            running.filtered(
                lambda s: (
                    s.network_username
                    and s.network_username != vals["network_username"]
                )
            )._isp_network_remove()
        res = super().write(vals)
        if NETWORK_FIELDS & vals.keys():
            running._isp_network_sync()
        return res

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
        for sub in self.filtered(lambda s: not s.network_username):
            sub.network_username = sub._isp_default_username()
        for sub in self.sudo().filtered(lambda s: not s.network_password):
            sub.network_password = secrets.token_urlsafe(9)
        for sub in self:
            sub.write(
                {
                    "state": engine.ACTIVE,
                    "recurrence_anchor": sub.date_start,
                    "next_date": sub.date_start,
                    "last_error": False,
                }
            )
        self._isp_network_sync()
        return True

    def action_close(self):
        self.write({"state": engine.CLOSED})
        self._isp_network_remove()
        return True

    def action_run_now(self):
        """Process these subscriptions now, through the scheduled action's
        grant run, and say what happened."""
        self._isp_check_manager()
        self._isp_lock(nowait=True)
        result = RunResult.empty(self.env)
        for company, subs in self.grouped("company_id").items():
            today = self._isp_today(company)
            result |= subs.sudo().with_company(company)._isp_process_locked(today)
        return notification(_("Run now"), result.summary())

    def action_change_plan(self):
        self.ensure_one()
        self._isp_check_manager()
        return self.env["isp.plan.change"]._isp_open(self)

    def action_open_top_up(self):
        """Open the top-up wizard, the missing credit as the amount."""
        self.ensure_one()
        return self.commercial_partner_id._isp_top_up_action(subscription=self)

    def action_view_grants(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "isp_data_recurring.isp_data_grant_action"
        )
        action["domain"] = [("subscription_id", "=", self.id)]
        action["context"] = {}
        return action

    def action_view_usage(self):
        """The daily usage, as a chart (RADIUS accounting, by day)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "isp_data_recurring.isp_usage_day_action"
        )
        action["domain"] = [("subscription_id", "=", self.id)]
        return action

    def action_view_invoices(self):
        """The grants' invoices, to read: they are made by the grants only."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account.action_move_out_invoice_type"
        )
        action["domain"] = [("id", "in", self.grant_ids.move_id.ids)]
        action["context"] = {"create": False, "default_move_type": "out_invoice"}
        return action

    # ------------------------------------------------------------------
    # Helpers shared by the pipeline
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
