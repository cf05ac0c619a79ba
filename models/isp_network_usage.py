# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Usage, read back from RADIUS accounting, and what it triggers.

Every few minutes the job *ISP: import usage* reads the radacct rows updated
since its last read (with a safety overlap), counts what each report adds
with ``core.usage`` (a session's total minus the total already counted, kept
in ``isp.network.session``), adds it to the grant of the period of that
report, then for each subscription whose usage moved: sends the fair-usage
alerts due, and writes the network events (the volume left; at the cap, the
block or the throttle and the Disconnect/CoA of the open session).
"""

import logging
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import psycopg2

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from ..core import clock, fair_usage, network, units, usage

_logger = logging.getLogger(__name__)

# Rows read again at each import: a router's update committed a little late
# is never missed; counting per session makes the second read add nothing.
OVERLAP = timedelta(minutes=5)
# Closed sessions an import counted (last updated by its watermark, an
# UTC timestamp) that stopped more than N days ago.
SQL_OLD_SESSIONS = (
    "acctstoptime IS NOT NULL "
    "AND COALESCE(acctupdatetime, acctstoptime) <= %s::timestamp AT TIME ZONE 'UTC' "
    "AND acctstoptime < now() - make_interval(days => %s)"
)
FETCH = 5000


class IspNetworkSession(models.Model):
    _name = "isp.network.session"
    _description = "ISP Network Session (accounting counted)"
    _order = "id desc"

    server_id = fields.Many2one("isp.radius.server", required=True, index=True)
    unique_id = fields.Char(required=True, help="radacct.acctuniqueid")
    username = fields.Char(index=True)
    total_bytes = fields.Float(
        digits=(20, 0), help="The session's total already counted."
    )
    last_update = fields.Datetime()

    _sql_constraints = [
        (
            "session_uniq",
            "unique (server_id, unique_id)",
            "A RADIUS session is counted once per server.",
        ),
    ]


class IspRadiusServer(models.Model):
    _inherit = "isp.radius.server"

    last_import_note = fields.Text(
        string="Last Import", readonly=True, help="What the last import counted."
    )
    counts_wrap = fields.Boolean(
        string="Routers Send No Gigawords",
        help="Routers whose 32-bit counters wrap at 4 GiB without sending "
        "Acct-Input/Output-Gigawords: a counter that falls by more than 2 GiB "
        "is then counted as a wrap, not ignored as a reset.",
    )
    interim_interval = fields.Integer(
        string="Interim Interval (s)",
        default=300,
        help="How often the routers send an Interim-Update (Acct-Interim-Interval).",
    )
    stale_intervals = fields.Integer(
        string="Close Silent Sessions After",
        default=3,
        help="A session with no accounting report for this many interim "
        "intervals is closed in radacct (Stale-Session), so that it neither "
        "counts as open nor locks its subscriber out. 0: never.",
    )

    retention_days = fields.Integer(
        string="Keep Closed Sessions (days)",
        default=0,
        help="Closed radacct sessions already counted are archived or deleted "
        "this many days after they stopped, so that the table never slows "
        "FreeRADIUS or the import down. 0: keep them all.",
    )
    retention_action = fields.Selection(
        [("archive", "Move to radacct_archive"), ("delete", "Delete")],
        string="Old Sessions",
        default="archive",
        required=True,
        help="Archive: moved to the table radacct_archive of the same database "
        "(created like radacct when missing); delete: gone.",
    )

    @api.constrains("interim_interval", "stale_intervals", "retention_days")
    def _check_stale_sessions(self):
        for server in self:
            if (
                server.interim_interval < 1
                or server.stale_intervals < 0
                or server.retention_days < 0
            ):
                raise ValidationError(
                    _(
                        "The interim interval is 1 second or more; silent "
                        "sessions are closed after 0 (never) or more intervals, "
                        "and closed ones kept 0 (for ever) or more days."
                    )
                )

    @api.model
    def _cron_import_usage(self):
        """Entry point of the scheduled action "ISP: import usage"."""
        done = 0
        for server in self.sudo().search([]):
            try:
                done += server._isp_import_usage()
            except psycopg2.Error as exc:
                _logger.warning("ISP usage import from %s failed: %s", server.name, exc)
                server.last_import_note = str(exc).strip()
        self.env["ir.cron"]._notify_progress(done=done, remaining=0)
        return done

    def _isp_import_usage(self):
        """Read this server's new accounting; returns the rows read."""
        self.ensure_one()
        since = (self.last_import or datetime(1970, 1, 1)) - OVERLAP
        with self._isp_connect() as connection:
            closed = self._isp_close_stale_sessions(connection)
            with connection.cursor(name="isp_usage") as pg:
                pg.itersize = FETCH
                pg.execute(
                    """
                    SELECT acctuniqueid, username,
                           COALESCE(acctinputoctets, 0) + COALESCE(acctoutputoctets, 0),
                           COALESCE(acctupdatetime, acctstoptime, acctstarttime)
                             AT TIME ZONE 'UTC',
                           host(nasipaddress)
                      FROM radacct
                     WHERE COALESCE(acctupdatetime, acctstoptime, acctstarttime)
                           >= %s::timestamp AT TIME ZONE 'UTC'
                  ORDER BY 4, radacctid
                    """,
                    [since],
                )
                rows = pg.fetchall()
        notes = self._isp_count_rows(rows) if rows else ""
        if closed:
            notes += f" {closed} silent session(s) closed."
        if rows:
            self.last_import = max(row[3] for row in rows)
        with self._isp_connect() as connection:
            retired = self._isp_retire_sessions(connection)
        if retired:
            notes += f" {retired} old session(s) {self.retention_action}d."
        if notes:
            self.last_import_note = notes.strip()
        return len(rows)

    def _isp_retire_sessions(self, connection):
        """Archive or delete the closed sessions counted by an import
        (stopped and last updated before the import's watermark) that
        stopped more than ``retention_days`` ago, and forget them in Odoo.
        Returns how many went."""
        if self.retention_days <= 0 or not self.last_import:
            return 0
        old = SQL_OLD_SESSIONS
        with connection.cursor() as pg:
            if self.retention_action == "archive":
                pg.execute(
                    "CREATE TABLE IF NOT EXISTS radacct_archive "
                    "(LIKE radacct INCLUDING DEFAULTS)"
                )
                pg.execute(
                    f"WITH gone AS (DELETE FROM radacct WHERE {old} RETURNING *) "  # noqa: S608
                    "INSERT INTO radacct_archive SELECT * FROM gone "
                    "RETURNING acctuniqueid",
                    [self.last_import, self.retention_days],
                )
            else:
                pg.execute(
                    f"DELETE FROM radacct WHERE {old} RETURNING acctuniqueid",  # noqa: S608
                    [self.last_import, self.retention_days],
                )
            gone = [row[0] for row in pg.fetchall()]
        if gone:
            self.env["isp.network.session"].flush_model()
            self.env.execute_query(
                SQL(
                    "DELETE FROM isp_network_session "
                    "WHERE server_id = %s AND unique_id = ANY(%s)",
                    self.id,
                    gone,
                )
            )
            self.env["isp.network.session"].invalidate_model()
        return len(gone)

    def _isp_close_stale_sessions(self, connection):
        """Close the open sessions of this server's radacct that sent no
        report for ``stale_intervals`` interim intervals (their router
        rebooted without Accounting-On, or lost them): stopped at their last
        report, so their counters, already counted, do not move. Returns how
        many were closed."""
        if self.stale_intervals <= 0 or self.interim_interval <= 0:
            return 0
        with connection.cursor() as pg:
            pg.execute(
                """
                UPDATE radacct
                   SET acctstoptime = COALESCE(acctupdatetime, acctstarttime),
                       acctterminatecause = 'Stale-Session'
                 WHERE acctstoptime IS NULL
                   AND COALESCE(acctupdatetime, acctstarttime)
                       < now() - make_interval(secs => %s)
                """,
                [self.interim_interval * self.stale_intervals],
            )
            return pg.rowcount

    def _isp_count_rows(self, rows):
        """Count these radacct rows (keeping only each session's last one):
        each report's bytes go to the day of its report time in the
        company's timezone, counted at the share of the service's time
        window it falls in; reports from an undeclared router are ignored."""
        latest = {}
        for unique_id, username, total, updated, router in rows:
            latest[unique_id] = (username, int(total), updated, router)
        subs = self._isp_subscriptions_of(
            {username for username, _t, _u, _r in latest.values()}
        )
        seen = self._isp_sessions_seen(list(latest))
        declared = {
            usage.router_key(address)
            for address in self.env["isp.nas"]
            .sudo()
            .search([("server_id", "=", self.id)])
            .mapped("address")
        }
        windows = {
            template.id: template._isp_usage_windows()
            for template in self.env["isp.subscription"]
            .union(*subs.values())
            .product_id.product_tmpl_id
        }
        # Logins of hotspot cards: redeemed at their first report, their
        # usage counted by FreeRADIUS alone.
        hotspot = self.env["isp.voucher"]._isp_hotspot_logins(
            self,
            {username for username, _t, _u, _r in latest.values()} - set(subs),
        )
        added = defaultdict(int)  # (subscription id, day) -> bytes counted
        free = defaultdict(int)  # (subscription id, day) -> bytes not counted
        problems = defaultdict(int)
        counted = []
        for unique_id, (username, total, updated, router) in latest.items():
            if not usage.from_declared_router(router, declared):
                problems[f"{usage.UNKNOWN_NAS} ({router})"] += 1
                _logger.warning(
                    "ISP usage: session %s of %s from router %s ignored: no such "
                    "router is declared for %s",
                    unique_id,
                    username,
                    router,
                    self.name,
                )
                continue
            sub = subs.get(username)
            if not sub:
                if username in hotspot:
                    problems["hotspot card session"] += 1
                else:
                    problems[usage.UNKNOWN_USER] += 1
                continue
            local = updated.replace(tzinfo=timezone.utc).astimezone(
                clock.zone(sub.company_id._isp_effective_timezone())
            )
            day = local.date()
            result = usage.count(
                usage.Report(unique_id, username, total, day),
                seen.get(unique_id),
                wraps=self.counts_wrap,
            )
            if result.note:
                problems[result.note] += 1
            if result.problem:
                problems[result.problem] += 1
                _logger.info(
                    "ISP usage: session %s of %s ignored (%s)",
                    unique_id,
                    username,
                    result.problem,
                )
                continue
            if result.delta:
                share = fair_usage.counted_pct(
                    local.time(), windows[sub.product_id.product_tmpl_id.id]
                )
                kept, dropped = fair_usage.split(result.delta, share)
                added[(sub.id, day)] += kept
                free[(sub.id, day)] += dropped
            counted.append((self.id, unique_id, username, result.total, updated))
        self._isp_remember_sessions(counted)
        self.env["isp.usage.day"].sudo()._isp_book(added)
        grants = self._isp_add_usage(added, free, problems)
        if grants:
            grants.subscription_id._isp_after_usage(grants)
        notes = [f"{len(rows)} accounting rows, {len(latest)} sessions."]
        notes += [
            f"{count} counted as a 32-bit wrap"
            if problem == usage.WRAPPED
            else f"{count} {problem}(s), counted by FreeRADIUS"
            if problem == "hotspot card session"
            else f"{count} ignored: {problem}"
            for problem, count in problems.items()
        ]
        return " ".join(notes)

    def _isp_subscriptions_of(self, usernames):
        """``{username: subscription}`` of this server (running or closed)."""
        subs = (
            self.env["isp.subscription"]
            .sudo()
            .search(
                [
                    ("radius_server_id", "=", self.id),
                    ("network_username", "in", list(usernames)),
                    ("state", "!=", "draft"),
                ],
                order="id",
            )
        )
        return {sub.network_username: sub for sub in subs}

    def _isp_sessions_seen(self, unique_ids):
        seen = {}
        for start in range(0, len(unique_ids), FETCH):
            for unique_id, total in self.env.execute_query(
                SQL(
                    "SELECT unique_id, total_bytes FROM isp_network_session "
                    "WHERE server_id = %s AND unique_id = ANY(%s)",
                    self.id,
                    unique_ids[start : start + FETCH],
                )
            ):
                seen[unique_id] = int(total)
        return seen

    def _isp_remember_sessions(self, counted):
        """Upsert each session's counted total, in one statement."""
        if not counted:
            return
        self.env["isp.network.session"].flush_model()
        columns = list(zip(*counted, strict=True))
        self.env.execute_query(
            SQL(
                """
                INSERT INTO isp_network_session
                       (server_id, unique_id, username, total_bytes, last_update,
                        create_date, write_date)
                SELECT s, u, n, t, d, now() AT TIME ZONE 'UTC',
                       now() AT TIME ZONE 'UTC'
                  FROM unnest(%s::int[], %s::varchar[], %s::varchar[],
                              %s::numeric[], %s::timestamp[]) AS v(s, u, n, t, d)
                ON CONFLICT (server_id, unique_id) DO UPDATE
                   SET total_bytes = EXCLUDED.total_bytes,
                       last_update = EXCLUDED.last_update,
                       write_date = EXCLUDED.write_date
                """,
                *(list(column) for column in columns),
            )
        )
        self.env["isp.network.session"].invalidate_model()

    def _isp_add_usage(self, added, free, problems):
        """Add the bytes of each (subscription, day), counted and not, to the
        grant of that day's period. Returns the grants whose usage moved."""
        if not added:
            return self.env["isp.data.grant"]
        days = [day for _sub, day in added]
        grants = (
            self.env["isp.data.grant"]
            .sudo()
            .search(
                [
                    ("subscription_id", "in", list({sub for sub, _day in added})),
                    ("state", "=", "granted"),
                    ("kind", "=", "period"),
                    ("period_start", "<=", max(days)),
                    ("period_end", ">=", min(days)),
                ],
                # The latest period first: after a plan change, the new one.
                order="period_start desc, id desc",
            )
        )
        spans = defaultdict(list)
        for grant in grants:
            spans[grant.subscription_id.id].append(
                usage.Span(grant.id, grant.period_start, grant.period_end)
            )
        by_grant = defaultdict(lambda: [0, 0])
        for (sub_id, day), delta in added.items():
            grant_id = usage.period_of(day, spans[sub_id])
            if grant_id is None:
                problems["no granted period that day"] += 1
                continue
            by_grant[grant_id][0] += delta
            by_grant[grant_id][1] += free.get((sub_id, day), 0)
        if not by_grant:
            return self.env["isp.data.grant"]
        grants.flush_recordset()
        self.env.execute_query(
            SQL(
                "UPDATE isp_data_grant AS g "
                "SET used_gb = COALESCE(g.used_gb, 0) + v.gb, "
                "    free_gb = COALESCE(g.free_gb, 0) + v.free "
                "FROM unnest(%s::int[], %s::float8[], %s::float8[]) AS v(id, gb, free) "
                "WHERE g.id = v.id",
                list(by_grant),
                [used / units.GB for used, _free in by_grant.values()],
                [dropped / units.GB for _used, dropped in by_grant.values()],
            )
        )
        moved = grants.browse(list(by_grant))
        moved.invalidate_recordset(["used_gb", "free_gb"])
        return moved


