# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Voucher (PIN) cards: batches, printing, redemption once, the guessers'
lock-out, and the accounting of it all."""

import csv
import io
import shutil
from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo import SUPERUSER_ID, Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from ..core import voucher
from .common import IspCommon
from .real_cursors import RealCursorCase, run_together
from .test_portal import PortalCommon


class VoucherFixtures:
    @classmethod
    def _voucher_account(cls, company):
        return cls.env["account.account"].create(
            {
                "name": "Prepaid cards sold",
                "code": "VOUCH1",
                "account_type": "liability_current",
                "company_ids": [Command.set(company.ids)],
            }
        )

    @classmethod
    def _batch(cls, count=3, value=10.0, **vals):
        batch = cls.env["isp.voucher.batch"].create(
            {
                "company_id": cls.company.id,
                "value": value,
                "count": count,
                "account_id": cls.voucher_account.id,
                **vals,
            }
        )
        batch.action_put_on_sale()
        return batch


@tagged("post_install", "-at_install")
class TestVouchers(VoucherFixtures, IspCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.isp_timezone = "UTC"
        cls.today = cls.env["isp.subscription"]._isp_today(cls.company)
        cls.voucher_account = cls._voucher_account(cls.company)
        cls.partner = cls._create_partner("Card Buyer", credit=0.0)
        cls.sub = cls._subscribe(cls.partner, cls.weekly_5gb, start=cls.today)
        cls.reseller = cls.env["res.partner"].create({"name": "Corner Shop"})

    def redeem(self, pin, sub=None, channel="accountant", address=None):
        return (sub or self.sub)._isp_redeem_voucher(pin, channel, address)

    def test_a_batch_has_distinct_random_pins_and_the_reseller_is_invoiced(self):
        batch = self._batch(
            count=50, value=10.0, reseller_id=self.reseller.id, reseller_discount=10
        )
        self.assertTrue(batch.name.startswith("CARDS/"))
        pins = batch.voucher_ids.mapped("pin")
        self.assertEqual(len(set(pins)), 50)
        self.assertTrue(all(len(pin) == 16 and pin.isdigit() for pin in pins))
        invoice = batch.invoice_id
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(invoice.partner_id, self.reseller)
        self.assertAlmostEqual(invoice.amount_total, 450.0, msg="50 x 10 less 10 %")
        self.assertEqual(
            invoice.invoice_line_ids.account_id,
            self.voucher_account,
            "owed to the card holders, not revenue yet",
        )

    def test_a_card_credits_the_subscriber_through_the_liability_and_resumes(self):
        self.run_cron(self.today)
        self.assertEqual(self.sub.state, "waiting_credit")
        batch = self._batch(value=10.0)
        card = batch.voucher_ids[0]
        found, message = self.redeem(voucher.display(card.pin))
        self.assertEqual(found, card)
        self.assertIn("redeemed", message)
        self.assertEqual(card.state, "redeemed")
        self.assertEqual(card.subscription_id, self.sub)
        entry = card.move_id
        self.assertEqual(entry.state, "posted")
        liability = entry.line_ids.filtered(
            lambda line: line.account_id == self.voucher_account
        )
        self.assertAlmostEqual(liability.debit, 10.0)
        receivable = entry.line_ids - liability
        self.assertEqual(receivable.partner_id, self.partner)
        self.assertEqual(receivable.account_id.account_type, "asset_receivable")
        self.assertEqual(self.sub.state, "active", "resumed at once")
        self.assertAlmostEqual(self.prepaid_credit(self.partner), 5.0, msg="10 - 5")
        again, message = self.redeem(card.pin)
        self.assertFalse(again)
        self.assertEqual(message, "This card was already used.")
        self.assertAlmostEqual(self.prepaid_credit(self.partner), 5.0)

    def test_a_bundle_card_adds_its_pack_to_the_period(self):
        pack = self._create_package(
            "Extra 2 GB", price=3.0, recurrence=False, data_gb=2.0
        )
        pack.product_tmpl_id.isp_is_addon = True
        self._top_up(self.partner, 5.0, self.today)
        self.run_cron(self.today)
        self.assertEqual(self.sub.state, "active")
        batch = self._batch(value=3.0, kind="bundle", product_id=pack.id)
        card, message = self.redeem(batch.voucher_ids[0].pin)
        self.assertIn("Extra 2 GB", message)
        packs = self.sub.grant_ids.filtered(lambda g: g.kind != "period")
        self.assertAlmostEqual(sum(packs.mapped("data_gb")), 2.0)
        self.assertAlmostEqual(self.prepaid_credit(self.partner), 0.0, msg="paid by it")

    def test_expired_or_cancelled_cards_are_refused_with_why_and_nothing_changes(self):
        expired = self._batch(count=1, expiry_date=self.today)
        card = expired.voucher_ids
        with freeze_time(self.today + timedelta(days=1)):
            found, message = self.redeem(card.pin)
        self.assertFalse(found)
        self.assertIn("expired on", message)
        self.assertEqual(card.state, "available")
        cancelled = self._batch(count=2)
        cancelled.action_cancel()
        found, message = self.redeem(cancelled.voucher_ids[0].pin)
        self.assertFalse(found)
        self.assertIn("cancelled", message)
        self.assertAlmostEqual(self.prepaid_credit(self.partner), 0.0)
        self.assertFalse(self.sub.voucher_ids)
        with self.assertRaises(UserError):
            self._batch(count=1, expiry_date=self.today - timedelta(days=1))

    def test_twenty_wrong_pins_lock_out_even_the_right_one(self):
        card = self._batch(count=1).voucher_ids
        start = datetime(2026, 12, 5, 10, 0, 0)
        at = start
        wrong = "0000-0000-0000-0000" if card.pin != "0" * 16 else "1111-1111-1111-1111"
        for attempt in range(20):
            with freeze_time(at):
                found, message = self.redeem(
                    wrong, channel="portal", address="10.1.1.1"
                )
            self.assertFalse(found)
            self.assertIn("No card has this PIN", message, f"attempt {attempt + 1}")
            at += timedelta(seconds=voucher.MAX_WAIT + 1)
        with freeze_time(start + timedelta(minutes=30)):
            found, message = self.redeem(card.pin, channel="portal", address="10.1.1.1")
            self.assertFalse(found)
            self.assertIn("locked out", message)
            # Another address, same user: still locked (per user and per address).
            found, message = self.redeem(card.pin, channel="portal", address="10.2.2.2")
            self.assertIn("locked out", message)
        self.assertEqual(card.state, "available")
        with freeze_time(at + timedelta(hours=1, minutes=1)):
            found, _message = self.redeem(
                card.pin, channel="portal", address="10.1.1.1"
            )
        self.assertEqual(found, card, "the hour passed")

    def test_wrong_pins_slow_the_guesser_down_after_five(self):
        self._batch(count=1)
        with freeze_time("2026-12-05 10:00:00"):
            for _attempt in range(5):
                self.redeem("9999", channel="portal", address="10.3.3.3")
            found, message = self.redeem("9999", channel="portal", address="10.3.3.3")
        self.assertIn("wait 2 seconds", message)

    def test_pins_are_never_shown_to_who_may_not_see_them(self):
        batch = self._batch(count=2)
        user = new_test_user(
            self.env,
            login="isp_clerk",
            groups="base.group_user,isp_data_recurring.group_isp_user",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        cards = batch.voucher_ids.with_user(user)
        self.assertEqual(len(cards.search([("batch_id", "=", batch.id)])), 2)
        with self.assertRaises(AccessError):
            cards.read(["pin"])
        with self.assertRaises(UserError):
            batch.with_user(user).action_export_csv()
        portal = new_test_user(
            self.env, login="isp_card_portal", groups="base.group_portal"
        )
        with self.assertRaises(AccessError):
            self.env["isp.voucher"].with_user(portal).search([])

    def test_the_batch_prints_as_cards_and_exports_as_csv(self):
        batch = self._batch(count=3, value=10.0)
        batch.voucher_ids[0].state = "redeemed"
        html, _kind = self.env["ir.actions.report"]._render_qweb_html(
            "isp_data_recurring.report_isp_voucher_cards", batch.ids
        )
        html = html.decode()
        available = batch.voucher_ids.filtered(lambda v: v.state == "available")
        for card in available:
            self.assertIn(voucher.display(card.pin), html)
        self.assertNotIn(
            voucher.display(batch.voucher_ids[0].pin), html, "used: not printed"
        )
        action = batch.action_export_csv()
        attachment = self.env["ir.attachment"].browse(
            int(action["url"].split("/")[3].split("?")[0])
        )
        rows = list(csv.reader(io.StringIO(attachment.raw.decode())))
        self.assertEqual(rows[0][:3], ["batch", "pin", "value"])
        self.assertEqual(len(rows), 4)
        self.assertEqual(
            {row[1] for row in rows[1:]},
            {voucher.display(p) for p in batch.voucher_ids.mapped("pin")},
        )

    def test_the_cards_print_as_a_pdf(self):
        if not shutil.which("wkhtmltopdf"):
            self.skipTest("wkhtmltopdf is not installed (apt-get install wkhtmltopdf)")
        batch = self._batch(count=4)
        pdf, kind = (
            self.env["ir.actions.report"]
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf("isp_data_recurring.report_isp_voucher_cards", batch.ids)
        )
        self.assertEqual(kind, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))

    def test_the_accountant_redeems_from_the_subscription(self):
        card = self._batch(count=1).voucher_ids
        wizard = self.env["isp.voucher.redeem"].create(
            {"subscription_id": self.sub.id, "pin": voucher.display(card.pin)}
        )
        result = wizard.action_redeem()
        self.assertEqual(result["params"]["type"], "success")
        self.assertEqual(card.channel, "accountant")
        wrong = self.env["isp.voucher.redeem"].create(
            {"subscription_id": self.sub.id, "pin": "12"}
        )
        with self.assertRaises(UserError):
            wrong.action_redeem()


@tagged("post_install", "-at_install", "isp_concurrency")
class TestVoucherRace(RealCursorCase):
    def test_two_redemptions_of_one_card_at_once_give_one(self):
        world = self.world
        product = world.create_package(price=5.0)
        partners = world.create_partners([0.0, 0.0])
        subs = world.subscribe(partners, product)
        with self.registry.cursor() as cr:
            env = world.env(cr)
            company = world.company(env)
            account = env["account.account"].create(
                {
                    "name": f"Cards {world.tag}",
                    "code": f"V{world.tag[:5]}",
                    "account_type": "liability_current",
                    "company_ids": [Command.set(company.ids)],
                }
            )
            batch = env["isp.voucher.batch"].create(
                {
                    "value": 10.0,
                    "count": 1,
                    "account_id": account.id,
                    "company_id": company.id,
                }
            )
            batch.action_put_on_sale()
            pin, batch_id, account_id = batch.voucher_ids.pin, batch.id, account.id
        self.addCleanup(self._purge_cards, batch_id, account_id)

        def redeem(sub_id):
            return lambda env: (
                env["isp.subscription"]
                .browse(sub_id)
                ._isp_redeem_voucher(pin, "accountant")[1]
            )

        results = run_together(
            self.registry,
            [
                ("a", SUPERUSER_ID, redeem(subs[0])),
                ("b", SUPERUSER_ID, redeem(subs[1])),
            ],
        )
        outcomes = sorted(str(result) for _status, result in results.values())
        self.assertEqual(
            [status for status, _r in results.values()], ["ok", "ok"], results
        )
        self.assertEqual(sum("redeemed" in o for o in outcomes), 1, outcomes)
        self.assertEqual(sum("already used" in o for o in outcomes), 1, outcomes)
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT count(*) FROM account_move_line WHERE account_id = %s",
                [account_id],
            )
            self.assertEqual(cr.fetchone()[0], 1, "one entry on the liability")

    def _purge_cards(self, batch_id, account_id):
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT move_id FROM isp_voucher WHERE batch_id = %s", [batch_id]
            )
            move_ids = [row[0] for row in cr.fetchall() if row[0]]
            env = self.world.env(cr)
            moves = env["account.move"].browse(move_ids)
            moves.line_ids.remove_move_reconcile()
            moves.button_draft()
            moves.with_context(force_delete=True).unlink()
            cr.execute("DELETE FROM isp_voucher_batch WHERE id = %s", [batch_id])
            cr.execute("DELETE FROM account_account WHERE id = %s", [account_id])


@tagged("post_install", "-at_install")
class TestPortalVoucher(VoucherFixtures, PortalCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.voucher_account = cls._voucher_account(cls.company)

    def _csrf(self, page_url):
        page = self.url_open(page_url)
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        return token

    def test_a_subscriber_redeems_a_card_over_http_and_wrong_pins_are_said(self):
        self.run_cron(self.today)
        self.assertEqual(self.mine.state, "waiting_credit")
        card = self._batch(count=1, value=5.0).voucher_ids
        self.login()
        url = f"/my/isp/subscriptions/{self.mine.id}"
        token = self._csrf(url)
        wrong = self.url_open(
            f"{url}/voucher", data={"pin": "1234", "csrf_token": token}
        )
        self.assertIn("No card has this PIN", wrong.text)
        page = self.url_open(
            f"{url}/voucher",
            data={"pin": voucher.display(card.pin), "csrf_token": token},
        )
        self.assertEqual(page.status_code, 200)
        self.assertIn("alert-success o_isp_voucher_feedback", page.text)
        self.assertIn("redeemed", page.text)
        self.env.invalidate_all()
        self.assertEqual(card.state, "redeemed")
        self.assertEqual(card.channel, "portal")
        self.assertEqual(card.redeemed_uid, self.portal_user)
        self.assertEqual(self.mine.state, "active")
        attempts = self.env["isp.voucher.attempt"].search([])
        self.assertEqual(
            set(attempts.mapped("key")), {f"user:{self.portal_user.id}", "ip:127.0.0.1"}
        )

    def test_someone_elses_subscription_gets_nothing(self):
        card = self._batch(count=1).voucher_ids
        self.login()
        token = self._csrf(f"/my/isp/subscriptions/{self.mine.id}")
        response = self.url_open(
            f"/my/isp/subscriptions/{self.theirs.id}/voucher",
            data={"pin": card.pin, "csrf_token": token},
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 303)
        self.assertTrue(response.headers["Location"].endswith("/my"))
        self.assertEqual(card.state, "available")

    def test_the_portal_tour_redeems_a_card(self):
        self.run_cron(self.today)
        card = self._batch(count=1, value=5.0).voucher_ids
        self.start_tour(
            f"/my/isp/subscriptions/{self.mine.id}#{voucher.display(card.pin)}",
            "isp_portal_voucher_tour",
            login="isp_portal",
        )
        self.env.invalidate_all()
        self.assertEqual(card.state, "redeemed")
        self.assertEqual(self.mine.state, "active")
