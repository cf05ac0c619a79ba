#!/usr/bin/env python3
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Throughput of the Data Recurring engine against Odoo alone.

    python3 scripts/bench.py [--db NAME] [--n 1000] [--config FILE] [--keep]

Creates a fresh database (it refuses an existing one) with the addon installed
without demo data, then times, for the same N:

1. Baseline, Odoo alone done the straightforward way: N prepaid subscribers
   (each with a posted inbound payment); one batched ``account.move.create`` of
   N one-line invoices, ``action_post``, then ``reconcile()`` of each invoice's
   receivable line with its subscriber's payment line, pair by pair, and a
   commit.
2. Credit-based grants: N due credit-based subscriptions whose credit covers
   them, processed by the scheduled action as Odoo's cron worker runs it
   (``ir.cron._run_job``: one batch per call, a commit between calls).
3. One-off grants, invoice policy ``draft``: N due one-off subscriptions.
4. Skips: N due credit-based subscriptions without credit.
5. and 6. The network (scripts/bench_network.py): delivering the accounts of
   --network-n subscribers to the RADIUS database, and importing ten radacct
   rows for each into usage.
7., 8. and 9. The fan-out (scripts/bench_queue.py): --queue-n credit-based
   subscriptions granted and delivered to RADIUS, inline (7), then by
   queue_job's jobs on a real Odoo server with 1 worker (8) and 2 workers (9).

The data (subscribers, payments, subscriptions) is created before each timer
starts, in batches, by the fixtures the tests use (tools/isp_devtools/
fixtures.py: payments posted, subscriptions started by ``action_activate``),
and committed. The scheduled actions run as in the tests (``run_cron``, a
commit between calls). The SQL queries of every cursor are counted
(``odoo.sql_db.sql_counter``). The database is dropped at the end unless
``--keep`` is given.

The Odoo configuration file is ``--config``, else $ODOO_RC, else
.build/odoo.conf (written by scripts/odoo_env.sh). Its addons path must hold
isp_data_recurring. This script is not part of the test suite.
"""

import argparse
import os
import platform
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The tooling (isp_devtools) also when run without make's PYTHONPATH.
if str(ROOT / "tools") not in sys.path:
    sys.path.append(str(ROOT / "tools"))
ADDON = "isp_data_recurring"
PRICE = 5.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--db",
        default=f"isp_bench_{datetime.now():%Y%m%d_%H%M%S}",
        help="name of the database to create (default: isp_bench_<timestamp>)",
    )
    parser.add_argument("--n", type=int, default=1000, help="rows per scenario")
    parser.add_argument(
        "--config",
        default=os.environ.get("ODOO_RC") or str(ROOT / ".build" / "odoo.conf"),
        help="Odoo configuration file (default: $ODOO_RC or .build/odoo.conf)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=0,
        help="isp_data_recurring.batch_size to set (default: the addon's)",
    )
    parser.add_argument(
        "--no-email",
        action="store_true",
        help="subscribers without e-mail address: no notification is queued",
    )
    parser.add_argument(
        "--network-n",
        type=int,
        default=10000,
        help="subscribers of the network scenarios (5) and (6), which import "
        "ten radacct rows each (default 10000)",
    )
    parser.add_argument(
        "--booked",
        type=int,
        default=2_000_000,
        help="radacct rows already booked before (6) runs again, to show its "
        "cost stays flat as radacct grows (default 2000000; 0: skip)",
    )
    parser.add_argument(
        "--queue-n",
        type=int,
        default=4000,
        help="subscriptions of the fan-out scenarios (7), (8) and (9) "
        "(default 4000: twenty jobs of the default batch of 200, so that the "
        "start, when every worker begins at once, weighs as little as in a "
        "real run of thousands)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--only",
        default="",
        help="scenarios to run, e.g. 2 or 289 (default: all nine)",
    )
    args = parser.parse_args()
    if args.n < 1:
        parser.error("--n must be 1 or more")
    if not Path(args.config).is_file():
        parser.error(f"no Odoo configuration file at {args.config}")
    return args


def machine():
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPU(s), {model}, {platform.platform()}"


def _spin(seconds, out):
    start, loops = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        sum(i * i for i in range(1000))
        loops += 1
    out.put(loops)


def cpu_parallelism(seconds=2.0):
    """How much two processes get done next to each other, over one alone:
    2.0 on two idle cores; less when the machine's cores are shared."""
    import multiprocessing

    def run(count):
        out = multiprocessing.Queue()
        procs = [
            multiprocessing.Process(target=_spin, args=(seconds, out))
            for _ in range(count)
        ]
        for proc in procs:
            proc.start()
        total = sum(out.get() for _ in procs)
        for proc in procs:
            proc.join()
        return total

    alone = run(1)
    return run(2) / alone


