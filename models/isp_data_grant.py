# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, format_date

from ..core import engine, fanout, network, units
from .isp_terms import SKIP_REASON_SELECTION

# The only bookkeeping an immutable grant accepts: its e-mail sent, and the
# grant that resolved a skip (the subscription resumed).
BOOKKEEPING_FIELDS = {
    "notify_pending",
    "resolved_by_id",
    "alerts_sent",
    "cap_reached",
    "fair_usage_step",
    "free_gb",
    "note",
}
# What a reversal writes (see isp_data_grant_reversal.py), under REVERSING.
REVERSAL_FIELDS = {
    "state",
    "reversed_date",
    "reversed_uid",
    "reversal_reason",
    "reversal_move_id",
}
REVERSING = "isp_grant_reversal"


class IspDataGrant(models.Model):
    """One row per period of a subscription: granted or skipped, never edited.

    The grants are the audit trail of the Data Recurring engine. The database
    holds at most one granted row per subscription and period start, whatever
    runs concurrently (see ``init``).
    """

    _name = "isp.data.grant"
    _inherit = "isp.run.mixin"
    _description = "ISP Data Grant"
    _order = "period_start desc, id desc"
    _isp_run_kind = fanout.NOTIFY
    _check_company_auto = True

    subscription_id = fields.Many2one(
        "isp.subscription",
        required=True,
        index=True,
        ondelete="restrict",
        check_company=True,
        readonly=True,
    )
    partner_id = fields.Many2one(
        "res.partner", string="Subscriber", required=True, index=True, readonly=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, readonly=True
    )
    product_id = fields.Many2one(
        related="subscription_id.product_id", string="Package", store=True
    )
    site_id = fields.Many2one(
        related="subscription_id.product_id.isp_site_id", string="Site", store=True
    )
    period_start = fields.Date(required=True, readonly=True, index=True)
    period_end = fields.Date(required=True, readonly=True)
    data_gb = fields.Float(
        string="Data (GB)",
        digits=(16, 3),
        readonly=True,
        aggregator="sum",
        help="Data granted for the period. 0 for a time-recurring package or a "
        "skipped period.",
    )
    data_label = fields.Char(
        string="Data",
        compute="_compute_data_label",
        help="What the subscriber got: the bundle size, or unlimited access.",
    )
    amount = fields.Monetary(
        readonly=True,
        aggregator="sum",
        help="Total of the grant's invoice, taxes included (0 when skipped).",
    )
    price_total = fields.Monetary(
        string="Period Price",
        readonly=True,
        aggregator=None,
        help="Price of the period, taxes included: charged when granted, "
        "missing from the credit when skipped.",
    )
    company_currency_id = fields.Many2one(
        related="company_id.currency_id", string="Company Currency"
    )
    credit_before = fields.Monetary(
        currency_field="company_currency_id",
        readonly=True,
        aggregator=None,
        help="The subscriber's prepaid credit when the engine decided "
        "(credit-based subscriptions only).",
    )
    currency_id = fields.Many2one("res.currency", required=True, readonly=True)
    kind = fields.Selection(
        [("period", "Period"), ("addon", "Add-on pack")],
        required=True,
        default="period",
        readonly=True,
        index=True,
        help="A period of the subscription, or an add-on pack sold within one.",
    )
    rollover_gb = fields.Float(
        string="Rolled Over (GB)",
        digits=(16, 3),
        readonly=True,
        help="Unused data of earlier periods carried into this one.",
    )
    rollover_chunks = fields.Json(
        readonly=True, help="The carried data by the period it came from."
    )
    note = fields.Char(readonly=True, help="Why this grant is special (plan change).")
    state = fields.Selection(
        [("granted", "Granted"), ("skipped", "Skipped"), ("reversed", "Reversed")],
        string="Status",
        required=True,
        readonly=True,
        index=True,
    )
    reason = fields.Selection(SKIP_REASON_SELECTION, readonly=True)
    move_id = fields.Many2one(
        "account.move",
        string="Invoice",
        readonly=True,
        index="btree_not_null",
        ondelete="restrict",
        check_company=True,
    )
    notify_pending = fields.Boolean(
        string="E-mail Pending",
        readonly=True,
        index=True,
        help="The subscriber's e-mail for this grant is waiting for the "
        "notification job.",
    )
    payment_state = fields.Selection(
        related="move_id.payment_state", string="Payment Status"
    )
    resolved_by_id = fields.Many2one(
        "isp.data.grant",
        string="Resolved By",
        readonly=True,
        index="btree_not_null",
        help="Skipped for lack of credit, then resolved: the credit came back "
        "and this grant restarted the subscription.",
    )
    used_gb = fields.Float(
        string="Used (GB)",
        digits=(16, 3),
        readonly=True,
        aggregator="sum",
        help="Data used in the period, from RADIUS accounting.",
    )
    alerts_sent = fields.Char(
        readonly=True, help="The fair-usage thresholds (%) announced this period."
    )
    cap_reached = fields.Boolean(
        readonly=True,
        help="A fair-usage step (the cap, without steps) was reached: slowed "
        "down, blocked or walled.",
    )
    fair_usage_step = fields.Integer(
        string="Fair-Usage Step (%)",
        readonly=True,
        help="The highest fair-usage step reached this period, and acted upon.",
    )
    free_gb = fields.Float(
        string="Not Counted (GB)",
        digits=(16, 3),
        readonly=True,
        aggregator="sum",
        help="Traffic in the service's free or cheaper time windows that did "
        "not count against the data.",
    )
    outcome = fields.Char(
        compute="_compute_outcome",
        help="What happened to the period, in one phrase.",
    )

    def init(self):
        # The guarantee: one granted row per subscription and period, enforced
        # by PostgreSQL. A skipped row is recorded once per reason and period.
        self.env.cr.execute(
            """
            DROP INDEX IF EXISTS isp_data_grant_granted_period_uniq;
            CREATE UNIQUE INDEX IF NOT EXISTS isp_data_grant_period_granted_once
                ON isp_data_grant (subscription_id, period_start)
                WHERE state = 'granted' AND kind = 'period';
            CREATE UNIQUE INDEX IF NOT EXISTS isp_data_grant_skipped_period_uniq
                ON isp_data_grant (subscription_id, period_start, reason)
                WHERE state = 'skipped';
            """
        )

    @api.depends("state", "data_gb")
    def _compute_data_label(self):
        for grant in self:
            if grant.state != "granted":
                grant.data_label = _("None")
            else:
                grant.data_label = units.format_data(grant.data_gb)

    @api.depends("subscription_id", "period_start")
    def _compute_display_name(self):
        for grant in self:
            grant.display_name = (
                f"{grant.subscription_id.name or ''} "
                f"{format_date(self.env, grant.period_start) or ''}"
            ).strip()

    @api.depends("state", "reason", "resolved_by_id", "reversed_date")
    def _compute_outcome(self):
        reasons = dict(self._fields["reason"]._description_selection(self.env))
        for grant in self:
            if grant.state == "granted":
                grant.outcome = _("Granted")
            elif grant.state == "reversed":
                grant.outcome = _(
                    "Reversed on %(date)s",
                    date=format_date(self.env, grant.reversed_date),
                )
            elif grant.resolved_by_id:
                grant.outcome = _(
                    "Resolved: resumed on %(date)s",
                    date=format_date(self.env, grant.resolved_by_id.period_start),
                )
            else:
                grant.outcome = _(
                    "Skipped: %(reason)s", reason=reasons.get(grant.reason, "")
                )

    def _isp_notifications(self):
        """Pairs (grants, template xmlid) of the e-mails these grants call for.

        "Data granted" can be switched off per company; "Insufficient credit"
        is on by default. Subscribers without an e-mail address get none: the
        chatter note of the subscription says so.
        """
        with_email = self.filtered(
            lambda g: g.partner_id.email and g.company_id._isp_notifies_by("email")
        )
        granted = with_email.filtered(
            lambda g: g.state == "granted" and g.company_id.isp_notify_granted
        )
        short = with_email.filtered(
            lambda g: (
                g.reason == engine.INSUFFICIENT and g.company_id.isp_notify_insufficient
            )
        )
        return (
            (granted, "isp_data_recurring.mail_template_data_granted"),
            (short, "isp_data_recurring.mail_template_insufficient_credit"),
        )

    def _isp_queue_notifications(self):
        """Mark the e-mails of these new grants for the notification job.

        Rendering e-mails is slow and must not hold the subscriptions' locks
        nor fail a grant: the grant job only marks them, and triggers the
        "ISP: send grant notifications" job, which renders them into Odoo's
        mail queue right after.
        """
        pending = self.browse()
        for grants, _xmlid in self._isp_notifications():
            pending |= grants
        for grants, _xmlid in self._isp_sms_notifications():
            pending |= grants
        if pending:
            pending.write({"notify_pending": True})
            cron = self.env.ref(
                "isp_data_recurring.ir_cron_isp_send_notifications",
                raise_if_not_found=False,
            )
            if cron:
                cron.sudo()._trigger()

    def _isp_send_usage_alerts(self):
        """E-mail the fair-usage thresholds these grants' usage reached, each
        once per period, through Odoo's mail queue."""
        template = self.env.ref(
            "isp_data_recurring.mail_template_usage_alert", raise_if_not_found=False
        )
        for grant in self.filtered("data_gb"):
            thresholds = network.parse_thresholds(
                grant.product_id.product_tmpl_id.isp_alert_thresholds
            )
            sent = network.parse_thresholds(grant.alerts_sent)
            due = network.alerts_due(
                round(grant.data_gb * units.GB),
                round(grant.used_gb * units.GB),
                thresholds,
                sent,
            )
            if not due:
                continue
            by_email = grant.company_id._isp_notifies_by("email")
            if template and grant.partner_id.email and by_email:
                template.sudo().with_context(isp_threshold=max(due)).send_mail(
                    grant.id, force_send=False
                )
            grant.with_context(isp_threshold=max(due))._isp_send_sms(
                "isp_data_recurring.sms_template_usage_alert"
            )
            grant.alerts_sent = ", ".join(str(t) for t in sorted({*sent, *due}))

    def _isp_send_notifications(self):
        """Render the e-mails of these grants into the mail queue."""
        for grants, xmlid in self._isp_notifications():
            template = self.env.ref(xmlid, raise_if_not_found=False)
            if grants and template:
                template.sudo().send_mail_batch(grants.ids, force_send=False)
        for grants, xmlid in self._isp_sms_notifications():
            grants._isp_send_sms(xmlid)
        self.write({"notify_pending": False})

    def _isp_sms_notifications(self):
        """Pairs (grants, SMS template xmlid), as ``_isp_notifications``
        for e-mails, for the companies that notify by SMS."""
        by_sms = self.filtered(lambda g: g.company_id._isp_notifies_by("sms"))
        return (
            (
                by_sms.filtered(
                    lambda g: g.state == "granted" and g.company_id.isp_notify_granted
                ),
                "isp_data_recurring.sms_template_data_granted",
            ),
            (
                by_sms.filtered(
                    lambda g: (
                        g.reason == engine.INSUFFICIENT
                        and g.company_id.isp_notify_insufficient
                    )
                ),
                "isp_data_recurring.sms_template_insufficient_credit",
            ),
        )

    def _isp_send_sms(self, xmlid):
        """Queue the SMS of template ``xmlid`` for each of these grants, on
        its subscription (logged in its chatter), to the subscriber."""
        by_sms = self.filtered(lambda g: g.company_id._isp_notifies_by("sms"))
        template = self.env.ref(xmlid, raise_if_not_found=False)
        if not by_sms or not template:
            return
        bodies = template.sudo()._render_field("body", by_sms.ids, compute_lang=True)
        for grant in by_sms:
            grant.subscription_id.sudo()._isp_sms(bodies[grant.id])

    @api.model
    def _cron_send_notifications(self, batch_size=500):
        """Entry point of the scheduled action "ISP: send grant notifications".

        One batch of grants of one company whose e-mail is pending per call
        (``isp.run.mixin``), locked with SKIP LOCKED so that a second run
        never e-mails a subscriber twice; ``ir.cron`` commits and calls again
        while some remain. With the fan-out on, one job per batch instead.
        """
        return self._isp_run(batch_size=batch_size)

    # ------------------------------------------------------------------
    # Hooks of isp.run.mixin
    # ------------------------------------------------------------------
    @api.model
    def _isp_run_scopes(self, date_ref=None):
        """The companies that have e-mails pending."""
        self.flush_model(["notify_pending", "company_id"])
        rows = self.env.execute_query(
            SQL("SELECT DISTINCT company_id FROM isp_data_grant WHERE notify_pending")
        )
        companies = self.env["res.company"].sudo().browse(sorted(r[0] for r in rows))
        today = fields.Date.context_today(self)
        return [(company, today) for company in companies]

    @api.model
    def _isp_run_due(self, company, day, since):
        return SQL("notify_pending AND company_id = %s", company.id)

    @api.model
    def _isp_run_take(self, where, limit=None):
        self.flush_model(["notify_pending"])
        rows = self.env.execute_query(
            SQL(
                "SELECT id FROM isp_data_grant WHERE %s "
                "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                where,
                limit,
            )
        )
        return self.sudo().browse([row[0] for row in rows])

    @api.model
    def _isp_run_process(self, grants, company, day):
        grants._isp_send_notifications()
        return grants

    def write(self, vals):
        allowed = BOOKKEEPING_FIELDS
        if self.env.context.get(REVERSING):
            allowed = allowed | REVERSAL_FIELDS
        if set(vals) <= allowed:
            return super().write(vals)
        raise UserError(
            _(
                "Data grants are the audit trail of the recurring engine and "
                "cannot be edited. To undo a grant, use Reverse grant on it."
            )
        )

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(
            _(
                "Data grants are the audit trail of the recurring engine and "
                "cannot be deleted."
            )
        )
