# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Test harness of the RADIUS tier: a real FreeRADIUS, never a mock.

``RadiusCase`` starts one ``freeradius`` process per test class, on free
loopback ports, answering from a PostgreSQL database of its own (FreeRADIUS's
schema), and an ``isp.radius.server`` pointing at it. Without FreeRADIUS
installed, the class is skipped and says so.
"""

import os
import shutil
import socket
import threading
import unittest
from datetime import timedelta

from odoo import fields

from odoo.addons.isp_data_recurring.radius import coa

from isp_devtools.fixtures import DELIVER_CRON, IMPORT_CRON, run_cron
from isp_devtools.launcher import RadiusServer
from isp_devtools.pgdb import drop_database

from .common import IspCommon

NAS_SECRET = "nas-secret"
GB = 10**9


class CoaListener:
    """A router's RFC 5176 listener on a free loopback UDP port: it records
    each Disconnect/CoA request it receives and answers it as ``answers``
    says, per request kind ("disconnect", "coa"): "ack" (the default), "nak"
    (with ``error_cause``, when given) or "silent" (no answer)."""

    def __init__(self, answers=None, error_cause=None):
        self.answers = answers or {}
        self.error_cause = error_cause
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received = []
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        from pyrad import packet

        dictionary = coa._dictionary()
        while self.running:
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            request = packet.CoAPacket(
                packet=data, secret=NAS_SECRET.encode(), dict=dictionary
            )
            self.received.append(
                (
                    request.code,
                    {key: request[key] for key in request.keys()},
                )
            )
            disconnect = request.code == packet.DisconnectRequest
            answer = self.answers.get("disconnect" if disconnect else "coa", "ack")
            if answer == "silent":
                continue
            reply = request.CreateReply()
            if answer == "nak":
                reply.code = packet.DisconnectNAK if disconnect else packet.CoANAK
                if self.error_cause:
                    reply["Error-Cause"] = self.error_cause
            else:
                reply.code = packet.DisconnectACK if disconnect else packet.CoAACK
            self.sock.sendto(reply.ReplyPacket(), peer)

    def close(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


class RadiusCase(IspCommon):
    """Fixtures with a running FreeRADIUS and its RADIUS server record."""

    @classmethod
    def setUpClass(cls):
        if not shutil.which("freeradius"):
            raise unittest.SkipTest(
                "RADIUS tier skipped: freeradius is not installed "
                "(apt-get install freeradius freeradius-postgresql freeradius-utils)"
            )
        super().setUpClass()
        cls.radius = RadiusServer(db=f"isp_radius_test_{os.getpid()}")
        cls.radius.start()
        cls.addClassCleanup(drop_database, cls.radius.db)
        cls.addClassCleanup(cls.radius.stop)
        cls.server = cls.env["isp.radius.server"].create(
            {
                "name": "Test RADIUS",
                "dsn": cls.radius.dsn,
                "vendor": "mikrotik",
                "company_id": cls.company.id,
            }
        )
        cls.today = fields.Date.context_today(cls.env["isp.subscription"])

    def setUp(self):
        super().setUp()
        self.listener = CoaListener()
        self.addCleanup(self.listener.close)
        self.radius_sql(
            "TRUNCATE radcheck, radreply, radacct, nas RESTART IDENTITY",
            "INSERT INTO nas (nasname, shortname, type, secret, ports) "
            f"VALUES ('127.0.0.1', 'test-router', 'other', '{NAS_SECRET}', "
            f"{self.listener.port})",
        )

    # -- the RADIUS side ----------------------------------------------------
    def radius_sql(self, *statements, fetch=False):
        with self.radius.connect() as connection, connection.cursor() as cr:
            for statement in statements:
                cr.execute(statement)
            return cr.fetchall() if fetch else None

    def radtest(self, username, password):
        """(accepted, {attribute: value}) of an Access-Request."""
        accepted, reply = self.radius.radtest(username, password)
        return accepted, dict(reply)

    def accounting(self, status, session, username, nas="127.0.0.1", **counters):
        attrs = {
            "Acct-Status-Type": status,
            "Acct-Session-Id": session,
            "User-Name": username,
            "NAS-IP-Address": nas,
            "NAS-Port": 1,
            "Framed-IP-Address": "100.64.0.10",
        }
        names = {
            "input": "Acct-Input-Octets",
            "output": "Acct-Output-Octets",
            "input_gigawords": "Acct-Input-Gigawords",
            "output_gigawords": "Acct-Output-Gigawords",
            "seconds": "Acct-Session-Time",
        }
        attrs.update({names[key]: value for key, value in counters.items()})
        return self.radius.send_accounting(attrs)

    # -- the Odoo side --------------------------------------------------------
    def deliver(self):
        return run_cron(self.env, DELIVER_CRON)

    def import_usage(self):
        return run_cron(self.env, IMPORT_CRON)

    def subscriber(self, name, credit, product=None, start=None):
        """A running subscription of ``product`` (weekly 5 GB), granted for
        the period that starts on ``start`` (today) when the credit covers it."""
        start = start or self.today
        partner = self._create_partner(name, credit=credit, when=start)
        sub = self._subscribe(partner, product or self.weekly_5gb, start=start)
        self.run_cron(start)
        return partner, sub

    def week_ago(self):
        return self.today - timedelta(days=7)


def octets(total):
    """``accounting`` counters of ``total`` input bytes, split as a router
    sends them (gigawords and the low 32 bits)."""
    gigawords, low = divmod(int(total), 2**32)
    return {"input": low, "input_gigawords": gigawords, "output": 0}


def volume(reply):
    """Bytes of MikroTik's volume attributes in a reply."""
    low = int(reply.get("Mikrotik-Total-Limit", 0))
    return int(reply.get("Mikrotik-Total-Limit-Gigawords", 0)) * 2**32 + low