class Bench:
    def __init__(
        self, registry, n, email, network_n=10000, queue_n=2000, booked=2_000_000
    ):
        from isp_devtools import fixtures

        # The fixtures and the cron runner of the tests.
        self.fx = fixtures
        self.registry = registry
        self.n = n
        self.network_n = network_n
        self.booked = booked
        self.queue_n = queue_n
        self.email = email
        self.rows = []

    # -- plumbing ---------------------------------------------------------------
    def cursor(self):
        return self.registry.cursor()

    def settle(self):
        """VACUUM ANALYZE the database, outside any transaction: what
        PostgreSQL's autovacuum does in the background. Untimed, after a
        setup: without it, a server that runs with autovacuum off plans the
        timed queries on tables it has never analyzed (Odoo's invoice
        numbering then scans every invoice of the day, for each invoice)."""
        import psycopg2

        from odoo.sql_db import connection_info_for

        _db, info = connection_info_for(self.registry.db_name)
        cnx = psycopg2.connect(**info)
        try:
            cnx.autocommit = True
            with cnx.cursor() as cr:
                cr.execute("SHOW autovacuum")
                autovacuum = cr.fetchone()[0]
                cr.execute("VACUUM ANALYZE")
        finally:
            cnx.close()
        return autovacuum

    def env(self, cr):
        from odoo import SUPERUSER_ID, api

        return api.Environment(cr, SUPERUSER_ID, {})

    def timed(self, label, cr, work):
        """Run ``work()``, record wall time and the queries of every cursor."""
        import odoo.sql_db

        queries = odoo.sql_db.sql_counter
        start = time.perf_counter()
        if os.environ.get("ISP_BENCH_PROFILE") and label.startswith("(2)"):
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            rows = profiler.runcall(work)
            profiler.dump_stats(os.environ["ISP_BENCH_PROFILE"])
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats("cumulative").print_stats(60)
        else:
            rows = work()
        cr.commit()
        wall = time.perf_counter() - start
        queries = odoo.sql_db.sql_counter - queries
        self.rows.append((label, rows, wall, queries))
        print(f"  {label}: {rows} rows in {wall:.1f}s", flush=True)
        return wall

    def run_cron(self, env, xmlid):
        """A scheduled action to the end, a commit between its calls, as the
        cron worker runs it; how many records it did."""
        return self.fx.run_cron(env, xmlid, commit=True)

    # -- data setup (not timed) -------------------------------------------------
    def create_partners(self, env, prefix, count):
        names = [f"{prefix} {i:06d}" for i in range(count)]
        emails = ()
        if self.email:
            slug = prefix.lower().replace(" ", ".")
            emails = [f"{slug}.{i}@example.com" for i in range(count)]
        return self.fx.Fixtures(env).partners(names, emails)

    def create_package(self, env, name, mode, policy="posted"):
        """A monthly package of 10 GB at PRICE."""
        return self.fx.Fixtures(env).package(
            name, PRICE, "monthly", data_gb=10.0, mode=mode, policy=policy
        )

    # -- scenarios ----------------------------------------------------------------
    def baseline(self):
        from odoo import Command

        print("(1) baseline: setup", flush=True)
        with self.cursor() as cr:
            env = self.env(cr)
            day = self.fx.today(env)
            product = env["product.product"].create(
                {
                    "name": "Plain service",
                    "type": "service",
                    "list_price": PRICE,
                    "taxes_id": [Command.clear()],
                }
            )
            partners = self.create_partners(env, "Baseline", self.n)
            payments = self.fx.Fixtures(env).top_up(partners, 2 * PRICE, day)
            cr.commit()
            env.invalidate_all()

            def work():
                moves = env["account.move"].create(
                    [
                        {
                            "move_type": "out_invoice",
                            "partner_id": partner.id,
                            "invoice_date": day,
                            "invoice_line_ids": [
                                Command.create(
                                    {
                                        "product_id": product.id,
                                        "quantity": 1.0,
                                        "price_unit": PRICE,
                                        "tax_ids": [Command.clear()],
                                    }
                                )
                            ],
                        }
                        for partner in partners
                    ]
                )
                moves.action_post()
                for move, payment in zip(moves, payments, strict=True):
                    lines = (move.line_ids | payment.move_id.line_ids).filtered(
                        lambda line: (
                            line.account_type == "asset_receivable"
                            and not line.reconciled
                        )
                    )
                    lines.reconcile()
                paid = moves.filtered(
                    lambda move: move.payment_state in ("paid", "in_payment")
                )
                assert len(paid) == self.n, f"{len(paid)} of {self.n} paid"
                return len(moves)

            self.timed("(1) Odoo alone: create+post+reconcile", cr, work)

    def cron_scenario(self, label, prefix, mode, policy, credit):
        print(f"{label}: setup", flush=True)
        with self.cursor() as cr:
            env = self.env(cr)
            day = self.fx.today(env)
            product = self.create_package(env, f"{prefix} plan", mode, policy)
            partners = self.create_partners(env, prefix, self.n)
            fixtures = self.fx.Fixtures(env)
            if credit:
                fixtures.top_up(partners, credit, day)
            subs = fixtures.subscribe(partners, product, day)
            cr.commit()
            env.invalidate_all()

            def work():
                done = self.run_cron(env, self.fx.GRANT_CRON)
                assert done == self.n, f"processed {done} of {self.n}"
                return done

            self.timed(label, cr, work)
            env.invalidate_all()
            if self.email and credit:

                def send():
                    return self.run_cron(env, self.fx.NOTIFY_CRON)

                # The grant job only marks e-mails; this is their own job.
                self.timed(f"{label[:3]} e-mails, notification job", cr, send)
                env.invalidate_all()
            grants = env["isp.data.grant"].search([("subscription_id", "in", subs.ids)])
            states = sorted(set(grants.mapped("state")))
            errors = subs.filtered("last_error")
            print(
                f"  {len(grants)} grant rows {states}, "
                f"{len(grants.move_id)} invoices, {len(errors)} errors",
                flush=True,
            )
            assert len(grants) == self.n and not errors

    def run(self, only=None):
        scenarios = {
            "1": self.baseline,
            "2": lambda: self.cron_scenario(
                "(2) credit-based grants", "Credit", "credit", "posted", 2 * PRICE
            ),
            "3": lambda: self.cron_scenario(
                "(3) one-off grants, draft", "Oneoff", "one_off", "draft", 0
            ),
            "4": lambda: self.cron_scenario(
                "(4) skips (no credit)", "Broke", "credit", "posted", 0
            ),
        }
        for key, scenario in scenarios.items():
            if not only or key in only:
                scenario()
        if not only or set(only) & {"5", "6"}:
            from bench_network import NetworkScenarios

            NetworkScenarios(self, self.network_n, self.booked).run(only or "56")
        if not only or set(only) & {"7", "8", "9"}:
            from bench_queue import QueueScenarios

            QueueScenarios(self, self.queue_n, PRICE).run(only or "789")

    def table(self):
        header = ("scenario", "N", "wall s", "rows/s", "SQL/row")
        lines = [header]
        for label, rows, wall, queries in self.rows:
            lines.append(
                (
                    label,
                    str(rows),
                    f"{wall:.2f}",
                    f"{rows / wall:.1f}",
                    f"{queries / rows:.1f}",
                )
            )
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        out = []
        for index, line in enumerate(lines):
            out.append(
                "| "
                + " | ".join(
                    cell.ljust(width) if i == 0 else cell.rjust(width)
                    for i, (cell, width) in enumerate(zip(line, widths, strict=True))
                )
                + " |"
            )
            if index == 0:
                out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        by_label = {row[0][:3]: row for row in self.rows if "e-mails" not in row[0]}
        if "(1)" in by_label and "(2)" in by_label:
            baseline, credit_based = by_label["(1)"], by_label["(2)"]
            ratio = (credit_based[1] / credit_based[2]) / (baseline[1] / baseline[2])
            out.append("")
            out.append(f"throughput ratio (2)/(1): {ratio:.2f}")
        if "(2)" in by_label and "(5)" in by_label:
            grants, delivery = by_label["(2)"], by_label["(5)"]
            ratio = (delivery[1] / delivery[2]) / (grants[1] / grants[2])
            out.append(
                f"RADIUS delivery rows/s over granting rows/s (5)/(2): {ratio:.2f}"
            )
        if "(8)" in by_label and "(9)" in by_label:
            one, two = by_label["(8)"], by_label["(9)"]
            ratio = (two[1] / two[2]) / (one[1] / one[2])
            out.append(f"queue_job 2 workers over 1 worker (9)/(8): {ratio:.2f}")
        return "\n".join(out)


