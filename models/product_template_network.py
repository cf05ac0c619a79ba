# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""A service on the network: its fair usage, speed tier, what happens at the
cap and once access ended, and how many sessions at once (Data Recurring
tab, "Network"). Checked with the service's other terms
(``product_template._isp_terms_problem``), sent to FreeRADIUS by
``core.network``."""

from odoo import fields, models

from ..core import fair_usage, network


class ProductTemplate(models.Model):
    _inherit = "product.template"

    # Fair usage, enforced by RADIUS (see core.network)
    isp_alert_thresholds = fields.Char(
        string="Usage Alerts (%)",
        default="80, 100",
        help="Percentages of the period's data at which the subscriber gets an "
        "e-mail, once per period each. Empty: no alert.",
    )
    isp_speed_down_kbps = fields.Integer(
        string="Download Speed (kbit/s)",
        help="The plan's speed tier, sent on every Access-Accept. 0: the "
        "router's own limit.",
    )
    isp_speed_up_kbps = fields.Integer(string="Upload Speed (kbit/s)")
    isp_burst_down_kbps = fields.Integer(
        string="Burst Download (kbit/s)",
        help="MikroTik's burst: faster than the speed tier for a short while "
        "(0: no burst).",
    )
    isp_burst_up_kbps = fields.Integer(string="Burst Upload (kbit/s)")
    isp_burst_threshold_pct = fields.Integer(
        string="Burst Threshold (%)",
        default=75,
        help="The burst lasts while the average speed stays under this share "
        "of the burst speed.",
    )
    isp_burst_seconds = fields.Integer(
        string="Burst Time (s)",
        default=16,
        help="The window the burst threshold is averaged over.",
    )
    isp_cap_action = fields.Selection(
        [
            ("block", "Block"),
            ("throttle", "Throttle"),
            ("walled", "Walled garden"),
        ],
        string="At the Cap",
        default="block",
        help="When the period's data is used up: block (the router rejects the "
        "next connection until the next period), throttle (the subscriber "
        "stays connected at a reduced speed) or walled garden (connected to "
        "the RADIUS server's walled garden only: the portal, to top up).",
    )
    isp_expired_action = fields.Selection(
        [("reject", "Reject"), ("walled", "Walled garden")],
        string="Once Access Ended",
        default="reject",
        help="What a subscriber gets once the paid access ended, or before a "
        "first paid period: rejected, or let into the RADIUS server's walled "
        "garden, which only reaches the portal, to pay and come back by "
        "themselves.",
    )
    isp_throttle_down_kbps = fields.Integer(
        string="Throttled Download (kbit/s)", default=512
    )
    isp_throttle_up_kbps = fields.Integer(
        string="Throttled Upload (kbit/s)", default=256
    )
    isp_simultaneous_use = fields.Integer(
        string="Sessions at Once",
        default=0,
        help="How many sessions a subscriber may have open at once (e.g. 1); "
        "FreeRADIUS refuses one more at login. A session its router lost "
        "(silent past the RADIUS server's delay) and the same device logging "
        "in again never count. 0: no limit.",
    )
    isp_coa_fallback = fields.Boolean(
        string="Disconnect When a CoA Is Refused",
        default=True,
        help="When a router refuses the CoA that throttles a session (a NAK), "
        "send a Disconnect-Request instead: the subscriber reconnects at the "
        "throttled speed.",
    )

    isp_fair_usage_step_ids = fields.One2many(
        "isp.fair.usage.step",
        "product_tmpl_id",
        string="Fair-Usage Steps",
        copy=True,
        help="Each step from a share of the period's data: e.g. slower at 80 %, "
        "slower again at 100 %, blocked at 150 %. They replace the action at "
        "the cap.",
    )
    isp_usage_window_ids = fields.One2many(
        "isp.usage.window",
        "product_tmpl_id",
        string="Time Windows",
        copy=True,
        help="Hours whose traffic counts less or not at all (e.g. free nights "
        "from 00:00 to 07:00), in the company's timezone.",
    )

    def _isp_speed(self):
        """The package's speed tier, as the core takes it."""
        self.ensure_one()
        return network.Speed(
            self.isp_speed_down_kbps,
            self.isp_speed_up_kbps,
            self.isp_burst_down_kbps,
            self.isp_burst_up_kbps,
            self.isp_burst_threshold_pct,
            self.isp_burst_seconds,
        )

    def _isp_throttle(self):
        """The reduced speed of a throttled package, as the core takes it."""
        self.ensure_one()
        return network.Throttle(self.isp_throttle_down_kbps, self.isp_throttle_up_kbps)

    def _isp_fair_usage_steps(self):
        """The steps, sorted by threshold, as the core takes them."""
        self.ensure_one()
        return tuple(
            step._isp_step()
            for step in self.isp_fair_usage_step_ids.sorted("threshold_pct")
        )

    def _isp_usage_windows(self):
        self.ensure_one()
        return tuple(window._isp_window() for window in self.isp_usage_window_ids)

    def _isp_fair_usage_problem(self):
        """What is wrong with the steps or windows, or None."""
        self.ensure_one()
        problem = fair_usage.steps_problem(self._isp_fair_usage_steps())
        problem = problem or fair_usage.windows_problem(self._isp_usage_windows())
        return problem
