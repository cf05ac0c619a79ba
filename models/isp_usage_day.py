# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""What a subscriber used each day, from RADIUS accounting: the usage import
books each report's bytes on the day of the report, in the company's
timezone, next to the grant of that day's period. The subscription's *Usage*
chart and the portal's bars read it."""

from odoo import api, fields, models
from odoo.tools import SQL

from ..core import units


class IspUsageDay(models.Model):
    _name = "isp.usage.day"
    _description = "ISP Daily Usage"
    _order = "day desc"

    subscription_id = fields.Many2one(
        "isp.subscription", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(related="subscription_id.company_id", store=True)
    partner_id = fields.Many2one(
        related="subscription_id.partner_id", string="Subscriber", store=True
    )
    day = fields.Date(required=True, readonly=True)
    used_gb = fields.Float(string="Used (GB)", digits=(16, 3), readonly=True)

    _sql_constraints = [
        (
            "day_uniq",
            "unique (subscription_id, day)",
            "One row per subscription and day.",
        ),
    ]

    @api.model
    def _isp_book(self, added):
        """Add ``{(subscription id, day): bytes}`` to the days, in one
        statement (concurrent imports add, never overwrite)."""
        if not added:
            return
        self.flush_model()
        keys = list(added)
        self.env.execute_query(
            SQL(
                """
                INSERT INTO isp_usage_day
                       (subscription_id, day, used_gb, company_id, partner_id,
                        create_date, write_date)
                SELECT v.s, v.d, v.gb, sub.company_id, sub.partner_id,
                       now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
                  FROM unnest(%s::int[], %s::date[], %s::float8[]) AS v(s, d, gb)
                  JOIN isp_subscription sub ON sub.id = v.s
                ON CONFLICT (subscription_id, day) DO UPDATE
                   SET used_gb = isp_usage_day.used_gb + EXCLUDED.used_gb,
                       write_date = EXCLUDED.write_date
                """,
                [sub_id for sub_id, _day in keys],
                [day for _sub_id, day in keys],
                [added[key] / units.GB for key in keys],
            )
        )
        self.invalidate_model()
