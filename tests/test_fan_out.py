# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The fan-out: grant runs spread over workers by queue_job, exactly once.

The scheduled action enqueues one job per batch; a real Odoo server, started
from the test's configuration with queue_job's job runner, runs the jobs over
HTTP, as in production (``odoo_server``). Nothing here calls a job inline.
Committed data and real cursors, as in ``test_concurrency``.
"""

import os
import time

import psycopg2

from odoo import SUPERUSER_ID
from odoo.tests import tagged
from odoo.tools import SQL, mute_logger

from odoo.addons.isp_data_recurring.models.isp_fan_out import FAN_OUT_PARAM
from odoo.addons.queue_job import jobrunner

from isp_devtools.odoo_server import OdooServer

from .real_cursors import DAY, ENGINE_LOGGER, RealCursorCase, cron, run_together

JOBS_TIMEOUT = 300


class FanOutWorld:
    """The fan-out switched on, and the jobs of the ISP runs, for one test."""

    def __init__(self, case):
        self.case = case
        self.registry = case.registry
        self.old_param = None

    def switch_on(self):
        with self.registry.cursor() as cr:
            params = self.case.world.env(cr)["ir.config_parameter"]
            self.old_param = params.get_param(FAN_OUT_PARAM)
            params.set_param(FAN_OUT_PARAM, "1")
        self.case.addCleanup(self.switch_back)

    def switch_back(self):
        with self.registry.cursor() as cr:
            self.case.world.env(cr)["ir.config_parameter"].set_param(
                FAN_OUT_PARAM, self.old_param or False
            )
            cr.execute("DELETE FROM queue_job WHERE identity_key LIKE %s", ["isp-%"])

    def jobs(self, kind="grant"):
        """{uuid: (state, identity_key, worker_pid, exc_info)} of this kind."""
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT uuid, state, identity_key, worker_pid, exc_info "
                "FROM queue_job WHERE identity_key LIKE %s",
                [f"isp-{kind}:%"],
            )
            return {row[0]: row[1:] for row in cr.fetchall()}

    def wait_done(self, server, kind="grant", timeout=JOBS_TIMEOUT):
        """Wait until every job of this kind is done or failed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            jobs = self.jobs(kind)
            if jobs and all(job[0] in ("done", "failed") for job in jobs.values()):
                return jobs
            time.sleep(0.5)
        states = sorted(job[0] for job in self.jobs(kind).values())
        raise AssertionError(
            f"jobs not done in {timeout}s: {states}\n--- Odoo log ---\n{server.tail()}"
        )


