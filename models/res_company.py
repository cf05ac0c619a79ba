# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import fields, models

from odoo.addons.base.models.res_partner import _tz_get


class ResCompany(models.Model):
    _inherit = "res.company"

    isp_timezone = fields.Selection(
        _tz_get,
        string="ISP Timezone",
        help="Timezone that decides which day it is when recurring data is "
        "granted. Empty: the timezone of the company's address, else UTC.",
    )
    isp_notify_granted = fields.Boolean(
        string="Notify Granted Data",
        default=True,
        help="E-mail subscribers each time data is granted.",
    )
    isp_notify_insufficient = fields.Boolean(
        string="Notify Insufficient Credit",
        default=True,
        help="E-mail subscribers when a period is skipped for lack of credit.",
    )
    isp_waiting_activity_days = fields.Integer(
        string="Waiting-for-Credit Reminder (days)",
        default=7,
        help="Schedule an activity for the responsible accountant when a "
        "subscription has waited for credit this many days. 0 turns the "
        "reminder off.",
    )

    isp_low_credit_days = fields.Integer(
        string="Low-Credit Warning (days)",
        default=3,
        help="Warn a prepaid subscriber this many days before a renewal their "
        "credit will not pay. 0 turns the warning off.",
    )

    isp_notify_by = fields.Selection(
        [("email", "E-mail"), ("sms", "SMS"), ("both", "E-mail and SMS")],
        string="Notify Subscribers By",
        default="email",
        required=True,
        help="How the subscriber gets the granted, insufficient-credit, "
        "fair-usage and low-credit messages: e-mail (their address), SMS (their "
        "mobile, else their phone, through Odoo's SMS), or both.",
    )
    isp_voucher_account_id = fields.Many2one(
        "account.account",
        string="Voucher Liability Account",
        domain=[("account_type", "in", ("liability_current", "liability_non_current"))],
        help="What the company owes the holders of its prepaid cards until they "
        "redeem them: the default of new voucher batches.",
    )

    def _isp_notifies_by(self, channel):
        """Whether subscribers of this company get messages by ``channel``
        (email or sms)."""
        self.ensure_one()
        return self.isp_notify_by in (channel, "both")

    def _isp_effective_timezone(self):
        """The timezone name used for "today" in this company."""
        self.ensure_one()
        return self.isp_timezone or self.partner_id.tz or "UTC"
