"""RADIUS spoken as a router does, with pyrad (as the addon's CoA sender):
an Access-Request (what ``radtest`` sends), an Accounting-Request, and a
Status-Server (RFC 5997, the launcher's readiness probe)."""

import functools
from collections.abc import Mapping
from pathlib import Path

from pyrad import packet
from pyrad.client import Client, Timeout
from pyrad.dictionary import Dictionary

from .common import PRODUCT_DICTIONARY, RadiusError, RadiusTimeout

# The addon's attributes (those of a CoA), then what a router also sends and
# FreeRADIUS answers.
TOOLS_DICTIONARY = Path(__file__).with_name("dictionary.pyrad")


@functools.cache
def dictionary():
    return Dictionary(str(PRODUCT_DICTIONARY), str(TOOLS_DICTIONARY))


def _exchange(host, port, secret, make, timeout=2.0):
    """Send the request ``make(client)`` builds; returns the reply."""
    client = Client(
        server=host,
        authport=port,
        acctport=port,
        secret=secret.encode(),
        dict=dictionary(),
        retries=1,
        timeout=timeout,
    )
    try:
        return client.SendPacket(make(client))
    except Timeout:
        raise RadiusTimeout(f"no reply from {host}:{port}") from None
    finally:
        client._CloseSocket()  # pyrad has no public close


def _fill(request, attrs):
    for name, value in attrs.items() if isinstance(attrs, Mapping) else attrs:
        request[name] = value
    return request


def radtest(
    user, password, *, host="127.0.0.1", port=1812, secret="testing123", attrs=()
) -> tuple[bool, list[tuple[str, str]]]:
    """A PAP Access-Request as ``radtest user password host:port 0 secret``
    sends it. Returns (accepted, the reply's attributes as (name, text))."""

    def make(client):
        request = client.CreateAuthPacket(
            User_Name=user, NAS_IP_Address="127.0.0.1", NAS_Port=0
        )
        request["User-Password"] = request.PwCrypt(password)
        return _fill(request, attrs)

    reply = _exchange(host, port, secret, make)
    if reply.code not in (packet.AccessAccept, packet.AccessReject):
        raise RadiusError(f"unexpected reply code {reply.code} from {host}:{port}")
    pairs = [(str(name), str(value)) for name in reply.keys() for value in reply[name]]
    return reply.code == packet.AccessAccept, pairs


def send_accounting(attrs, *, host="127.0.0.1", port=1813, secret="testing123") -> str:
    """An Accounting-Request (``attrs``: Acct-Status-Type, Acct-Session-Id,
    User-Name, Acct-Input-Octets, ...). FreeRADIUS answers only once it stored
    the packet: no answer raises RadiusTimeout."""
    reply = _exchange(
        host, port, secret, lambda client: _fill(client.CreateAcctPacket(), attrs)
    )
    if reply.code != packet.AccountingResponse:
        raise RadiusError(f"unexpected reply code {reply.code} from {host}:{port}")
    return "Accounting-Response"


def status_server(host="127.0.0.1", port=1812, secret="testing123", timeout=0.5):
    """The code of the reply to a Status-Server (2 = Access-Accept on an auth
    port, 5 = Accounting-Response on an acct port), or None without one."""
    try:
        return _exchange(
            host,
            port,
            secret,
            lambda client: client.CreateAuthPacket(code=packet.StatusServer),
            timeout,
        ).code
    except (RadiusTimeout, OSError):  # no answer, or ICMP port unreachable
        return None
