# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Where subscribers connect: a FreeRADIUS server, through its database.

Odoo never talks RADIUS to routers for authentication: it writes FreeRADIUS's
own PostgreSQL tables (radcheck, radreply) and reads its accounting
(radacct, nas). A company with one server needs no other setting; a site may
name its own.
"""

import logging
import re
from contextlib import contextmanager

import psycopg2
from psycopg2.extras import execute_values

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..core import network
from .isp_terms import notification

_logger = logging.getLogger(__name__)

# FreeRADIUS's tables that Odoo reads or writes.
RADIUS_TABLES = ("radcheck", "radreply", "radacct", "nas")
# radius/schema/isp.sql: what the usage import and isp_authorize read by.
RADACCT_INDEXES = ("radacct_isp_reported_idx", "radacct_isp_user_start_idx")
# The password of a libpq string, to hide it: password=... or password='...'.
_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)")
HIDDEN = "********"
CONNECT_TIMEOUT = 5


class IspRadiusServer(models.Model):
    _name = "isp.radius.server"
    _description = "ISP RADIUS Server"
    _order = "sequence, id"

    name = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    dsn = fields.Char(
        string="Database Connection",
        groups="base.group_system",
        help="libpq connection string of the FreeRADIUS database.",
    )
    dsn_display = fields.Char(
        string="Connection",
        compute="_compute_dsn_display",
        inverse="_inverse_dsn_display",
        help="libpq connection string of the FreeRADIUS database, e.g. "
        "dbname=radius host=10.0.0.5 user=odoo password=... The password is "
        "never shown back: leave ******** to keep it.",
    )
    vendor = fields.Selection(
        [
            (network.MIKROTIK, "MikroTik"),
            (network.CHILLISPOT, "ChilliSpot / CoovaChilli"),
            (network.GENERIC, "Generic (RFC attributes only)"),
        ],
        string="Routers",
        required=True,
        default=network.MIKROTIK,
        help="Which vendor's attributes carry the data volume and the rate "
        "limit in the replies.",
    )
    cap_at_login = fields.Boolean(
        string="Count Usage at Login",
        default=True,
        help="FreeRADIUS counts what radacct holds for the current period at "
        "every Access-Request, so that logging in again never gives a fresh "
        "volume between two usage imports. Needs the addon's dictionary and "
        "isp_authorize policy on the FreeRADIUS server (radius/README.md): without "
        "them, untick this before the next delivery.",
    )
    walled_garden = fields.Char(
        required=True,
        default="walled-garden",
        help="The walled garden of services that send a capped or expired "
        "subscriber there: a MikroTik address list (Mikrotik-Address-List), "
        "else an address pool (Framed-Pool), whose firewall only lets through "
        "the portal and what paying needs.",
    )
    coa_port = fields.Integer(
        string="CoA Port",
        default=3799,
        help="Port of the routers' Disconnect/CoA listener (RFC 5176) when the "
        "router's row in the nas table does not give one.",
    )
    site_ids = fields.One2many("isp.site", "radius_server_id", string="Sites")
    last_import = fields.Datetime(
        string="Accounting Read Up To",
        readonly=True,
        help="The accounting updates older than this were turned into usage.",
    )
    pending_count = fields.Integer(compute="_compute_pending_count")

    @api.depends("dsn")
    def _compute_dsn_display(self):
        for server in self:
            server.dsn_display = _PASSWORD.sub(
                rf"\g<1>{HIDDEN}", server.sudo().dsn or ""
            )

    def _inverse_dsn_display(self):
        for server in self:
            typed = server.dsn_display or ""
            old = server.sudo().dsn or ""
            if HIDDEN in typed:
                kept = _PASSWORD.search(old)
                typed = typed.replace(HIDDEN, kept.group(2) if kept else "")
            server.sudo().dsn = typed

    def _compute_pending_count(self):
        groups = self.env["isp.network.event"]._read_group(
            [("server_id", "in", self.ids), ("state", "=", "pending")],
            ["server_id"],
            ["__count"],
        )
        counts = {server.id: count for server, count in groups}
        for server in self:
            server.pending_count = counts.get(server.id, 0)

    @api.model_create_multi
    def create(self, vals_list):
        servers = super().create(vals_list)
        servers._isp_reassign_subscriptions(servers.company_id)
        return servers

    def write(self, vals):
        companies = self.company_id
        res = super().write(vals)
        if {"company_id", "sequence", "active"} & vals.keys():
            self._isp_reassign_subscriptions(companies | self.company_id)
        if {
            "vendor",
            "cap_at_login",
            "interim_interval",
            "stale_intervals",
        } & vals.keys():
            # The rows of every running subscriber change with them.
            self.env["isp.subscription"].sudo().search(
                [
                    ("radius_server_id", "in", self.ids),
                    ("state", "in", ("active", "waiting_credit")),
                ]
            )._isp_network_sync()
        return res

    def _isp_reassign_subscriptions(self, companies):
        """A company's first server changed: its subscriptions without a
        site server follow it, and the network learns about them."""
        subs = (
            self.env["isp.subscription"]
            .sudo()
            .search([("company_id", "in", companies.ids), ("state", "!=", "closed")])
        )
        before = {sub.id: sub.radius_server_id for sub in subs}
        subs._compute_radius_server_id()
        moved = subs.filtered(lambda sub: sub.radius_server_id != before[sub.id])
        moved.filtered(lambda sub: sub.state != "draft")._isp_network_sync()

    @api.constrains("coa_port")
    def _check_coa_port(self):
        for server in self:
            if not 0 < server.coa_port < 65536:
                raise ValidationError(_("A port lies between 1 and 65535."))

    # ------------------------------------------------------------------
    # The RADIUS database
    # ------------------------------------------------------------------
    @contextmanager
    def _isp_connect(self):
        """A connection to this server's database, committed on success."""
        self.ensure_one()
        dsn = self.sudo().dsn
        if not dsn:
            raise UserError(
                _("RADIUS server %(name)s has no database connection.", name=self.name)
            )
        connection = psycopg2.connect(
            dsn, connect_timeout=CONNECT_TIMEOUT, application_name="odoo-isp"
        )
        try:
            with connection:
                yield connection
        finally:
            connection.close()

    def action_test_connection(self):
        """Say plainly whether Odoo can reach FreeRADIUS's database."""
        self.ensure_one()
        try:
            with self._isp_connect() as connection, connection.cursor() as pg:
                pg.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = current_schema() AND table_name IN %s",
                    [RADIUS_TABLES],
                )
                found = {row[0] for row in pg.fetchall()}
                missing = sorted(set(RADIUS_TABLES) - found)
                users, indexed = 0, True
                if not missing:
                    pg.execute("SELECT count(DISTINCT username) FROM radcheck")
                    users = pg.fetchone()[0]
                    pg.execute(
                        "SELECT count(*) FROM pg_indexes WHERE tablename = 'radacct' "
                        "AND indexname IN %s",
                        [RADACCT_INDEXES],
                    )
                    indexed = pg.fetchone()[0] == len(RADACCT_INDEXES)
        except psycopg2.Error as exc:
            raise UserError(
                _(
                    "Odoo cannot reach the RADIUS database of %(name)s: %(error)s",
                    name=self.name,
                    error=str(exc).strip(),
                )
            ) from exc
        if missing:
            raise UserError(
                _(
                    "Connected, but the database has no table %(tables)s: load "
                    "FreeRADIUS's PostgreSQL schema (mods-config/sql/main/"
                    "postgresql/schema.sql) into it.",
                    tables=", ".join(missing),
                )
            )
        message = _(
            "FreeRADIUS's tables are there; %(users)s subscriber(s) are provisioned.",
            users=users,
        )
        if not indexed:
            message += " " + _(
                "radacct lacks the addon's indexes: load radius/schema/isp.sql, "
                "or the usage import and the cap at login slow down as radacct "
                "grows."
            )
        return notification(_("Connection works"), message)

    def _isp_write_users(self, connection, rows_of, removed):
        """Replace the rows of these usernames, in one transaction.

        ``rows_of`` maps a username to its ``core.network.Rows``; ``removed``
        lists usernames to delete. Idempotent: the same call twice leaves the
        same rows.
        """
        usernames = sorted(set(rows_of) | set(removed))
        with connection.cursor() as pg:
            for table in ("radcheck", "radreply"):
                pg.execute(
                    f"DELETE FROM {table} WHERE username = ANY(%s)",  # noqa: S608
                    [usernames],
                )
            for table, part in (("radcheck", "check"), ("radreply", "reply")):
                values = [
                    (username, attribute, op, value)
                    for username, rows in rows_of.items()
                    for attribute, op, value in getattr(rows, part)
                ]
                if values:
                    execute_values(
                        pg,
                        f"INSERT INTO {table} (username, attribute, op, value) "  # noqa: S608
                        "VALUES %s",
                        values,
                        page_size=1000,
                    )

    def _isp_write_routers(self, connection, addresses):
        """Write the nas table's rows of these router addresses as Odoo now
        declares them (an archived or deleted router is removed), in the
        delivery's transaction. The secret is read here only."""
        routers = (
            self.env["isp.nas"]
            .sudo()
            .search([("server_id", "=", self.id), ("address", "in", list(addresses))])
        )
        with connection.cursor() as pg:
            pg.execute("DELETE FROM nas WHERE nasname = ANY(%s)", [list(addresses)])
            if routers:
                execute_values(
                    pg,
                    "INSERT INTO nas (nasname, shortname, type, ports, secret, "
                    "description) VALUES %s",
                    [
                        (
                            nas.address,
                            nas.name,
                            nas.nas_type,
                            nas.coa_port,
                            nas.secret,
                            "Written by Odoo",
                        )
                        for nas in routers
                    ],
                )

    def _isp_open_sessions(self, connection, usernames):
        """Open sessions of these usernames: ``{username: [(session id, NAS
        address, secret, CoA port)]}``, the secret and port from the nas
        table."""
        with connection.cursor() as pg:
            pg.execute(
                """
                SELECT a.username, a.acctsessionid, host(a.nasipaddress),
                       n.secret, n.ports
                  FROM radacct a
             LEFT JOIN nas n ON n.nasname = host(a.nasipaddress)
                 WHERE a.acctstoptime IS NULL AND a.username = ANY(%s)
              ORDER BY a.radacctid
                """,
                [list(usernames)],
            )
            sessions = {}
            for username, session, address, secret, port in pg.fetchall():
                sessions.setdefault(username, []).append(
                    (session, address, secret, port or self.coa_port)
                )
            return sessions
