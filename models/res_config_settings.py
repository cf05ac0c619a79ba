# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

DEFAULT_BATCH_SIZE = 200


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    isp_timezone = fields.Selection(related="company_id.isp_timezone", readonly=False)
    isp_notify_granted = fields.Boolean(
        related="company_id.isp_notify_granted", readonly=False
    )
    isp_notify_insufficient = fields.Boolean(
        related="company_id.isp_notify_insufficient", readonly=False
    )
    isp_waiting_activity_days = fields.Integer(
        related="company_id.isp_waiting_activity_days", readonly=False
    )
    isp_low_credit_days = fields.Integer(
        related="company_id.isp_low_credit_days", readonly=False
    )
    isp_notify_by = fields.Selection(related="company_id.isp_notify_by", readonly=False)
    isp_voucher_account_id = fields.Many2one(
        related="company_id.isp_voucher_account_id", readonly=False
    )
    isp_batch_size = fields.Integer(
        string="Grant Batch Size",
        config_parameter="isp_data_recurring.batch_size",
        default=DEFAULT_BATCH_SIZE,
        help="How many subscriptions the scheduled action processes, invoices "
        "and commits together; with the runs spread over workers, the size of "
        "each job's batch (subscriptions, network events or e-mails).",
    )

    isp_fan_out = fields.Boolean(
        string="Spread Runs over Workers",
        config_parameter="isp_data_recurring.fan_out",
        help="The scheduled actions that grant data, deliver to the network and "
        "send the grants' e-mails enqueue one job per batch, which queue_job's "
        "runner hands to every Odoo worker. Needs the job runner: queue_job in "
        "the server's server_wide_modules (see the README).",
    )

    @api.constrains("isp_batch_size")
    def _check_isp_batch_size(self):
        for settings in self:
            if settings.isp_batch_size < 1:
                raise ValidationError(
                    _("The grant batch size must be 1 or more (200 is a good value).")
                )
