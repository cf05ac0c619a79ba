# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The network scenarios of scripts/bench.py: RADIUS delivery and usage import.

(5) N subscribers' accounts delivered to the RADIUS database: N sync events
    of the outbox (written beforehand, as grants write them), delivered by
    the scheduled action "ISP: deliver to the network".
(6) 10 x N radacct rows (ten sessions a subscriber, each at its last report)
    turned into usage by "ISP: import usage" (which also writes the N sync
    events that carry the volume left); then again, 10 x N new rows, once
    --booked rows (2,000,000) of earlier months sit in radacct, already
    booked: the import's cost stays flat as radacct grows (the indexes of
    radius/schema/isp.sql).

They need FreeRADIUS's PostgreSQL schema (Debian's freeradius package), not a
running FreeRADIUS: a fresh database is created for them and dropped after.
"""

import os
import random
from datetime import timedelta

from isp_devtools import fixtures, pgdb
from isp_devtools.common import DEBIAN_RADDB, SCHEMA_SQL

SESSIONS_PER_USER = 10
GB = 10**9


class NetworkScenarios:
    def __init__(self, bench, users, booked=0):
        self.bench = bench
        self.users = users
        self.booked = booked
        self.pgdb = pgdb
        self.db = f"isp_bench_radius_{os.getpid()}"

    def available(self):
        return os.path.isfile(os.path.join(DEBIAN_RADDB, SCHEMA_SQL))

    def run(self, only):
        if not self.available():
            print("(5)(6) skipped: FreeRADIUS's schema is not installed", flush=True)
            return
        self.pgdb.ensure_database(self.db)
        try:
            with self.bench.cursor() as cr:
                env = self.bench.env(cr)
                subs = self.setup(env)
                cr.commit()
                if "5" in only:
                    self.deliver(env, subs)
                if "6" in only:
                    self.import_usage(env, subs)
        finally:
            self.pgdb.drop_database(self.db)

    def setup(self, env):
        """N subscriptions activated on a RADIUS server, which knows their
        accounts, each with its grant of 10 GB for the period of today."""
        print("(5)(6) network: setup", flush=True)
        server = env["isp.radius.server"].create(
            {"name": "Bench RADIUS", "dsn": self.pgdb.build_dsn(self.db)}
        )
        product = self.bench.create_package(env, "Network plan", "credit")
        partners = self.bench.create_partners(env, "Net", self.users)
        day = fixtures.today(env)
        subs = fixtures.Fixtures(env).subscribe(partners, product, day)
        assert set(subs.mapped("radius_server_id")) == {server}
        # Their activation's events, delivered as the job that runs every
        # minute would have long before a grant run.
        self.bench.run_cron(env, fixtures.DELIVER_CRON)
        # The period's grants, created directly: granting is what (2) times.
        end = day + timedelta(days=29)
        subs.write({"next_date": end + timedelta(days=1), "valid_until": end})
        env["isp.data.grant"].create(
            [
                {
                    "subscription_id": sub.id,
                    "partner_id": sub.partner_id.id,
                    "company_id": sub.company_id.id,
                    "currency_id": sub.currency_id.id,
                    "period_start": day,
                    "period_end": end,
                    "state": "granted",
                    "data_gb": 10.0,
                }
                for sub in subs
            ]
        )
        self.server = server
        return subs

    def deliver(self, env, subs):
        fixtures.network_sync(subs)
        env.cr.commit()

        def work():
            done = self.bench.run_cron(env, fixtures.DELIVER_CRON)
            assert done == len(subs), f"delivered {done} of {len(subs)}"
            return done

        self.bench.timed("(5) RADIUS delivery", env.cr, work)
        with (
            fixtures.radius_connection(self.server) as connection,
            connection.cursor() as pg,
        ):
            pg.execute("SELECT count(DISTINCT username) FROM radcheck")
            users = pg.fetchone()[0]
        print(f"  {users} accounts in radcheck", flush=True)

    def import_usage(self, env, subs):
        self._import(env, subs, "(6) usage import (radacct rows)", "a")
        if self.booked:
            self._book_old_rows()
            self._import(
                env, subs, f"(6) same, {self.booked:,} rows booked before", "b"
            )

    def _book_old_rows(self):
        """``booked`` closed sessions of the last months, already counted
        (before the import's watermark), spread over the subscribers."""
        print(f"  writing {self.booked:,} booked radacct rows", flush=True)
        with (
            fixtures.radius_connection(self.server) as connection,
            connection.cursor() as pg,
        ):
            pg.execute(
                """
                INSERT INTO radacct (acctsessionid, acctuniqueid, username,
                       acctinputoctets, acctoutputoctets, nasipaddress,
                       acctstarttime, acctupdatetime, acctstoptime)
                SELECT 'old-' || i, 'old-' || i, 'bench-old-' || (i %% %s),
                       1000, 2000, '127.0.0.1',
                       now() - interval '90 days' + i * interval '1 second',
                       now() - interval '89 days' + i * interval '1 second',
                       now() - interval '89 days' + i * interval '1 second'
                  FROM generate_series(1, %s) AS i
                """,
                [self.users, self.booked],
            )
            # The first run's rows: reported ten minutes ago, before the
            # overlap the next import reads again.
            pg.execute(
                "UPDATE radacct SET acctstarttime = acctstarttime - interval "
                "'10 minutes', acctupdatetime = acctupdatetime - interval "
                "'10 minutes', acctstoptime = acctstoptime - interval '10 minutes' "
                "WHERE acctuniqueid NOT LIKE 'old-%%'"
            )
            pg.execute("ANALYZE radacct")

    def _import(self, env, subs, label, tag):
        rows, rng = [], random.Random(42)
        for sub in subs:
            for session in range(SESSIONS_PER_USER):
                used = rng.randrange(10_000_000, 300_000_000)
                rows.append(
                    (
                        f"{sub.network_username}-{tag}{session}",
                        f"{sub.network_username}-{tag}{session}",
                        sub.network_username,
                        used // 3,
                        used - used // 3,
                    )
                )
        from psycopg2.extras import execute_values

        with (
            fixtures.radius_connection(self.server) as connection,
            connection.cursor() as pg,
        ):
            execute_values(
                pg,
                "INSERT INTO radacct (acctsessionid, acctuniqueid, username, "
                "acctinputoctets, acctoutputoctets, nasipaddress, acctstarttime, "
                "acctupdatetime, acctstoptime) VALUES %s",
                rows,
                template="(%s, %s, %s, %s, %s, '127.0.0.1', now(), now(), now())",
                page_size=5000,
            )
        env.invalidate_all()
        before = sum(subs.grant_ids.mapped("used_gb"))

        def work():
            self.bench.run_cron(env, fixtures.IMPORT_CRON)
            return len(rows)

        self.bench.timed(label, env.cr, work)
        env.invalidate_all()
        used = sum(subs.grant_ids.mapped("used_gb")) - before
        expected = sum(row[3] + row[4] for row in rows) / GB
        assert abs(used - expected) < 1e-3, f"usage {used} GB, expected {expected}"
        print(f"  {used:.1f} GB counted on {len(subs)} grants", flush=True)
