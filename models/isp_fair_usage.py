# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""A service's fair-usage steps and time windows (Data Recurring tab), as
``core.fair_usage`` takes them; checked as a whole each time one changes."""

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..core import fair_usage


class IspFairUsageStep(models.Model):
    _name = "isp.fair.usage.step"
    _description = "ISP Fair-Usage Step"
    _order = "product_tmpl_id, threshold_pct, id"

    product_tmpl_id = fields.Many2one(
        "product.template", required=True, ondelete="cascade", index=True
    )
    threshold_pct = fields.Integer(
        string="From (%)",
        required=True,
        default=100,
        help="From this share of the period's data on (e.g. 80, 100, 150).",
    )
    action = fields.Selection(
        [
            ("throttle", "Slow down"),
            ("block", "Block"),
            ("walled", "Walled garden"),
        ],
        required=True,
        default="throttle",
    )
    down_kbps = fields.Integer(string="Download (kbit/s)")
    up_kbps = fields.Integer(string="Upload (kbit/s)")

    def _isp_step(self):
        self.ensure_one()
        throttle = None
        if self.action == fair_usage.THROTTLE:
            throttle = fair_usage.Throttle(self.down_kbps, self.up_kbps)
        return fair_usage.Step(self.threshold_pct, self.action, throttle)

    @api.constrains("threshold_pct", "action", "down_kbps", "up_kbps")
    def _check_ladder(self):
        for template in self.product_tmpl_id:
            problem = fair_usage.steps_problem(template._isp_fair_usage_steps())
            if problem:
                raise ValidationError(problem)


class IspUsageWindow(models.Model):
    _name = "isp.usage.window"
    _description = "ISP Usage Time Window"
    _order = "product_tmpl_id, start_hour, id"

    product_tmpl_id = fields.Many2one(
        "product.template", required=True, ondelete="cascade", index=True
    )
    start_hour = fields.Float(
        string="From", required=True, help="In the company's timezone."
    )
    end_hour = fields.Float(string="To", required=True, default=7.0)
    counted_pct = fields.Integer(
        string="Counted (%)",
        default=0,
        help="The share of the traffic reported in the window that counts "
        "against the data: 0 for free nights, 50 for half.",
    )

    def _isp_window(self):
        self.ensure_one()
        return fair_usage.Window(
            fair_usage.minutes(self.start_hour),
            fair_usage.minutes(self.end_hour),
            self.counted_pct,
        )

    @api.constrains("start_hour", "end_hour", "counted_pct")
    def _check_windows(self):
        for template in self.product_tmpl_id:
            problem = fair_usage.windows_problem(template._isp_usage_windows())
            if problem:
                raise ValidationError(problem)
