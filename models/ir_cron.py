# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import _, fields, models

from .isp_terms import notification

GRANT_CRON = "isp_data_recurring.ir_cron_isp_grant_recurring_data"


class IrCron(models.Model):
    _inherit = "ir.cron"

    def method_direct_trigger(self):
        """ "Run Manually" of the grant job says what it did.

        Odoo's own steps (``ir.cron.method_direct_trigger``: the job's lock,
        its progress record, ``lastcall``), with the grant run called
        directly instead of through the job's server action, whose return
        value Odoo drops: so the run's RunResult is what the notification
        tells. When subscriptions remain due, the job is triggered so that
        the cron worker carries on at once.
        """
        grant_cron = self.env.ref(GRANT_CRON, raise_if_not_found=False)
        if not grant_cron or self != grant_cron:
            return super().method_direct_trigger()
        self.browse().check_access("write")
        self._try_lock()
        cron, progress = (
            self.with_user(self.user_id)
            .with_context(lastcall=self.lastcall)
            ._add_progress()
        )
        result = cron.env["isp.subscription"]._cron_process_due()
        self.lastcall = fields.Datetime.now()
        self.env.flush_all()
        if self.env["isp.fan.out"]._isp_enabled():
            message = _(
                "%(count)s due subscription(s) handed to the workers (queue_job): "
                "the subscriptions list counts their jobs until they are done.",
                count=result,
            )
            return notification(self.name, message)
        message = (
            result.summary()
            if result
            else _("Nothing was due: no period starts before the next grant date.")
        )
        if progress.remaining:
            self._trigger()
            message += " " + _(
                "%(count)s subscription(s) remain due: the scheduled action "
                "carries on with them in a moment.",
                count=progress.remaining,
            )
        return notification(self.name, message)