def main():
    args = parse_args()
    import odoo
    from odoo.modules.registry import Registry
    from odoo.service import db as db_service
    from odoo.tools import config

    config.parse_config(
        ["-c", args.config, "--without-demo=all", "--log-level=warn", "--no-http"]
    )
    # Warnings and errors of the jobs (a cron logs its failures) reach stderr.
    odoo.netsvc.init_logger()
    if args.db in db_service.list_dbs(True):
        sys.exit(f"database {args.db} exists: give the name of a new one (--db)")
    print(f"machine: {machine()}")
    print(f"Odoo {odoo.release.version}, database {args.db}, N={args.n}", flush=True)

    threading.current_thread().dbname = args.db
    created = False
    try:
        started = time.perf_counter()
        db_service._create_empty_database(args.db)
        created = True
        config["init"] = {ADDON: 1}
        registry = Registry.new(args.db, update_module=True)
        config["init"] = {}
        with registry.cursor() as cr:
            from odoo import SUPERUSER_ID, api

            from isp_devtools.fixtures import batch_size

            env = api.Environment(cr, SUPERUSER_ID, {})
            module = env["ir.module.module"].search([("name", "=", ADDON)])
            if module.state != "installed":
                sys.exit(f"{ADDON} is {module.state} in {args.db}")
            if not env.company.chart_template:
                sys.exit(f"the company of {args.db} has no chart of accounts")
            if args.batch_size:
                env["ir.config_parameter"].set_param(
                    "isp_data_recurring.batch_size", args.batch_size
                )
            batch = batch_size(env)
        print(
            f"installed in {time.perf_counter() - started:.0f}s; engine batch size "
            f"{batch}; subscriber e-mails {'off' if args.no_email else 'on'}",
            flush=True,
        )
        bench = Bench(
            registry,
            args.n,
            email=not args.no_email,
            network_n=args.network_n,
            queue_n=args.queue_n,
            booked=args.booked,
        )
        bench.run(args.only)
        print()
        print(f"machine: {machine()}")
        print(
            f"CPU parallelism: two busy processes do {cpu_parallelism():.2f}x the "
            "work of one (measured now; 2.00 on two idle cores)"
        )
        print(
            f"N={args.n}, batch size {batch}, "
            f"e-mail notifications {'off' if args.no_email else 'queued'}"
        )
        print(bench.table())
    finally:
        if created and not args.keep:
            if db_service.exp_drop(args.db):
                print(f"dropped database {args.db}")
        elif created:
            print(f"kept database {args.db}")


if __name__ == "__main__":
    main()
