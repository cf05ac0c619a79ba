# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The fan-out's jobs, one transaction: what a run enqueues, what a job does,
what the accountant sees of them. (That queue_job's runner runs them exactly
once over real workers is ``test_fan_out``.)"""

from datetime import date

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from odoo.addons.isp_data_recurring.models.isp_fan_out import FAN_OUT_PARAM

from isp_devtools.fixtures import GRANT_CRON, NOTIFY_CRON, run_cron

from .common import IspCommon, perform_jobs

DAY = date(2026, 1, 5)


@tagged("post_install", "-at_install")
class TestFanOutJobs(IspCommon):
    def setUp(self):
        super().setUp()
        self.env["ir.config_parameter"].sudo().set_param(FAN_OUT_PARAM, "1")
        self.env["ir.config_parameter"].sudo().set_param(
            "isp_data_recurring.batch_size", "2"
        )

    def _jobs(self, kind):
        return self.env["queue.job"].search(
            [("identity_key", "=like", f"isp-{kind}:%")], order="id"
        )

    def test_a_run_enqueues_one_job_per_batch_and_grants_nothing_itself(self):
        subs = self.env["isp.subscription"].browse(
            [
                self._subscribe(
                    self._create_partner(f"F{i}", credit=10.0), self.weekly_5gb
                ).id
                for i in range(5)
            ]
        )
        handed = run_cron(self.env, GRANT_CRON, date_ref=DAY)
        self.assertEqual(handed, 5)
        self.assertFalse(subs.grant_ids, "the run itself grants nothing")
        jobs = self._jobs("grant")
        ids = subs.sorted("id").ids
        self.assertEqual(
            [job.args[:2] for job in jobs],
            [[ids[0], ids[1]], [ids[2], ids[3]], [ids[4], ids[4]]],
        )
        self.assertEqual(
            jobs[0].identity_key,
            f"isp-grant:{self.company.id}:2026-01-05:{ids[0]}-{ids[1]}",
        )
        self.assertEqual(set(jobs.mapped("channel")), {"root.isp.grant"})
        self.assertEqual(set(jobs.mapped("company_id")), {self.company})
        self.assertIn("2 due", jobs[0].name)

        # While they wait, another run enqueues nothing.
        self.assertEqual(run_cron(self.env, GRANT_CRON, date_ref=DAY), 0)
        self.assertEqual(self._jobs("grant"), jobs)

        # The accountant sees them on the subscriptions list.
        counts = self.env["isp.fan.out"].with_user(self.manager).isp_job_counts()
        self.assertEqual(
            counts, {"enabled": True, "pending": 3, "failed": 0, "can_open": True}
        )

        perform_jobs(self.env, jobs)
        self.assertEqual(subs.grant_ids.mapped("state"), ["granted"] * 5)
        self.assertEqual(len(subs.grant_ids.move_id), 5)
        self.assertEqual(set(subs.mapped("next_date")), {date(2026, 1, 12)})
        # A job done twice (a retry, a twin) does its work once.
        perform_jobs(self.env, jobs[:1])
        self.assertEqual(len(subs.grant_ids), 5)
        self.assertIn("Nothing left to do", jobs[0].result or "")

    def test_the_grant_notifications_fan_out_per_company(self):
        partners = [self._create_partner(f"Mail {i}", credit=10.0) for i in range(3)]
        for partner in partners:
            self._subscribe(partner, self.weekly_5gb)
        self.env["ir.config_parameter"].sudo().set_param(FAN_OUT_PARAM, "0")
        self.run_cron(DAY)
        self.env["ir.config_parameter"].sudo().set_param(FAN_OUT_PARAM, "1")
        grants = self.env["isp.data.grant"].search(
            [("partner_id", "in", [p.id for p in partners])]
        )
        self.assertEqual(grants.mapped("notify_pending"), [True] * 3)

        self.assertEqual(run_cron(self.env, NOTIFY_CRON), 3)
        self.assertEqual(grants.mapped("notify_pending"), [True] * 3, "not inline")
        jobs = self._jobs("notify")
        self.assertEqual(len(jobs), 2, "batches of 2 (Settings) for the company")
        self.assertEqual(set(jobs.mapped("channel")), {"root.isp.mail"})
        perform_jobs(self.env, jobs)
        self.assertEqual(grants.mapped("notify_pending"), [False] * 3)
        mails = self.env["mail.mail"].search(
            [("recipient_ids", "in", [p.id for p in partners])]
        )
        self.assertEqual(len(mails), 3)
        perform_jobs(self.env, jobs)
        self.assertEqual(
            len(
                self.env["mail.mail"].search(
                    [("recipient_ids", "in", [p.id for p in partners])]
                )
            ),
            3,
            "a job done twice never e-mails twice",
        )

    def test_isp_managers_see_the_runs_jobs_and_only_them(self):
        self._subscribe(self._create_partner("Seen", credit=10.0), self.weekly_5gb)
        run_cron(self.env, GRANT_CRON, date_ref=DAY)
        job = self._jobs("grant")
        self.assertEqual(len(job), 1)
        # A job of another addon's (here: queue_job's own test job).
        other = self.env["queue.job"].with_delay()._test_job()
        other = self.env["queue.job"].sudo().search([("uuid", "=", other.uuid)])
        self.assertEqual(len(other), 1)
        job.sudo().write({"state": "failed"})
        Jobs = self.env["queue.job"].with_user(self.manager)
        self.assertEqual(Jobs.search([]), job.with_user(self.manager))
        self.env.invalidate_all()
        with self.assertRaises(AccessError):
            other.with_user(self.manager).read(["name"])
        with self.assertRaises(AccessError):
            job.with_user(self.manager).write({"priority": 1})
        counts = self.env["isp.fan.out"].with_user(self.manager).isp_job_counts()
        self.assertEqual((counts["pending"], counts["failed"]), (0, 1))
        action = (
            self.env["isp.fan.out"]
            .with_user(self.manager)
            .action_isp_open_jobs("failed")
        )
        self.assertEqual(action["res_model"], "queue.job")
        self.assertEqual(Jobs.search(action["domain"]), job.with_user(self.manager))
        # What the list view reads, the manager may read.
        Jobs.search_read(action["domain"], ["name", "state", "channel", "exc_message"])
        # Job Queue Managers who are ISP Managers too keep seeing every job.
        companies = (job | other).sudo().company_id
        both = new_test_user(
            self.env,
            login="isp_and_jobs_manager",
            groups="base.group_user,isp_data_recurring.group_isp_manager,"
            "queue_job.group_queue_job_manager",
            company_id=self.company.id,
            company_ids=[Command.set(companies.ids)],
        )
        self.assertEqual(
            self.env["queue.job"]
            .with_user(both)
            .with_context(allowed_company_ids=companies.ids)
            .search_count([("id", "in", (job | other).ids)]),
            2,
        )
        # A plain ISP user gets the counts, not the link.
        self.assertFalse(
            self.env["isp.fan.out"]
            .with_user(self._isp_user())
            .isp_job_counts()["can_open"]
        )

    def test_run_manually_says_the_work_went_to_the_workers(self):
        self._subscribe(self._create_partner("Manual", credit=10.0), self.weekly_5gb)
        cron = self.env.ref(GRANT_CRON)
        result = cron.method_direct_trigger()
        self.assertIn("handed to the workers", result["params"]["message"])
        self.assertEqual(len(self._jobs("grant")), 1)

    def _isp_user(self):
        return new_test_user(
            self.env,
            login="isp_plain_user",
            groups="base.group_user,isp_data_recurring.group_isp_user",
            company_id=self.company.id,
        )
