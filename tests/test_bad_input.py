# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Bad input, table-driven: every case gets a clear error and changes nothing.

Form-facing models (services, sites, subscriptions, settings) must refuse the
value with a ValidationError or UserError whose message says what to fix. The
scheduled action must turn a subscriber it cannot bill into a logged skip: the
error is written on the subscription, nothing is granted or invoiced, and the
rest of the database is as before.
"""

from datetime import date
from unittest.mock import patch

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from isp_devtools.fixtures import MODELS_LOGGER as ENGINE_LOGGER

from .common import IspCommon

NO_RECEIVABLE = (
    r"has no receivable account in .*Set one on the contact's Accounting tab"
)
COUNTED_MODELS = (
    "product.template",
    "isp.site",
    "isp.subscription",
    "isp.data.grant",
    "account.move",
    "account.payment",
    "account.partial.reconcile",
)


@tagged("post_install", "-at_install")
class TestBadInput(IspCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.setup_other_company()["company"]
        cls.package_of_b = (
            cls.env["product.template"]
            .create(
                {
                    "name": "Plan of company B",
                    "type": "service",
                    "isp_is_service": True,
                    "isp_recurrence": "monthly",
                    "list_price": 5.0,
                    "company_id": cls.company_b.id,
                }
            )
            .product_variant_id
        )
        cls.installation = (
            cls.env["product.template"]
            .create(
                {
                    "name": "Installation fee",
                    "type": "service",
                    "isp_is_service": True,
                    "list_price": 50.0,
                    "company_id": cls.company.id,
                }
            )
            .product_variant_id
        )
        cls.subscriber = cls._create_partner("Bad input subscriber", credit=100.0)
        cls.draft_sub = cls._subscribe(
            cls.subscriber, cls.weekly_5gb, start=date(2026, 1, 5), activate=False
        )
        # Running, then closed: its schedule is frozen and no cron picks it.
        cls.running_sub = cls._subscribe(
            cls.subscriber, cls.weekly_5gb, start=date(2026, 3, 2)
        )
        cls.running_sub.action_close()
        cls.service = cls.weekly_5gb.product_tmpl_id

    # -- helpers -------------------------------------------------------
    def _counts(self):
        env = self.env(context=dict(self.env.context, active_test=False), su=True)
        return {model: env[model].search_count([]) for model in COUNTED_MODELS}

    def _snapshot(self, record, fields):
        record.invalidate_recordset()
        return record.read(fields)

    def _new_sub(self, **vals):
        return self.env["isp.subscription"].create(
            dict(
                {
                    "partner_id": self.subscriber.id,
                    "product_id": self.weekly_5gb.id,
                    "company_id": self.company.id,
                    "date_start": date(2026, 1, 5),
                },
                **vals,
            )
        )

    def _new_service(self, **vals):
        return self.env["product.template"].create(
            dict(
                {
                    "name": "Bad plan",
                    "type": "service",
                    "isp_is_service": True,
                    "isp_recurrence": "weekly",
                    "list_price": 5.0,
                    "company_id": self.company.id,
                },
                **vals,
            )
        )

    # -- forms: the models a user types into -----------------------------
    def test_each_bad_form_value_is_refused_with_a_message_and_changes_nothing(self):
        nan, inf = float("nan"), float("inf")
        sub_fields = [
            "price_unit",
            "recurrence",
            "recurrence_interval",
            "data_limit_gb",
            "date_start",
            "product_id",
            "state",
            "next_date",
        ]
        service_fields = [
            "list_price",
            "isp_recurrence",
            "isp_recurrence_interval",
            "isp_data_limit_gb",
            "type",
        ]
        # (label, action, exception, message regex, record whose values must
        # stay, its fields)
        cases = [
            (
                "subscription: negative price",
                lambda: self._new_sub(price_unit=-5.0),
                ValidationError,
                r"cannot be negative\. Enter a price of 0 or more",
                None,
                None,
            ),
            (
                "subscription: negative price on write",
                lambda: self.draft_sub.write({"price_unit": -0.01}),
                ValidationError,
                r"cannot be negative",
                self.draft_sub,
                sub_fields,
            ),
            (
                "subscription: interval 0",
                lambda: self._new_sub(recurrence_interval=0),
                ValidationError,
                r"interval must be a whole number of 1 or more",
                None,
                None,
            ),
            (
                "subscription: negative interval",
                lambda: self.draft_sub.write({"recurrence_interval": -2}),
                ValidationError,
                r"interval must be a whole number of 1 or more",
                self.draft_sub,
                sub_fields,
            ),
            (
                "subscription: negative data limit",
                lambda: self._new_sub(data_limit_gb=-1.0),
                ValidationError,
                r"data limit must be a finite number of GB, 0 or more",
                None,
                None,
            ),
            (
                "subscription: NaN data limit",
                lambda: self._new_sub(data_limit_gb=nan),
                ValidationError,
                r"data limit must be a finite number of GB",
                None,
                None,
            ),
            (
                "subscription: infinite data limit",
                lambda: self.draft_sub.write({"data_limit_gb": inf}),
                ValidationError,
                r"data limit must be a finite number of GB",
                self.draft_sub,
                sub_fields,
            ),
            (
                "subscription: unknown recurrence (ORM selection check)",
                lambda: self._new_sub(recurrence="yearly"),
                ValueError,
                r"Wrong value for isp\.subscription\.recurrence: 'yearly'",
                None,
                None,
            ),
            (
                "subscription: unknown recurrence on write",
                lambda: self.draft_sub.write({"recurrence": "fortnightly"}),
                ValueError,
                r"Wrong value for isp\.subscription\.recurrence",
                self.draft_sub,
                sub_fields,
            ),
            (
                "subscription: package of company B in company A",
                lambda: self._new_sub(product_id=self.package_of_b.id),
                (ValidationError, UserError),
                r"belongs to .*Choose a package of|[Ii]ncompatible companies",
                None,
                None,
            ),
            (
                "subscription: package that does not recur",
                lambda: self._new_sub(product_id=self.installation.id),
                ValidationError,
                r"not a recurring ISP service\. Give it a recurrence",
                None,
                None,
            ),
            (
                "subscription: start date in year 9999",
                lambda: self._new_sub(date_start=date(9999, 12, 20)),
                ValidationError,
                r"start date must be before year 3000: check the year",
                None,
                None,
            ),
            (
                "subscription: schedule of a running subscription",
                lambda: self.running_sub.write({"recurrence_interval": 3}),
                UserError,
                r"cannot change\. Close it and create a new one",
                self.running_sub,
                sub_fields,
            ),
            (
                "service: negative price",
                lambda: self._new_service(list_price=-1.0),
                ValidationError,
                r"unit price cannot be negative",
                None,
                None,
            ),
            (
                "service: interval 0",
                lambda: self.service.write({"isp_recurrence_interval": 0}),
                ValidationError,
                r"recurrence interval must be 1 or more",
                self.service,
                service_fields,
            ),
            (
                "service: negative interval",
                lambda: self._new_service(isp_recurrence_interval=-1),
                ValidationError,
                r"recurrence interval must be 1 or more",
                None,
                None,
            ),
            (
                "service: negative data limit",
                lambda: self._new_service(isp_data_limit_gb=-0.5),
                ValidationError,
                r"data limit must be a finite number of GB",
                None,
                None,
            ),
            (
                "service: NaN data limit",
                lambda: self.service.write({"isp_data_limit_gb": nan}),
                ValidationError,
                r"data limit must be a finite number of GB",
                self.service,
                service_fields,
            ),
            (
                "service: -inf data limit",
                lambda: self._new_service(isp_data_limit_gb=-inf),
                ValidationError,
                r"data limit must be a finite number of GB",
                None,
                None,
            ),
            (
                "service: unknown recurrence (ORM selection check)",
                lambda: self.service.write({"isp_recurrence": "yearly"}),
                ValueError,
                r"Wrong value for product\.template\.isp_recurrence",
                self.service,
                service_fields,
            ),
            (
                "service: recurrence on a product that is not an ISP service",
                lambda: self._new_service(isp_is_service=False),
                ValidationError,
                r"has a recurrence but is not an ISP service",
                None,
                None,
            ),
            (
                "service: ISP service that is a goods product",
                lambda: self._new_service(type="consu"),
                ValidationError,
                r"set its product type to Service",
                None,
                None,
            ),
            (
                "site: latitude out of range",
                lambda: self.env["isp.site"].create(
                    {"name": "North", "code": "N-1", "latitude": 91.0}
                ),
                ValidationError,
                r"latitude must lie between -90 and 90",
                None,
                None,
            ),
            (
                "site: longitude out of range",
                lambda: self.site.write({"longitude": -181.0}),
                ValidationError,
                r"longitude between -180 and 180",
                self.site,
                ["latitude", "longitude"],
            ),
            (
                "settings: batch size 0",
                lambda: self.env["res.config.settings"].create({"isp_batch_size": 0}),
                ValidationError,
                r"batch size must be 1 or more",
                None,
                None,
            ),
        ]
        self.assertGreaterEqual(len(cases), 15)
        for label, action, exception, message, record, fields in cases:
            with self.subTest(label):
                before = self._counts()
                kept = record and self._snapshot(record, fields)
                with self.assertRaisesRegex(exception, message):
                    with self.env.cr.savepoint():
                        action()
                        self.env.flush_all()
                self.assertEqual(self._counts(), before, "no record created or removed")
                if record:
                    self.assertEqual(self._snapshot(record, fields), kept)

    def test_a_nan_or_infinite_price_is_refused_with_a_message(self):
        """A price must be refused like a data limit is: NaN and inf say so.

        The ORM's float rounding does refuse them, but with Python's words
        ("cannot convert float NaN to integer", an OverflowError for inf) that
        do not tell the user which field to fix.
        """
        nan, inf = float("nan"), float("inf")
        cases = [
            ("subscription: NaN price", lambda: self._new_sub(price_unit=nan)),
            (
                "subscription: infinite price",
                lambda: self.draft_sub.write({"price_unit": inf}),
            ),
            ("service: NaN price", lambda: self._new_service(list_price=nan)),
            (
                "service: infinite price",
                lambda: self.service.write({"list_price": -inf}),
            ),
        ]
        for label, action in cases:
            with self.subTest(label):
                before = self._counts()
                with self.assertRaisesRegex(
                    (ValidationError, UserError), r"[Pp]rice.*finite number"
                ):
                    with self.env.cr.savepoint():
                        action()
                        self.env.flush_all()
                self.assertEqual(self._counts(), before)

    # -- the scheduled action: a logged skip, nothing granted ------------
    def _break_archived_package(self, sub):
        sub.product_id.product_tmpl_id.active = False

    def _break_income_account(self, sub):
        template = sub.product_id.product_tmpl_id.with_company(sub.company_id)
        template.property_account_income_id = False
        template.categ_id.property_account_income_categ_id = False

    def _deprecated_income_account(self):
        revenue = self.company_data["default_account_revenue"]
        return revenue.copy({"code": "400990", "name": "Old sales", "deprecated": True})

    def _break_deprecated_income_account(self, sub):
        sub.product_id.product_tmpl_id.with_company(
            sub.company_id
        ).property_account_income_id = self._deprecated_income_account()

    def _break_no_receivable(self, sub):
        sub.partner_id.with_company(
            sub.company_id
        ).property_account_receivable_id = False

    def _break_deprecated_receivable(self, sub):
        partner = sub.partner_id.with_company(sub.company_id)
        partner.property_account_receivable_id.deprecated = True

    def _break_receivable_type(self, sub):
        partner = sub.partner_id.with_company(sub.company_id)
        partner.property_account_receivable_id = self.company_data[
            "default_account_revenue"
        ]

    def _sql_update(self, sub, assignments, params):
        self.env.flush_all()
        self.env.cr.execute(
            f"UPDATE isp_subscription SET {assignments} WHERE id = %s",  # noqa: S608
            [*params, sub.id],
        )
        sub.invalidate_recordset()

    def _break_year_9999(self, sub):
        # A legacy row past the form check: a monthly schedule from 9999-12-20
        # has no second period.
        self._sql_update(
            sub,
            "date_start = %s, recurrence_anchor = %s, next_date = %s, "
            "recurrence = 'monthly'",
            [date(9999, 12, 20)] * 3,
        )

    def _break_unknown_recurrence(self, sub):
        self._sql_update(sub, "recurrence = %s", ["yearly"])

    def _break_nan_price(self, sub):
        self._sql_update(sub, "price_unit = %s", ["NaN"])

    def test_each_subscriber_the_cron_cannot_bill_is_a_logged_skip(self):
        day = date(2026, 1, 5)
        # (label, breakage, cron day, regex of last_error)
        cases = [
            (
                "archived package",
                self._break_archived_package,
                day,
                r"is archived\. Restore it or close this subscription",
            ),
            (
                "no income account",
                self._break_income_account,
                day,
                r"has no active income account\. Set one on the product or its",
            ),
            (
                "deprecated income account",
                self._break_deprecated_income_account,
                day,
                r"has no active income account\. Set one on the product or its",
            ),
            (
                "no receivable account",
                self._break_no_receivable,
                day,
                NO_RECEIVABLE,
            ),
            (
                "deprecated receivable account",
                self._break_deprecated_receivable,
                day,
                r"is deprecated\. Choose an active one on the contact's Accounting",
            ),
            (
                "receivable account of the wrong type",
                self._break_receivable_type,
                day,
                r"is not of type Receivable\. Fix it on the contact's Accounting tab",
            ),
            (
                "start date in year 9999 (legacy row)",
                self._break_year_9999,
                date(9999, 12, 20),
                r"beyond year 9999: choose an earlier start date",
            ),
            (
                "unknown recurrence (legacy row)",
                self._break_unknown_recurrence,
                day,
                r"Unknown recurrence 'yearly': use daily, weekly or monthly",
            ),
            # The skip itself is right; its text is Python's (see
            # test_a_nan_or_infinite_price_is_refused_with_a_message).
            ("price NaN (legacy row)", self._break_nan_price, day, r"NaN|finite"),
        ]
        watched = ["state", "next_date", "valid_until", "recurrence_anchor"]
        for label, breakage, cron_day, message in cases:
            with self.subTest(label), self.env.cr.savepoint() as savepoint:
                partner = self._create_partner(f"Cron {label}", credit=50.0)
                sub = self._subscribe(partner, self.weekly_5gb, start=day)
                breakage(sub)
                before = self._counts()
                kept = self._snapshot(sub, watched)
                credit_before = self.prepaid_credit(partner)
                with mute_logger(ENGINE_LOGGER):
                    self.run_cron(cron_day)
                sub.invalidate_recordset()
                self.assertRegex(sub.last_error or "", message)
                self.assertIn("Recurring grant failed", sub.message_ids[0].body)
                self.assertFalse(sub.grant_ids, "nothing granted, nothing skipped")
                self.assertEqual(self._counts(), before, "no invoice, payment or grant")
                self.assertEqual(
                    self._snapshot(sub, watched), kept, "left for the next run"
                )
                self.assertEqual(self.prepaid_credit(partner), credit_before)
                savepoint.rollback()

    def test_a_subscription_that_fails_does_not_spend_its_neighbours_credit(self):
        """Two subscriptions of one subscriber, credit for one of them.

        The first fails only when its invoice is posted (a posting rule the
        engine cannot check beforehand), so the batch is retried one by one.
        The second must then be granted from the credit the first did not
        use, not skipped for lack of credit (with an "insufficient credit"
        e-mail) as if the failed one had been paid.
        """
        broken = self._create_package(
            "Broken plan", price=6.0, recurrence="weekly", data_gb=1.0
        )
        Move = type(self.env["account.move"])
        original_post = Move.action_post

        def refuse_broken_plan(moves):
            if broken in moves.invoice_line_ids.product_id:
                raise UserError("Posting refused: the Broken plan is deprecated")  # pylint: disable=translation-required
            return original_post(moves)

        good = self._create_package(
            "Good plan", price=6.0, recurrence="weekly", data_gb=1.0
        )
        partner = self._create_partner("Shared credit", credit=10.0)
        failing = self._subscribe(partner, broken, start=date(2026, 1, 5))
        healthy = self._subscribe(partner, good, start=date(2026, 1, 5))
        self.assertLess(failing.id, healthy.id, "the failing one is planned first")
        with (
            mute_logger(ENGINE_LOGGER),
            patch.object(Move, "action_post", refuse_broken_plan),
        ):
            self.run_cron(date(2026, 1, 5))
        self.assertRegex(failing.last_error or "", "is deprecated")
        self.assertFalse(failing.grant_ids)
        self.assertEqual(
            healthy.grant_ids.mapped(lambda g: (g.state, g.reason or "")),
            [("granted", "")],
            "the credit of 10 covers the healthy subscription's 6",
        )
        self.assertEqual(healthy.state, "active")
        self.assertAlmostEqual(self.prepaid_credit(partner), 4.0)

    def test_a_fixed_subscriber_is_granted_on_the_next_run(self):
        """The skip is not sticky: once the accountant fixes it, it bills."""
        partner = self._create_partner("Fixed later", credit=50.0)
        sub = self._subscribe(partner, self.weekly_5gb, start=date(2026, 1, 5))
        receivable = partner.property_account_receivable_id
        partner.property_account_receivable_id = False
        with mute_logger(ENGINE_LOGGER):
            self.run_cron(date(2026, 1, 5))
        self.assertTrue(sub.last_error)
        partner.property_account_receivable_id = receivable
        self.run_cron(date(2026, 1, 5))
        self.assertFalse(sub.last_error)
        self.assertEqual(sub.grant_ids.state, "granted")
        self.assertAlmostEqual(self.prepaid_credit(partner), 45.0)

    def test_reopening_onto_a_running_subscribers_username_is_refused(self):
        """Without a RADIUS server no unique index guards the username: the
        check does, in one query for every subscription the write touches."""
        self.assertFalse(self.env["isp.radius.server"].search([]))
        partner = self._create_partner("Same Name")
        closed = self._subscribe(partner, self.weekly_5gb, network_username="same-name")
        closed.write({"state": "closed"})
        running = self._subscribe(
            partner, self.weekly_5gb, network_username="same-name"
        )
        others = self._subscribe(partner, self.weekly_5gb, network_username="own-name")
        for reopened in (closed, closed | others):
            with (
                self.subTest(len(reopened)),
                self.assertRaisesRegex(ValidationError, "same-name is already used"),
                self.env.cr.savepoint(),
            ):
                reopened.write({"state": "active"})
        self.assertEqual(closed.state, "closed")
        self.assertEqual(running.state, "active")
        (others | running).write({"state": "active"})