class IspSubscription(models.Model):
    _inherit = "isp.subscription"

    def _isp_after_usage(self, grants):
        """Usage moved on these grants: alerts due, and what the network must
        now know (the volume left, the cap, the packet to the open session)."""
        today = fields.Date.context_today(self)
        current = grants.filtered(lambda g: g.period_start <= today <= g.period_end)
        current._isp_send_usage_alerts()
        subs = current.subscription_id
        events = subs._isp_network_events("sync", today)
        synced = {e["subscription_id"]: e for e in events}
        # A step newly reached (the cap, without steps): the open session
        # changes now, not at its next login.
        stepped = current.filtered(
            lambda g: (
                synced.get(g.subscription_id.id, {}).get("fair_usage_step", 0)
                > g.fair_usage_step
            )
        )
        for grant in stepped:
            sync = synced[grant.subscription_id.id]
            capped = sync["capped"]
            events.append(
                {
                    "server_id": sync["server_id"],
                    "subscription_id": sync["subscription_id"],
                    "username": sync["username"],
                    # A throttle changes the session; a block or the walled
                    # garden needs a new session (the router reconnects it).
                    "kind": "coa" if capped == network.THROTTLE else "disconnect",
                    "reply_rows": sync.get("reply_rows"),
                    "capped": capped,
                    "fair_usage_step": sync["fair_usage_step"],
                }
            )
        by_step = defaultdict(lambda: self.env["isp.data.grant"])
        for grant in stepped:
            by_step[synced[grant.subscription_id.id]["fair_usage_step"]] |= grant
        for step, grants_at in by_step.items():
            grants_at.write({"cap_reached": True, "fair_usage_step": step})
        self.env["isp.network.event"].sudo()._isp_enqueue(events)
