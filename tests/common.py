# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from datetime import date

from odoo import Command
from odoo.tests import new_test_user

from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.addons.queue_job.controllers.main import RunJobController
from odoo.addons.queue_job.job import Job

from isp_devtools.fixtures import GRANT_CRON, Fixtures, run_cron


def perform_jobs(env, jobs):
    """Run these enqueued queue_job jobs here, as queue_job's worker does
    (``RunJobController._try_perform_job``: perform, done, result stored),
    in the test's transaction; the fan-out tests have a real server run them.

    Not queue_job's own test helpers: ``from odoo.addons.queue_job.tests.common
    import trap_jobs`` fails on this Odoo build (18.0-20250506), whose
    odoo.tests.common lacks what that module imports first: "ImportError:
    cannot import name 'SETATTR_SOURCES' from 'odoo.tests.common'". Even
    importable, ``trap_jobs`` never stores a job, and these tests read the
    stored ones (identity keys, a second run that enqueues nothing while they
    wait, results); its ``JobMixin.perform_jobs`` leaves them pending, without
    their result.
    """
    for record in jobs:
        job = Job.load(env, record.uuid)
        job.set_started()
        RunJobController._try_perform_job(env, job)


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
        cls.bank_journal = cls.company_data["default_journal_bank"]
        cls.fixtures = Fixtures(cls.env, cls.company, cls.bank_journal)
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
        return cls.fixtures.package(
            name,
            price,
            recurrence,
            data_gb,
            interval,
            mode,
            policy,
            taxes,
            isp_category_id=cls.category.id,
            isp_site_id=cls.site.id,
        )

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
        partner = cls.fixtures.partners([name], ["s@example.com"])
        if credit:
            cls._top_up(partner, credit, when)
        return partner

    @classmethod
    def _top_up(cls, partner, amount, when=date(2026, 1, 1)):
        return cls.fixtures.top_up(partner, amount, when)

    @classmethod
    def _subscribe(
        cls, partner, product, start=date(2026, 1, 5), activate=True, **vals
    ):
        return cls.fixtures.subscribe(partner, product, start, activate, **vals)

    def prepaid_credit(self, partner):
        """The subscriber's prepaid credit, as Odoo accounting computes it."""
        partner.invalidate_recordset(["credit"])
        return -partner.with_company(self.company).sudo().credit

    def run_cron(self, day):
        """One run of "ISP: grant recurring data" on ``day``."""
        return run_cron(self.env, GRANT_CRON, date_ref=day)
