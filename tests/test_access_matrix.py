# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Access rights, table-driven: who may read, create, write and unlink what.

Groups x models x operations, each cell either allowed (the operation works
and its effect is visible) or denied (AccessError; for the audit-trail grants
a UserError is accepted too). Then the entry points of the engine and the
walls between companies.
"""

import inspect
from datetime import date

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.models import check_method_name
from odoo.service.model import get_public_method
from odoo.tests import new_test_user, tagged

from isp_devtools.fixtures import GRANT_CRON, run_cron

from .common import IspCommon

READ, CREATE, WRITE, UNLINK = "read", "create", "write", "unlink"
OPERATIONS = (READ, CREATE, WRITE, UNLINK)
ALL = frozenset(OPERATIONS)
NOTHING = frozenset()
READ_ONLY = frozenset({READ})

GROUPS = {
    "portal": "base.group_portal",
    "internal": "base.group_user",
    "salesperson": "base.group_user,sales_team.group_sale_salesman",
    "isp_user": "base.group_user,isp_data_recurring.group_isp_user",
    "isp_manager": "base.group_user,isp_data_recurring.group_isp_manager",
    "billing": "base.group_user,account.group_account_invoice",
}
# What each group may do on each model. Product templates are readable by every
# internal user (Odoo's own rule in `product`). Issue 4 will let salespeople
# create subscriptions through sale orders; today they have no ISP rights.
EXPECTED = {
    "portal": {
        "service": NOTHING,
        "site": NOTHING,
        "subscription": NOTHING,
        "grant": NOTHING,
    },
    "internal": {
        "service": READ_ONLY,
        "site": NOTHING,
        "subscription": NOTHING,
        "grant": NOTHING,
    },
    "salesperson": {
        "service": READ_ONLY,
        "site": NOTHING,
        "subscription": NOTHING,
        "grant": NOTHING,
    },
    "isp_user": {
        "service": READ_ONLY,
        "site": READ_ONLY,
        "subscription": READ_ONLY,
        "grant": READ_ONLY,
    },
    "isp_manager": {
        "service": ALL,
        "site": ALL,
        "subscription": ALL,
        "grant": READ_ONLY,
    },
    # Accounting's billing group implies ISP Manager.
    "billing": {"service": ALL, "site": ALL, "subscription": ALL, "grant": READ_ONLY},
}


@tagged("post_install", "-at_install")
class TestAccessMatrix(IspCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company_vals = {
            "company_id": cls.company.id,
            "company_ids": [Command.set(cls.company.ids)],
        }
        cls.users = {
            role: new_test_user(
                cls.env, login=f"isp_matrix_{role}", groups=groups, **company_vals
            )
            for role, groups in GROUPS.items()
        }
        cls.subscriber = cls._create_partner("Matrix subscriber", credit=100.0)
        cls.subscription = cls._subscribe(
            cls.subscriber, cls.weekly_5gb, start=date(2026, 1, 5), activate=False
        )
        cls.running = cls._subscribe(
            cls.subscriber, cls.weekly_5gb, start=date(2026, 1, 5)
        )
        run_cron(cls.env, GRANT_CRON, date_ref=date(2026, 1, 5))
        cls.grant = cls.running.grant_ids
        assert len(cls.grant) == 1 and cls.grant.state == "granted"
        cls.service = cls.weekly_5gb.product_tmpl_id

    # -- one record per model, and what each operation does ---------------
    def _fresh(self, model):
        """A new record, made as superuser, for an unlink attempt."""
        if model != "grant":
            return (
                self.env[self.MODEL_NAMES[model]]
                .sudo()
                .create(self._create_vals(model))
            )
        return self._grant_of(self.subscription, date(2026, 1, 12))

    def _grant_of(self, sub, start):
        return (
            self.env["isp.data.grant"]
            .sudo()
            .create(
                {
                    "subscription_id": sub.id,
                    "partner_id": sub.partner_id.id,
                    "company_id": sub.company_id.id,
                    "currency_id": sub.currency_id.id,
                    "period_start": start,
                    "period_end": start,
                    "state": "skipped",
                    "reason": "missed",
                }
            )
        )

    def _create_vals(self, model):
        if model == "service":
            return {
                "name": "Matrix plan",
                "type": "service",
                "isp_is_service": True,
                "isp_recurrence": "monthly",
                "list_price": 9.0,
                "company_id": self.company.id,
            }
        if model == "site":
            return {
                "name": "Matrix tower",
                "code": "MTX-1",
                "site_type": "tower",
                "company_id": self.company.id,
            }
        if model == "subscription":
            return {
                "partner_id": self.subscriber.id,
                "product_id": self.weekly_5gb.id,
                "company_id": self.company.id,
                "date_start": date(2026, 2, 2),
            }
        return {
            "subscription_id": self.subscription.id,
            "partner_id": self.subscriber.id,
            "company_id": self.company.id,
            "currency_id": self.currency.id,
            "period_start": date(2026, 2, 2),
            "period_end": date(2026, 2, 8),
            "state": "skipped",
            "reason": "missed",
        }

    def _existing(self, model):
        return {
            "service": self.service,
            "site": self.site,
            "subscription": self.subscription,
            "grant": self.grant,
        }[model]

    MODEL_NAMES = {
        "service": "product.template",
        "site": "isp.site",
        "subscription": "isp.subscription",
        "grant": "isp.data.grant",
    }
    WRITE_VALS = {
        "service": ("list_price", 7.5),
        "site": ("name", "Renamed POP"),
        "subscription": ("price_unit", 7.5),
        "grant": ("data_gb", 99.0),
    }

    def _attempt(self, user, model, operation):
        """Run ``operation`` as ``user``; check its effect when it worked."""
        Model = self.env[self.MODEL_NAMES[model]]
        if operation == READ:
            record = self._existing(model)
            record.invalidate_recordset()
            field = "period_start" if model == "grant" else "name"
            value = record.with_user(user).read([field])[0][field]
            self.assertEqual(value, record[field])
            found = Model.with_user(user).search([("id", "=", record.id)])
            self.assertEqual(found, record)
        elif operation == CREATE:
            record = Model.with_user(user).create(self._create_vals(model))
            self.assertTrue(record.exists())
            self.assertEqual(record.create_uid, user)
        elif operation == WRITE:
            record = self._existing(model)
            field, value = self.WRITE_VALS[model]
            record.with_user(user).write({field: value})
            record.invalidate_recordset()
            self.assertEqual(record[field], value)
        else:
            record = self._fresh(model)
            record.with_user(user).unlink()
            self.assertFalse(record.exists())

    def test_every_group_gets_exactly_its_rights_on_every_model(self):
        for role, rights in EXPECTED.items():
            user = self.users[role]
            for model, allowed in rights.items():
                for operation in OPERATIONS:
                    with self.subTest(role=role, model=model, operation=operation):
                        with self.env.cr.savepoint() as savepoint:
                            if operation in allowed:
                                self._attempt(user, model, operation)
                            else:
                                # AccessError is a UserError: grants may
                                # refuse with either.
                                denial = UserError if model == "grant" else AccessError
                                with self.assertRaises(denial):
                                    self._attempt(user, model, operation)
                            savepoint.rollback()

    def test_the_matrix_covers_every_group_model_and_operation(self):
        self.assertEqual(set(EXPECTED), set(GROUPS))
        for rights in EXPECTED.values():
            self.assertEqual(set(rights), set(self.MODEL_NAMES))
        self.assertTrue(
            self.users["billing"].has_group("isp_data_recurring.group_isp_manager")
        )
        self.assertFalse(
            self.users["salesperson"].has_group("isp_data_recurring.group_isp_user")
        )

    def test_grants_stay_read_only_even_for_managers(self):
        for role in ("isp_manager", "billing"):
            user = self.users[role]
            with self.subTest(role=role):
                with self.assertRaises(UserError):
                    self.grant.with_user(user).write({"amount": 0.0})
                with self.assertRaises(UserError):
                    self.grant.with_user(user).unlink()
                self.grant.invalidate_recordset()
                self.assertEqual(self.grant.amount, 5.0)
                self.assertTrue(self.grant.exists())

    # -- the engine's entry points ------------------------------------------
    def test_only_isp_managers_can_run_grants_by_hand(self):
        self.env.flush_all()
        for role in ("portal", "internal", "salesperson", "isp_user"):
            with self.subTest(role=role), self.assertRaises(AccessError):
                self.running.with_user(self.users[role]).action_run_now()
        self.assertEqual(len(self.running.grant_ids), 1)
        for role in ("isp_manager", "billing"):
            with self.subTest(role=role), freeze_time("2026-01-06 10:00:00"):
                self.assertTrue(
                    self.running.with_user(self.users[role]).action_run_now()
                )
        self.assertEqual(len(self.running.grant_ids), 1, "not due: nothing new")

    def test_the_cron_entry_point_cannot_be_called_over_rpc(self):
        model = self.env["isp.subscription"]
        for name in (
            "_cron_process_due",
            "_cron_remind_waiting",
            "_isp_process_locked",
            "_isp_retry_waiting",
        ):
            with self.subTest(name=name):
                with self.assertRaises(AccessError):
                    check_method_name(name)
                with self.assertRaises(AccessError):
                    get_public_method(model, name)
        # The buttons stay callable (and check rights themselves).
        self.assertTrue(callable(get_public_method(model, "action_run_now")))

    def test_the_engine_exposes_no_public_method_but_buttons(self):
        """Every public method of the subscription model is a button that
        checks rights; the engine (which works as superuser) is private."""
        ours = [
            cls
            for cls in type(self.env["isp.subscription"]).__mro__
            if cls.__module__.startswith("odoo.addons.isp_data_recurring.")
        ]
        self.assertGreater(len(ours), 1, "the model is split by concern")
        public = {
            name
            for cls in ours
            for name, member in vars(cls).items()
            if inspect.isfunction(member) and not name.startswith("_")
        }
        self.assertTrue(public)
        self.assertEqual(
            {name for name in public if not name.startswith("action_")},
            {"create", "write"},
        )

    # -- companies -------------------------------------------------------
    def test_company_a_users_see_nothing_of_company_b(self):
        company_b_data = self.setup_other_company()
        company_b = company_b_data["company"]
        site_b = self.env["isp.site"].create(
            {"name": "B tower", "code": "B-1", "company_id": company_b.id}
        )
        package_b = (
            self.env["product.template"]
            .create(
                {
                    "name": "B plan",
                    "type": "service",
                    "isp_is_service": True,
                    "isp_recurrence": "weekly",
                    "isp_status": "active",
                    "list_price": 5.0,
                    "company_id": company_b.id,
                    "isp_site_id": site_b.id,
                }
            )
            .product_variant_id
        )
        partner_b = self.env["res.partner"].create({"name": "B subscriber"})
        sub_b = self.env["isp.subscription"].create(
            {
                "partner_id": partner_b.id,
                "product_id": package_b.id,
                "company_id": company_b.id,
                "date_start": date(2026, 1, 5),
            }
        )
        grant_b = self._grant_of(sub_b, date(2026, 1, 5))
        visible_a = {
            "isp.site": self.site,
            "isp.subscription": self.subscription,
            "isp.data.grant": self.grant,
        }
        hidden_b = {
            "isp.site": site_b,
            "isp.subscription": sub_b,
            "isp.data.grant": grant_b,
        }
        for role in ("isp_user", "isp_manager", "billing"):
            user = self.users[role]
            for model, record_b in hidden_b.items():
                with self.subTest(role=role, model=model):
                    found = self.env[model].with_user(user).search([])
                    self.assertIn(visible_a[model], found)
                    self.assertNotIn(record_b, found)
                    self.assertFalse(
                        found.filtered(lambda rec: rec.company_id == company_b)
                    )
                    with self.assertRaises(AccessError):
                        record_b.with_user(user).read(["company_id"])
        # Even the grouped counts of company A's users leave company B out.
        groups = (
            self.env["isp.subscription"]
            .with_user(self.users["isp_manager"])
            ._read_group([], ["company_id"], ["__count"])
        )
        self.assertNotIn(company_b, [company for company, _count in groups])
