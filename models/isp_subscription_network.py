# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The subscription on the network: its RADIUS account, usage and access.

Whatever changes what the network must know (a grant, a skip, a resume, a
close, usage at the cap, a new password) writes, in the same transaction, an
event of the outbox ``isp.network.event`` with the rows FreeRADIUS must hold
(see ``core.network``). A job delivers them.
"""

from dataclasses import dataclass
from datetime import timedelta

from odoo import api, fields, models

from ..core import clock, network, units

GB = units.GB


@dataclass(frozen=True)
class CurrentGrant:
    """The period grant that holds today, and the data added to it
    (``extra_gb``: add-on packs valid today and data rolled over)."""

    grant: models.BaseModel
    extra_gb: float

    @property
    def granted_gb(self):
        return self.grant.data_gb + self.extra_gb


class IspSubscription(models.Model):
    _inherit = "isp.subscription"

    radius_server_id = fields.Many2one(
        "isp.radius.server",
        string="RADIUS Server",
        compute="_compute_radius_server_id",
        store=True,
        index="btree_not_null",
        help="The site's RADIUS server, else the company's first one.",
    )
    network_username = fields.Char(
        copy=False,
        tracking=True,
        help="What the subscriber's router logs in with. Generated at "
        "activation when empty.",
    )
    network_password = fields.Char(
        copy=False,
        groups="isp_data_recurring.group_isp_manager",
        help="Generated at activation when empty.",
    )
    used_gb = fields.Float(
        string="Used (GB)",
        digits=(16, 3),
        compute="_compute_usage",
        help="Data used in the current period, from RADIUS accounting.",
    )
    remaining_gb = fields.Float(
        string="Remaining (GB)", digits=(16, 3), compute="_compute_usage"
    )
    usage_percent = fields.Float(string="Usage", compute="_compute_usage")
    network_state = fields.Selection(
        [
            ("off", "No RADIUS server"),
            ("pending", "Waiting for delivery"),
            ("synced", "Delivered"),
            ("error", "Delivery failing"),
        ],
        string="Network",
        compute="_compute_network_state",
    )
    network_error = fields.Text(compute="_compute_network_state")

    def _auto_init(self):
        res = super()._auto_init()
        # One running subscription per username on a RADIUS server.
        self.env.cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS isp_subscription_network_username_uniq
                ON isp_subscription (radius_server_id, network_username)
             WHERE state != 'closed' AND network_username IS NOT NULL
            """
        )
        return res

    @api.depends("site_id.radius_server_id", "company_id")
    def _compute_radius_server_id(self):
        first = {}
        for sub in self:
            company = sub.company_id
            if company.id not in first:
                first[company.id] = self.env["isp.radius.server"].search(
                    [("company_id", "=", company.id)], limit=1
                )
            sub.radius_server_id = sub.site_id.radius_server_id or first[company.id]

    def _compute_usage(self):
        current = self._isp_current_grants(fields.Date.context_today(self))
        for sub in self:
            now = current.get(sub.id)
            used = now.grant.used_gb if now else 0.0
            granted = now.granted_gb if now else 0.0
            sub.used_gb = used
            sub.remaining_gb = max(granted - used, 0.0) if granted else 0.0
            sub.usage_percent = min(100.0 * used / granted, 100.0) if granted else 0.0

    def _compute_network_state(self):
        Event = self.env["isp.network.event"].sudo()
        latest = {}
        for event in Event.search(
            [("subscription_id", "in", self.ids)], order="id desc"
        ):
            latest.setdefault(event.subscription_id.id, event)
        for sub in self:
            event = latest.get(sub.id)
            sub.network_error = event.error if event else False
            if not sub.radius_server_id:
                sub.network_state = "off"
            elif not event or event.state == "done":
                sub.network_state = "synced" if event else "pending"
            else:
                sub.network_state = "error" if event.error else "pending"

    def _isp_default_username(self):
        """The subscription's reference, as routers accept it."""
        self.ensure_one()
        return self.name.replace("/", "-").lower()

    # ------------------------------------------------------------------
    # What the network must know: events of the outbox
    # ------------------------------------------------------------------
    def _isp_current_grants(self, today):
        """``{subscription id: CurrentGrant}``: the period grant whose period
        holds today (the latest, after a plan change), with the add-on packs
        valid today and the data rolled over into it."""
        grants = (
            self.env["isp.data.grant"]
            .sudo()
            .search(
                [
                    ("subscription_id", "in", self.ids),
                    ("state", "=", "granted"),
                    ("period_start", "<=", today),
                    ("period_end", ">=", today),
                ],
                order="period_start, id",
            )
        )
        current, extra = {}, {}
        for grant in grants:
            sub_id = grant.subscription_id.id
            if grant.kind == "period":
                current[sub_id] = grant
            else:
                extra[sub_id] = extra.get(sub_id, 0.0) + grant.data_gb
        return {
            sub_id: CurrentGrant(grant, extra.get(sub_id, 0.0) + grant.rollover_gb)
            for sub_id, grant in current.items()
        }

    def _isp_day_start(self, day):
        """The UTC instant ``day`` begins in the company's timezone."""
        self.ensure_one()
        return clock.day_start_utc(day, self.company_id._isp_effective_timezone())

    def _isp_access_end(self):
        """The UTC instant the paid access ends: the end of ``valid_until``
        in the company's timezone (None when nothing was ever granted)."""
        self.ensure_one()
        if not self.valid_until:
            return None
        return self._isp_day_start(self.valid_until + timedelta(days=1))

    def _isp_access(self, current):
        """``core.network.Access`` of this subscription now."""
        self.ensure_one()
        now = current.get(self.id)
        template = self.product_id.product_tmpl_id
        granted = None
        if self.data_limit_gb:
            granted = round(now.granted_gb * GB) if now else 0
        return network.access(
            username=self.network_username,
            password=self.sudo().network_password or "",
            # Suspended for an unpaid invoice: as if access had ended.
            expires=None if self.suspended else self._isp_access_end(),
            granted=granted,
            used=round(now.grant.used_gb * GB) if now else 0,
            cap_action=template.isp_cap_action or network.BLOCK,
            throttle=template._isp_throttle(),
            steps=template._isp_fair_usage_steps(),
            uncounted=round(now.grant.free_gb * GB) if now else 0,
            sessions=template.isp_simultaneous_use,
            expired_action=template.isp_expired_action or network.REJECT,
            period_start=self._isp_day_start(now.grant.period_start)
            if now and self.radius_server_id.cap_at_login
            else None,
        )

    def _isp_network_events(self, kind="sync", today=None):
        """Event values of these subscriptions (those with a RADIUS server
        and a username)."""
        subs = self.filtered(lambda s: s.radius_server_id and s.network_username)
        if not subs:
            return []
        today = today or fields.Date.context_today(self)
        current = subs._isp_current_grants(today) if kind != "remove" else {}
        vals_list = []
        for sub in subs:
            vals = {
                "server_id": sub.radius_server_id.id,
                "subscription_id": sub.id,
                "username": sub.network_username,
                "kind": kind,
            }
            if kind != "remove":
                entitled = sub._isp_access(current)
                server = sub.radius_server_id
                rows = network.radius_rows(
                    entitled,
                    server.vendor,
                    sub.product_id.product_tmpl_id._isp_throttle(),
                    stale_after=server.interim_interval * server.stale_intervals,
                    speed=sub.product_id.product_tmpl_id._isp_speed(),
                    walled_garden=server.walled_garden,
                )
                vals.update(check_rows=list(rows.check), reply_rows=list(rows.reply))
                vals["capped"] = entitled.capped
                vals["fair_usage_step"] = entitled.step_pct
            vals_list.append(vals)
        return vals_list

    def _isp_network_sync(self, today=None):
        """Write what the network must now know of these subscriptions."""
        return (
            self.env["isp.network.event"]
            .sudo()
            ._isp_enqueue(self.sudo()._isp_network_events("sync", today))
        )

    def _isp_network_remove(self):
        return (
            self.env["isp.network.event"]
            .sudo()
            ._isp_enqueue(self.sudo()._isp_network_events("remove"))
        )
