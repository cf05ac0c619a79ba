# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import _, models

GRANT_CRON = "isp_data_recurring.ir_cron_isp_grant_recurring_data"


class IrCron(models.Model):
    _inherit = "ir.cron"

    def method_direct_trigger(self):
        """ "Run Manually" of the grant job says what it did.

        Odoo runs one call of the job by hand; when subscriptions remain due,
        the job is triggered so that the cron worker carries on at once.
        """
        grant_cron = self.env.ref(GRANT_CRON, raise_if_not_found=False)
        if not grant_cron or self != grant_cron:
            return super().method_direct_trigger()
        grants = self.env["isp.data.grant"].sudo()
        last = grants.search([], order="id desc", limit=1).id or 0
        res = super().method_direct_trigger()
        progress = (
            self.env["ir.cron.progress"]
            .sudo()
            .search([("cron_id", "=", self.id)], order="id desc", limit=1)
        )
        Subscription = self.env["isp.subscription"]
        if self.env["isp.fan.out"]._isp_enabled():
            message = _(
                "%(count)s due subscription(s) handed to the workers (queue_job): "
                "the subscriptions list counts their jobs until they are done.",
                count=progress.done,
            )
            return Subscription._isp_notification(self.name, message) if res else res
        new = grants.search([("id", ">", last)])
        failed = Subscription.sudo().search(
            [("last_error", "!=", False), ("processed_at", ">=", progress.create_date)]
        )
        message = Subscription._isp_run_summary(new, failed)
        if progress.remaining:
            self._trigger()
            message += " " + _(
                "%(count)s subscription(s) remain due: the scheduled action "
                "carries on with them in a moment.",
                count=progress.remaining,
            )
        return Subscription._isp_notification(self.name, message) if res else res
