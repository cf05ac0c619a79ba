# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from datetime import date

from odoo import Command
from odoo.tests import new_test_user
from odoo.tools import SQL

from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.addons.queue_job.job import Job

GRANT_CRON = "isp_data_recurring.ir_cron_isp_grant_recurring_data"
REMIND_CRON = "isp_data_recurring.ir_cron_isp_remind_waiting"
NOTIFY_CRON = "isp_data_recurring.ir_cron_isp_send_notifications"
# A run that is still not done after this many calls is a bug, not a load.
MAX_CALLS = 1000


def run_job(env, xmlid, method, commit=False, **kwargs):
    """Run a scheduled action's method as ``ir.cron._run_job`` does.

    Each call gets its progress record and the run's ``lastcall``; the job is
    called again while it reports work done and work remaining. With
    ``commit`` (real cursors only), the cursor commits around each call, as
    the cron worker does. Returns how many records the calls reported done.
    """
    cron = env.ref(xmlid)
    env.flush_all()
    lastcall = env.execute_query(SQL("SELECT clock_timestamp() AT TIME ZONE 'UTC'"))
    cron = cron.with_context(lastcall=lastcall[0][0])
    model = env[cron.model_id.model]
    done = 0
    for _call in range(MAX_CALLS):
        cron_in_run, progress = cron._add_progress()
        if commit:
            env.cr.commit()
        getattr(model.with_context(**cron_in_run.env.context), method)(**kwargs)
        env.flush_all()
        if commit:
            env.cr.commit()
        done += progress.done
        if not progress.done or not progress.remaining:
            return done
    raise AssertionError(f"{method} still reports work after {MAX_CALLS} calls")


def perform_jobs(env, jobs):
    """Run these enqueued queue_job jobs here, as a worker would (tests of
    what a job does; the fan-out tests have a real server run them)."""
    for record in jobs:
        job = Job.load(env, record.uuid)
        job.set_started()
        job.perform()
        job.set_done()
        job.store()
    env.flush_all()


class IspCommon(AccountTestInvoicingCommon):
    """Fixtures: one company with accounting, services, and helpers.

    Built on Odoo's own accounting test base: a chart of accounts, journals
    and a receivable account for every new partner.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.company_data["company"]
        cls.currency = cls.company.currency_id
        cls.site = cls.env["isp.site"].create(
            {"name": "Test POP", "code": "POP-T1", "company_id": cls.company.id}
        )
        cls.category = cls.env["isp.service.category"].create({"name": "Home"})
        cls.weekly_5gb = cls._create_package(
            "Weekly 5 GB", price=5.0, recurrence="weekly", data_gb=5.0
        )
        cls.monthly_10gb = cls._create_package(
            "Monthly 10 GB", price=10.0, recurrence="monthly", data_gb=10.0
        )
        cls.bank_journal = cls.company_data["default_journal_bank"]
        cls.manager = new_test_user(
            cls.env,
            login="isp_manager",
            groups="base.group_user,isp_data_recurring.group_isp_manager",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )

    @classmethod
    def _create_package(
        cls,
        name,
        price,
        recurrence,
        data_gb=0.0,
        interval=1,
        mode="credit",
        policy="posted",
        taxes=None,
    ):
        template = cls.env["product.template"].create(
            {
                "name": name,
                "type": "service",
                "isp_is_service": True,
                "isp_status": "active",
                "isp_category_id": cls.category.id,
                "isp_site_id": cls.site.id,
                "list_price": price,
                "taxes_id": [Command.set(taxes.ids if taxes else [])],
                "isp_data_limit_gb": data_gb,
                "isp_recurrence": recurrence,
                "isp_recurrence_interval": interval,
                "isp_recurring_mode": mode,
                "isp_invoice_policy": policy,
                "company_id": cls.company.id,
            }
        )
        return template.product_variant_id

    @classmethod
    def _create_installation(cls):
        """A one-time ISP service: no recurrence, never a subscription."""
        return (
            cls.env["product.template"]
            .create(
                {
                    "name": "Installation",
                    "type": "service",
                    "isp_is_service": True,
                    "list_price": 50.0,
                    "company_id": cls.company.id,
                }
            )
            .product_variant_id
        )

    @classmethod
    def _create_partner(cls, name="Subscriber", credit=0.0, when=date(2026, 1, 1)):
        partner = cls.env["res.partner"].create(
            {"name": name, "email": "s@example.com"}
        )
        if credit:
            cls._top_up(partner, credit, when)
        return partner

    @classmethod
    def _top_up(cls, partner, amount, when=date(2026, 1, 1)):
        payment = cls.env["account.payment"].create(
            {
                "payment_type": "inbound",
                "partner_type": "customer",
                "partner_id": partner.id,
                "amount": amount,
                "date": when,
                "journal_id": cls.bank_journal.id,
                "company_id": cls.company.id,
            }
        )
        payment.action_post()
        return payment

    @classmethod
    def _subscribe(
        cls, partner, product, start=date(2026, 1, 5), activate=True, **vals
    ):
        sub = cls.env["isp.subscription"].create(
            dict(
                {
                    "partner_id": partner.id,
                    "product_id": product.id,
                    "date_start": start,
                    "company_id": cls.company.id,
                },
                **vals,
            )
        )
        if activate:
            sub.action_activate()
        return sub

    def prepaid_credit(self, partner):
        """The subscriber's prepaid credit, as Odoo accounting computes it."""
        partner.invalidate_recordset(["credit"])
        return -partner.with_company(self.company).sudo().credit

    def run_cron(self, day):
        """One run of "ISP: grant recurring data" on ``day``."""
        return run_job(self.env, GRANT_CRON, "_cron_process_due", date_ref=day)
