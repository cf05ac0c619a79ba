"""Disconnect-Request and CoA-Request (RFC 5176) to a router, with pyrad.

Plain Python; no Odoo import. The delivery job of the network outbox calls
``send_packet`` for a subscriber cut (disconnect) or throttled (coa) in the
middle of a session, and reads its answer (``core.nas.Answer``).
"""

from pathlib import Path

from ..core.nas import ACK, NAK, NO_ANSWER, Answer

DICTIONARY = Path(__file__).resolve().parent / "dictionary.pyrad"
TIMEOUT = 2
RETRIES = 1


def _dictionary():
    from pyrad.dictionary import Dictionary

    return Dictionary(str(DICTIONARY))


def send_packet(kind, address, port, secret, username, session, attributes=()):
    """Send a ``disconnect`` or ``coa`` packet for ``session`` of
    ``username`` to the router at ``address``:``port``. ``attributes`` are
    ``(name, op, value)`` rows added to a CoA (the new rate limit).

    Returns the router's ``Answer``: ACK, NAK with its Error-Cause, or
    NO_ANSWER (a timeout, or a network error).
    """
    from pyrad import packet
    from pyrad.client import Client, Timeout

    client = Client(
        server=address,
        coaport=int(port),
        secret=secret.encode(),
        dict=_dictionary(),
        retries=RETRIES,
        timeout=TIMEOUT,
    )
    code = packet.DisconnectRequest if kind == "disconnect" else packet.CoARequest
    request = client.CreateCoAPacket(code=code)
    request["User-Name"] = username
    request["Acct-Session-Id"] = session
    if kind == "coa":
        for name, _op, value in attributes:
            request[name] = value
    try:
        reply = client.SendPacket(request)
    except (Timeout, OSError):
        return Answer(NO_ANSWER)
    if reply.code in (packet.DisconnectACK, packet.CoAACK):
        return Answer(ACK)
    causes = reply.get("Error-Cause") or [None]
    return Answer(NAK, causes[0])
