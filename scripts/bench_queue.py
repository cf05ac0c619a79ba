# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The fan-out scenarios of scripts/bench.py: one run over 1 and 2 workers.

The same work each time, on fresh subscriptions: --queue-n due credit-based
subscriptions whose credit covers them, on a RADIUS server; each is granted
(invoice posted and paid from the credit, grant, outbox event) and delivered
to the RADIUS database (FreeRADIUS's schema).

(7) inline: the two scheduled actions run in this process, as the cron worker
    runs them (one batch per call), the fan-out off.
(8) queue_job, 1 worker: the fan-out on; a real Odoo server (``odoo-bin
    --workers=1``, queue_job's job runner on, channel capacity 1) runs the
    jobs. The scheduled actions run here and only enqueue: the grants, then,
    once their jobs are done, the deliveries.
(9) queue_job, 2 workers: the same with ``--workers=2`` and capacity 2.

The timer covers enqueueing and every job until the last one is done. The
SQL of (8) and (9) is this process's (the enqueueing) plus the queries of
each job's request, which Odoo's access log gives ("GET /queue_job/runjob
... 200 - <queries> <query time> <other time>"). The machine's CPU use over
the timed span (/proc/stat) is printed with each row: with 2 workers on 2
cores, Odoo and PostgreSQL share them.
"""

import os
import re
import time
from pathlib import Path

from bench_network import NetworkScenarios

from isp_devtools import fixtures
from isp_devtools.odoo_server import OdooServer

FAN_OUT = "isp_data_recurring.fan_out"
JOBS_TIMEOUT = 3600
RUNJOB = re.compile(r'"GET /queue_job/runjob\?[^"]*" \d+ - (\d+) ')


def cpu_times():
    """(busy, total) jiffies of the whole machine."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


class QueueScenarios:
    def __init__(self, bench, n, price):
        self.bench = bench
        self.n = n
        self.price = price
        self.network = NetworkScenarios(bench, n)
        self.server = None

    def run(self, only):
        if not self.network.available():
            print("(7)(8)(9) skipped: FreeRADIUS's schema is not installed", flush=True)
            return
        self.network.pgdb.ensure_database(self.network.db)
        try:
            with self.bench.cursor() as cr:
                env = self.bench.env(cr)
                self.server = env["isp.radius.server"].create(
                    {
                        "name": "Bench RADIUS (fan-out)",
                        "dsn": self.network.pgdb.build_dsn(self.network.db),
                        # After (5)-(6)'s server: the site names this one.
                        "sequence": 1000,
                    }
                )
                self.site = env["isp.site"].create(
                    {
                        "name": "Bench fan-out POP",
                        "code": "BENCH-FAN",
                        "radius_server_id": self.server.id,
                    }
                )
                cr.commit()
                if "7" in only:
                    self.inline(env)
                for key, workers in (("8", 1), ("9", 2)):
                    if key in only:
                        self.fanned_out(env, key, workers)
        finally:
            self.network.pgdb.drop_database(self.network.db)

    # -- setup (not timed) --------------------------------------------------------
    def setup(self, env, prefix):
        """N due credit-based subscriptions, with credit, on the server."""
        print(f"  setup: {self.n} subscriptions", flush=True)
        day = fixtures.today(env)
        product = self.bench.create_package(env, f"{prefix} plan", "credit")
        product.isp_site_id = self.site
        partners = self.bench.create_partners(env, prefix, self.n)
        setup = fixtures.Fixtures(env)
        setup.top_up(partners, 2 * self.price, day)
        subs = setup.subscribe(partners, product, day)
        # The waiting subscribers of the earlier scenarios ((4)) would be
        # retried by every run: out of the way, so that each row times its
        # own N and nothing else.
        env.cr.execute(
            "UPDATE isp_subscription SET state = 'closed' "
            "WHERE state = 'waiting_credit' AND id NOT IN %s",
            (tuple(subs.ids),),
        )
        assert set(subs.mapped("radius_server_id")) == {self.server}
        # Their activation's events, delivered as the job that runs every
        # minute would have long before the run.
        self.bench.run_cron(env, fixtures.DELIVER_CRON)
        env.cr.commit()
        env.invalidate_all()
        autovacuum = self.bench.settle()
        print(
            f"  VACUUM ANALYZE done (this server's autovacuum: {autovacuum})",
            flush=True,
        )
        return subs

    def check(self, env, subs, label):
        env.invalidate_all()
        grants = env["isp.data.grant"].search([("subscription_id", "in", subs.ids)])
        events = env["isp.network.event"].search([("subscription_id", "in", subs.ids)])
        pending = events.filtered(lambda e: e.state == "pending")
        errors = subs.filtered("last_error")
        print(
            f"  {len(grants)} grants {sorted(set(grants.mapped('state')))}, "
            f"{len(grants.move_id)} invoices, {len(events) - len(pending)} events "
            f"delivered, {len(pending)} pending, {len(errors)} errors",
            flush=True,
        )
        assert len(grants) == self.n and set(grants.mapped("state")) == {"granted"}
        assert not pending and not errors, label

    # -- (7) ------------------------------------------------------------------------
    def inline(self, env):
        label = "(7) grant+delivery, inline (cron)"
        print(f"{label}: setup", flush=True)
        subs = self.setup(env, "Inline")
        self.timed(env, label, lambda: self.grant_and_deliver(env))
        self.check(env, subs, label)

    def grant_and_deliver(self, env, wait=None):
        """Both scheduled actions; ``wait(kind)`` after each, until the
        jobs they enqueued are done."""
        granted = self.bench.run_cron(env, fixtures.GRANT_CRON)
        if wait:
            wait("grant")
        delivered = self.bench.run_cron(env, fixtures.DELIVER_CRON)
        if wait:
            wait("deliver")
        assert granted == self.n, granted
        assert delivered >= self.n, delivered
        return granted

    def timed(self, env, label, work):
        busy = cpu_times()
        self.bench.timed(label, env.cr, work)
        self.print_cpu(busy)

    # -- (8), (9) ---------------------------------------------------------------------
    def fanned_out(self, env, key, workers):
        label = f"({key}) grant+delivery, queue_job {workers} worker(s)"
        print(f"{label}: setup", flush=True)
        subs = self.setup(env, f"Fan{workers}")
        env["ir.config_parameter"].set_param(FAN_OUT, "1")
        env.cr.commit()
        server = OdooServer(env.cr.dbname, workers=workers, channels=f"root:{workers}")
        try:
            server.start()
            self.wait_log(server, "queue job runner ready")
            print(f"  Odoo --workers={workers} ready (log: {server.log})", flush=True)
            start_jobs = self.job_ids(env)

            def wait(kind):
                self.wait_jobs(env, server, kind, start_jobs)

            self.timed(env, label, lambda: self.grant_and_deliver(env, wait))
            # The jobs' queries, from the server's access log.
            server.stop()
            queries = sum(int(m[1]) for m in RUNJOB.finditer(server.log.read_text()))
            label_, rows, wall, local = self.bench.rows[-1]
            self.bench.rows[-1] = (label_, rows, wall, local + queries)
            jobs = env["queue.job"].search(
                [("id", "not in", start_jobs), ("identity_key", "=like", "isp-%")]
            )
            print(
                f"  {len(jobs)} jobs {sorted(set(jobs.mapped('state')))}, "
                f"{len(set(jobs.mapped('worker_pid')))} worker process(es), "
                f"{queries} queries in the workers",
                flush=True,
            )
            self.check(env, subs, label)
        finally:
            server.kill()
            env["ir.config_parameter"].set_param(FAN_OUT, "0")
            env.cr.commit()

    def job_ids(self, env):
        return env["queue.job"].search([]).ids

    def wait_jobs(self, env, server, kind, before):
        deadline = time.monotonic() + JOBS_TIMEOUT
        while time.monotonic() < deadline:
            env.cr.commit()  # a fresh snapshot
            env.invalidate_all()
            states = set(
                env["queue.job"]
                .search(
                    [
                        ("id", "not in", before),
                        ("identity_key", "=like", f"isp-{kind}:%"),
                    ]
                )
                .mapped("state")
            )
            if states and states <= {"done", "failed"}:
                assert states == {"done"}, f"{kind} jobs: {states}\n{server.tail()}"
                return
            time.sleep(0.2)
        raise RuntimeError(f"{kind} jobs not done in {JOBS_TIMEOUT}s\n{server.tail()}")

    def wait_log(self, server, text, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.log.exists() and text in server.log.read_text():
                return
            time.sleep(0.2)
        raise RuntimeError(f"no {text!r} in {timeout}s\n{server.tail()}")

    def print_cpu(self, before):
        busy, total = cpu_times()
        share = (busy - before[0]) / max(total - before[1], 1)
        print(
            f"  CPU busy over the run: {share:.0%} of {os.cpu_count()} core(s)",
            flush=True,
        )
