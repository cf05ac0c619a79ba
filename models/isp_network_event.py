# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The network outbox: what FreeRADIUS must learn, written with the grant.

An event holds the rows one user must have in radcheck and radreply (or their
removal, or a Disconnect/CoA to send). It is written in the transaction that
changed the subscription, so it exists if and only if the change does. The
job *ISP: deliver to the network* writes them to the RADIUS database:

- in order per user: of several pending events of a user, the newest carries
  what the network must hold now, the older ones are marked superseded;
- idempotently: a user's rows are deleted and written again in one RADIUS
  transaction, so delivering twice (a crash between the RADIUS commit and
  Odoo's) leaves the same rows;
- surviving a RADIUS database that is down: the events stay pending with the
  error, and are tried again later and later (``core.network.retry_delay``).
"""

import logging
from datetime import timedelta

import psycopg2

from odoo import _, api, fields, models
from odoo.tools import SQL

from ..core import fanout, nas, network
from ..radius.coa import send_packet

_logger = logging.getLogger(__name__)

ROW_KINDS = ("sync", "remove")
PACKET_KINDS = ("disconnect", "coa")
# Disconnect/CoA to routers: tried this many times, then given up (the
# session ends anyway at its Session-Timeout or the next reauthentication).
MAX_PACKET_ATTEMPTS = 5


class IspNetworkEvent(models.Model):
    _name = "isp.network.event"
    _inherit = "isp.run.mixin"
    _description = "ISP Network Event (outbox)"
    _order = "id desc"
    _isp_run_kind = fanout.DELIVER

    server_id = fields.Many2one(
        "isp.radius.server", required=True, readonly=True, index=True
    )
    subscription_id = fields.Many2one(
        "isp.subscription", readonly=True, index=True, ondelete="set null"
    )
    company_id = fields.Many2one(related="server_id.company_id", store=True)
    username = fields.Char(required=True, readonly=True, index=True)
    kind = fields.Selection(
        [
            ("sync", "Write the account"),
            ("remove", "Remove the account"),
            ("disconnect", "Disconnect the session"),
            ("coa", "Change the session (CoA)"),
            ("nas", "Write the router (nas table)"),
        ],
        required=True,
        readonly=True,
    )
    check_rows = fields.Json(readonly=True)
    reply_rows = fields.Json(readonly=True)
    capped = fields.Char(
        readonly=True,
        help="The fair-usage step in force: block, throttle or walled.",
    )
    fair_usage_step = fields.Integer(
        string="Fair-Usage Step (%)",
        readonly=True,
        help="The threshold of the fair-usage step in force (0: none).",
    )
    state = fields.Selection(
        [
            ("pending", "Pending"),
            ("done", "Delivered"),
            ("superseded", "Superseded"),
            ("failed", "Given up"),
        ],
        default="pending",
        required=True,
        readonly=True,
        index=True,
    )
    attempts = fields.Integer(readonly=True)
    next_attempt = fields.Datetime(readonly=True, index=True)
    error = fields.Text(readonly=True)
    delivered_at = fields.Datetime(readonly=True)
    packet_ids = fields.One2many(
        "isp.network.packet", "event_id", string="Requests Sent", readonly=True
    )

    @api.model
    def _isp_enqueue(self, vals_list):
        """Create these events and have the delivery job run soon."""
        if not vals_list:
            return self.browse()
        events = self.create(vals_list)
        cron = self.env.ref(
            "isp_data_recurring.ir_cron_isp_deliver_network", raise_if_not_found=False
        )
        if cron:
            cron.sudo()._trigger()
        return events

    def action_retry(self):
        """Try these events again now (ISP Managers)."""
        self.env["isp.subscription"]._isp_check_manager()
        todo = self.filtered(lambda e: e.state in ("pending", "failed"))
        todo.sudo().write({"state": "pending", "next_attempt": False})
        self.env.ref("isp_data_recurring.ir_cron_isp_deliver_network").sudo()._trigger()
        return True

    # ------------------------------------------------------------------
    # Delivery
    # ------------------------------------------------------------------
    @api.model
    def _cron_deliver(self, batch_size=1000):
        """Entry point of the scheduled action "ISP: deliver to the network".

        One batch of due events of one RADIUS server per call
        (``isp.run.mixin``); ir.cron calls again while some remain. With the
        fan-out on, one job per batch instead."""
        return self._isp_run(batch_size=batch_size)

    # ------------------------------------------------------------------
    # Hooks of isp.run.mixin
    # ------------------------------------------------------------------
    @api.model
    def _isp_run_scopes(self, date_ref=None):
        """The RADIUS servers that have events due."""
        self.flush_model()
        rows = self.env.execute_query(
            SQL(
                "SELECT DISTINCT server_id FROM isp_network_event WHERE %s",
                self._isp_due_sql(),
            )
        )
        servers = (
            self.env["isp.radius.server"].sudo().browse(sorted(r[0] for r in rows))
        )
        today = fields.Date.context_today(self)
        return [(server, today) for server in servers]

    @api.model
    def _isp_run_due(self, server, day, since):
        return SQL("%s AND server_id = %s", self._isp_due_sql(), server.id)

    @api.model
    def _isp_run_take(self, where, limit=None):
        return self._isp_take(where, limit)

    @api.model
    def _isp_run_process(self, events, server, day):
        events._isp_deliver(server)
        return events

    @api.model
    def _isp_due_sql(self):
        """Pending events whose (next) attempt is due."""
        return SQL(
            "state = 'pending' AND (next_attempt IS NULL OR next_attempt <= %s)",
            fields.Datetime.now(),
        )

    @api.model
    def _isp_take(self, where, limit=None):
        """Lock up to ``limit`` events matching ``where``, in id order, and
        return those this transaction may deliver.

        Events of a user are delivered in order by one transaction at a time:
        the transaction locks every pending event of the users at hand
        (skipping what another holds), and keeps only the users all of whose
        pending events it holds (``core.fanout.deliverable``). The others are
        being delivered elsewhere, or are left to the next call. A row changed
        by a transaction that committed after this one began raises a
        serialization failure, for the caller to retry.
        """
        self.flush_model()
        candidates = self.env.execute_query(
            SQL(
                "SELECT server_id, username FROM isp_network_event WHERE %s "
                "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                where,
                limit,
            )
        )
        if not candidates:
            return self.browse()
        users = SQL(
            "state = 'pending' AND (server_id, username) IN %s",
            tuple(set(candidates)),
        )
        with self.env.cr.savepoint():
            locked = self.env.execute_query(
                SQL(
                    "SELECT id FROM isp_network_event WHERE %s "
                    "ORDER BY id FOR UPDATE SKIP LOCKED",
                    users,
                )
            )
        pending = self.env.execute_query(
            SQL(
                "SELECT id, server_id || ':' || username FROM isp_network_event "
                "WHERE %s",
                users,
            )
        )
        ours = fanout.deliverable(pending, {row[0] for row in locked})
        return self.sudo().browse(
            sorted(event_id for event_id, user in pending if user in ours)
        )

    def _isp_deliver(self, server):
        """Deliver these events of one server: rows, then packets."""
        latest = {}
        for event in self.filtered(lambda e: e.kind in ROW_KINDS).sorted("id"):
            latest[event.username] = event
        newest = self.browse([event.id for event in latest.values()])
        superseded = self.filtered(lambda e: e.kind in ROW_KINDS) - newest
        packets = self.filtered(lambda e: e.kind in PACKET_KINDS)
        routers = self.filtered(lambda e: e.kind == "nas")
        try:
            with server._isp_connect() as connection:
                server._isp_write_users(
                    connection,
                    {
                        e.username: network.Rows(
                            tuple(map(tuple, e.check_rows or [])),
                            tuple(map(tuple, e.reply_rows or [])),
                        )
                        for e in newest
                        if e.kind == "sync"
                    },
                    [e.username for e in newest if e.kind == "remove"],
                )
                if routers:
                    server._isp_write_routers(
                        connection,
                        {e.username.removeprefix(nas.NAS_KEY_PREFIX) for e in routers},
                    )
                sessions = (
                    server._isp_open_sessions(connection, packets.mapped("username"))
                    if packets
                    else {}
                )
        except psycopg2.Error as exc:
            (newest | superseded | packets | routers)._isp_failed(str(exc).strip())
            return
        now = fields.Datetime.now()
        (newest | routers).write({"state": "done", "delivered_at": now, "error": False})
        superseded.write({"state": "superseded", "delivered_at": now})
        for event in packets:
            event._isp_send_packet(server, sessions.get(event.username, []))

    def _isp_failed(self, error):
        """Leave these events pending, to be tried again later."""
        _logger.warning("ISP network delivery failed, will retry: %s", error)
        now = fields.Datetime.now()
        for attempts, events in self.grouped("attempts").items():
            events.write(
                {
                    "attempts": attempts + 1,
                    "error": error,
                    "next_attempt": now
                    + timedelta(seconds=network.retry_delay(attempts + 1)),
                }
            )

    def _isp_send_packet(self, server, sessions):
        """Send this Disconnect-Request or CoA to the routers of the open
        sessions of its user, record each answer, and do what the answers
        say (``core.nas.after_answers``): done, retried later, a
        Disconnect instead of a refused CoA, or given up."""
        self.ensure_one()
        answers, log = [], []
        for session, address, secret, port in sessions:
            if secret:
                answer = send_packet(
                    self.kind,
                    address,
                    port,
                    secret,
                    self.username,
                    session,
                    [tuple(row) for row in self.reply_rows or []],
                )
                text = answer.text
            else:
                answer = nas.Answer(nas.NO_ANSWER)
                text = _(
                    "not sent: no secret for router %(address)s in the RADIUS "
                    "database's nas table",
                    address=address,
                )
            answers.append(answer)
            log.append(
                {
                    "event_id": self.id,
                    "session": session,
                    "router": f"{address}:{port}",
                    "answer": answer.outcome,
                    "error_cause": answer.error_cause or 0,
                    "note": text,
                }
            )
        if log:
            self.env["isp.network.packet"].sudo().create(log)
        template = self.subscription_id.product_id.product_tmpl_id
        step = nas.after_answers(
            self.kind,
            answers,
            self.attempts + 1,
            template.isp_coa_fallback,
            MAX_PACKET_ATTEMPTS,
        )
        summary = "\n".join(
            f"{vals['router']}: {vals['note']}"
            for vals in log
            if vals["answer"] != nas.ACK
        )
        now = fields.Datetime.now()
        if step == nas.DONE:
            self.write({"state": "done", "delivered_at": now, "error": False})
        elif step == nas.RETRY:
            self._isp_failed(summary)
        elif step == nas.FALLBACK:
            self.write(
                {
                    "state": "done",
                    "delivered_at": now,
                    "error": _("%(why)s; disconnected instead.", why=summary),
                }
            )
            self._isp_enqueue(
                [
                    {
                        "server_id": self.server_id.id,
                        "subscription_id": self.subscription_id.id,
                        "username": self.username,
                        "kind": "disconnect",
                    }
                ]
            )
        else:
            self.write(
                {"state": "failed", "attempts": self.attempts + 1, "error": summary}
            )


class IspNetworkPacket(models.Model):
    """One Disconnect-Request or CoA sent to a router for an open session,
    and the router's answer: the network engineer's proof of what reached
    the routers."""

    _name = "isp.network.packet"
    _description = "ISP Disconnect/CoA Request"
    _order = "id desc"

    event_id = fields.Many2one(
        "isp.network.event", required=True, index=True, ondelete="cascade"
    )
    subscription_id = fields.Many2one(related="event_id.subscription_id", store=True)
    company_id = fields.Many2one(related="event_id.company_id", store=True)
    kind = fields.Selection(related="event_id.kind")
    session = fields.Char(help="radacct's Acct-Session-Id.")
    router = fields.Char(help="The router's address and CoA port.")
    answer = fields.Selection(
        [
            (nas.ACK, "Acknowledged"),
            (nas.NAK, "Refused"),
            (nas.NO_ANSWER, "No answer"),
        ],
        required=True,
    )
    error_cause = fields.Integer(help="RFC 5176 Error-Cause of a refusal (0: none).")
    note = fields.Char(string="Answer in Words")