@tagged("post_install", "-at_install", "isp_concurrency")
class TestFanOut(RealCursorCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The test process's own HTTP server may have started a job runner
        # (make test starts none): it would take the jobs, and the database's
        # runner lock, from the servers these tests start.
        if jobrunner.runner_thread:
            jobrunner.runner_thread.stop()
            jobrunner.runner_thread.join(30)
            jobrunner.runner_thread = None

    def setUp(self):
        super().setUp()
        self.fan_out = FanOutWorld(self)
        self.fan_out.switch_on()
        self.db = self.env.cr.dbname

    def _server(self, **kwargs):
        server = OdooServer(self.db, **kwargs)
        self.addCleanup(server.kill)
        return server

    def assertExactlyOnce(self, subs, price=5.0):
        state = self.world.state()
        self.assertEqual(state["duplicates"], [])
        self.assertEqual(sorted(g["sub"] for g in state["granted"]), sorted(subs))
        self.assertEqual({g["start"] for g in state["granted"]}, {DAY})
        self.assertConsistent(state, price)
        return state

    def test_two_runs_at_once_grant_each_of_200_subscriptions_once(self):
        world = self.world
        world.set_batch_size(20)
        product = world.create_package(price=5.0)
        subs = world.subscribe(world.create_partners([12.0] * 200), product)

        # Two runs at the same moment: each enqueues its batches, neither
        # grants anything itself.
        results = run_together(
            self.registry,
            [("run-a", SUPERUSER_ID, cron(DAY)), ("run-b", SUPERUSER_ID, cron(DAY))],
        )
        self.assertEqual({r[0] for r in results.values()}, {"ok"}, results)
        self.assertEqual(self.world.state()["granted"], [], "a run granted inline")
        enqueued = self.fan_out.jobs()
        # One job per batch of 20, each keyed by its batch; up to twice that,
        # as neither run can see the other's jobs before it commits.
        self.assertTrue(10 <= len(enqueued) <= 20, enqueued)
        self.assertEqual(len({job[1] for job in enqueued.values()}), 10)
        self.assertEqual({job[0] for job in enqueued.values()}, {"pending"})

        # A third run while they wait enqueues nothing more.
        run_together(self.registry, [("run-c", SUPERUSER_ID, cron(DAY))])
        self.assertEqual(set(self.fan_out.jobs()), set(enqueued))

        with self._server(channels="root:2") as server:
            jobs = self.fan_out.wait_done(server)
        self.assertEqual({job[0] for job in jobs.values()}, {"done"}, server.tail())
        # Run by the server's workers, not by this process.
        pids = {job[2] for job in jobs.values()}
        self.assertNotIn(os.getpid(), pids)
        self.assertTrue(all(pids), pids)
        state = self.assertExactlyOnce(subs)
        self.assertEqual(len(state["invoices"]), 200)
        for credit in state["credit"].values():
            self.assertAlmostEqual(credit, 7.0)

    def test_a_run_after_jobs_died_halfway_grants_each_subscription_once(self):
        world = self.world
        world.set_batch_size(100)
        product = world.create_package(price=5.0)
        subs = world.subscribe(world.create_partners([12.0] * 200), product)
        run_together(self.registry, [("run-1", SUPERUSER_ID, cron(DAY))])
        self.assertEqual(len(self.fan_out.jobs()), 2)

        # Both jobs start and invoice their batch; the first to reach the
        # grants' insert waits for this table lock, the other for the first
        # (the invoices' numbers). Then the server dies, as in a crash.
        blocker = psycopg2.connect(dbname=self.db, **self._pg_args())
        self.addCleanup(blocker.close)
        blocker.cursor().execute("LOCK TABLE isp_data_grant IN SHARE MODE")
        server = self._server(channels="root:2").start()
        self._wait_for(
            lambda: (
                self._waiting_for_the_grants()
                and {job[0] for job in self.fan_out.jobs().values()} == {"started"}
            ),
            server,
        )
        server.kill()
        blocker.rollback()
        # PostgreSQL rolls the dead jobs' transactions back and ends them.
        self._wait_for(lambda: not self._backends_of(server), server)
        died = self.fan_out.jobs()
        self.assertEqual({job[0] for job in died.values()}, {"started"})
        self.assertEqual(self.world.state()["granted"], [])
        self.assertEqual(self.world.state()["invoices"], {}, "half a batch kept")

        # The next run takes the subscriptions again: they are still due.
        run_together(self.registry, [("run-2", SUPERUSER_ID, cron(DAY))])
        jobs = self.fan_out.jobs()
        self.assertEqual(len(jobs), 4)
        # The server comes back: queue_job requeues the dead jobs too; the
        # four jobs grant each subscription once.
        with self._server(channels="root:2") as server:
            jobs = self.fan_out.wait_done(server, timeout=JOBS_TIMEOUT)
        self.assertEqual({job[0] for job in jobs.values()}, {"done"}, server.tail())
        self.assertExactlyOnce(subs)

    def test_a_job_with_one_bad_subscriber_grants_the_others(self):
        world = self.world
        world.set_batch_size(10)
        product = world.create_package(price=5.0)
        partners = world.create_partners([12.0] * 10)
        subs = world.subscribe(partners, product)
        with self.registry.cursor() as cr:
            env = world.env(cr)
            # A receivable account of the wrong type: posting its invoice fails.
            env["res.partner"].browse(partners[3]).property_account_receivable_id = env[
                "account.account"
            ].search(
                [
                    ("account_type", "=", "income"),
                    ("company_ids", "in", world.company(env).id),
                ],
                limit=1,
            )
        with mute_logger(ENGINE_LOGGER):
            run_together(self.registry, [("run", SUPERUSER_ID, cron(DAY))])
        self.assertEqual(len(self.fan_out.jobs()), 1)
        with self._server(channels="root:1") as server:
            jobs = self.fan_out.wait_done(server)
        ((state, _key, _pid, _exc),) = jobs.values()
        self.assertEqual(state, "done", server.tail())
        result = self.world.state()
        self.assertEqual(
            sorted(g["sub"] for g in result["granted"]),
            sorted(subs[:3] + subs[4:]),
        )
        bad = result["subs"][subs[3]]
        self.assertIn("receivable", bad["last_error"])
        self.assertEqual(bad["next_date"], DAY, "left for the next run")

    def test_one_users_events_are_delivered_by_one_transaction_at_a_time(self):
        """Of alice's two pending events, another delivery holds the older:
        this one delivers bob and leaves both of alice's to it."""
        with self.registry.cursor() as cr:
            env = self.world.env(cr)
            server = env["isp.radius.server"].create(
                {
                    "name": f"Nowhere {self.world.tag}",
                    "dsn": "host=127.0.0.1 port=1 dbname=isp_nowhere",
                    "company_id": self.world.company(env).id,
                }
            )
            events = env["isp.network.event"].create(
                [
                    {"server_id": server.id, "username": user, "kind": "sync"}
                    for user in ("alice", "bob", "alice")
                ]
            )
            older, bob, newer = events.ids
        self.addCleanup(self._purge_server, server.id)
        where = SQL("server_id = %s", server.id)

        with self.registry.cursor() as holder:
            holder.execute(
                "SELECT id FROM isp_network_event WHERE id = %s FOR UPDATE", [older]
            )
            with self.registry.cursor() as cr:
                taken = self.world.env(cr)["isp.network.event"]._isp_take(where)
                self.assertEqual(taken.ids, [bob])
                cr.rollback()
            holder.rollback()
        with self.registry.cursor() as cr:
            taken = self.world.env(cr)["isp.network.event"]._isp_take(where, limit=1)
            # One event asked for: all of its user's pending events come along.
            self.assertEqual(taken.ids, [older, newer])
            cr.rollback()

    # -- helpers -------------------------------------------------------------
    def _purge_server(self, server_id):
        with self.registry.cursor() as cr:
            cr.execute(
                "DELETE FROM isp_network_event WHERE server_id = %s", [server_id]
            )
            cr.execute("DELETE FROM isp_radius_server WHERE id = %s", [server_id])

    def _pg_args(self):
        from odoo.tools import config

        return {
            key: config[f"db_{key}"]
            for key in ("host", "port", "user", "password")
            if config.get(f"db_{key}")
        }

    def _waiting_for_the_grants(self):
        """Whether a backend waits for a lock on isp_data_grant."""
        with self.registry.cursor() as cr:
            cr.execute(
                """
                SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                 WHERE c.relname = 'isp_data_grant' AND NOT l.granted
                """
            )
            return bool(cr.fetchall())

    def _backends_of(self, server):
        """The PostgreSQL backends of a server's process (Odoo names them)."""
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                [f"odoo-{server.proc.pid}"],
            )
            return cr.fetchall()

    def _wait_for(self, condition, server, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.2)
        raise AssertionError(f"condition not met in {timeout}s\n{server.tail()}")
