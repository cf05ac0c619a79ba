"""Talk to a RADIUS server as a router would: radclient, radtest, Status-Server.

Plain Python (standard library); no Odoo import. Used by the tests and the
launcher's readiness check.
"""

import hashlib
import hmac
import os
import re
import secrets
import shutil
import socket
import struct
import subprocess
from collections.abc import Mapping

from .common import INSTALL_HINT, FreeradiusNotInstalled, RadiusError, RadiusTimeout


def _find_radclient() -> str:
    path = shutil.which("radclient") or (
        "/usr/bin/radclient" if os.access("/usr/bin/radclient", os.X_OK) else None
    )
    if not path:
        raise FreeradiusNotInstalled(INSTALL_HINT)
    return path


# ----------------------------------------------------------------- radclient

_RECEIVED = re.compile(r"^Received (\S+) Id \d+ from ")
_ATTR_LINE = re.compile(r"^\s+([A-Za-z0-9][A-Za-z0-9_.:-]*) (=|:=|\+=|==) (.*?)\s*$")
_BARE_VALUE = re.compile(r"[A-Za-z0-9_.:-]+")


def _format_value(value) -> str:
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return str(value)
    value = str(value)
    if _BARE_VALUE.fullmatch(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
        value = re.sub(r"\\(.)", r"\1", value)
    return value


def _pairs(attrs) -> list[tuple[str, object]]:
    if attrs is None:
        return []
    if isinstance(attrs, Mapping):
        return list(attrs.items())
    return [(k, v) for k, v in attrs]


def parse_radclient_output(text: str) -> tuple[str | None, list[tuple[str, str]]]:
    """(reply code, [(attribute, value)]) of the last packet radclient received.

    Works with `radclient -x` output: a "Received <Code> Id ..." line then one
    indented "Name = value" line per attribute; string values are unquoted.
    """
    code, reply = None, []
    in_reply = False
    for line in text.splitlines():
        m = _RECEIVED.match(line)
        if m:
            code, reply, in_reply = m.group(1), [], True
            continue
        if not in_reply:
            continue
        m = _ATTR_LINE.match(line)
        if m:
            reply.append((m.group(1), _unquote(m.group(3))))
        else:
            in_reply = False
    return code, reply


def radclient(
    command,
    attrs=None,
    *,
    host="127.0.0.1",
    port=None,
    secret="testing123",
    raddb=None,
    timeout=2.0,
    tries=1,
) -> tuple[str | None, list[tuple[str, str]], str]:
    """Send one packet with the radclient binary.

    command: auth, acct, status, coa, disconnect. attrs: dict or (name, value)
    pairs. raddb: the config dir whose `dictionary` radclient reads (the
    private copy of a RadiusServer knows the overlay's extra attributes).
    timeout: seconds to wait for a reply; tries: sends at most (radclient -r).
    Returns (reply code or None on timeout, reply attributes, radclient output).
    """
    target = f"{host}:{port}" if port else host
    argv = [_find_radclient(), "-x", "-r", str(max(1, tries)), "-t", str(timeout)]
    if raddb:
        argv += ["-d", str(raddb)]
    argv += [target, command, secret]
    stdin = "".join(f"{k} = {_format_value(v)}\n" for k, v in _pairs(attrs))
    proc = subprocess.run(
        argv,
        input=stdin or "\n",
        capture_output=True,
        text=True,
        timeout=timeout * max(1, tries) + 10,
    )
    output = proc.stdout + proc.stderr
    code, reply = parse_radclient_output(output)
    if code is None and "No reply from server" not in output:
        raise RadiusError(
            f"radclient failed (exit {proc.returncode}):\n{output.strip()[-2000:]}"
        )
    return code, reply, output


def radtest(
    user,
    password,
    *,
    host="127.0.0.1",
    port=1812,
    secret="testing123",
    attrs=None,
    raddb=None,
    timeout=2.0,
    tries=1,
    nas_ip="127.0.0.1",
) -> tuple[bool, list[tuple[str, str]]]:
    """PAP Access-Request like `radtest user password host:port 0 secret`.

    Returns (accepted, reply attributes as (name, value) strings). Raises
    RadiusTimeout when the server does not answer.
    """
    pairs = [
        ("User-Name", user),
        ("User-Password", password),
        ("NAS-IP-Address", nas_ip),
        ("NAS-Port", 0),
        ("Message-Authenticator", "0x00"),  # as radtest does (signed request)
        *_pairs(attrs),
    ]
    code, reply, output = radclient(
        "auth",
        pairs,
        host=host,
        port=port,
        secret=secret,
        raddb=raddb,
        timeout=timeout,
        tries=tries,
    )
    if code is None:
        raise RadiusTimeout(f"no reply from {host}:{port}:\n{output.strip()[-1000:]}")
    if code not in ("Access-Accept", "Access-Reject", "Access-Challenge"):
        raise RadiusError(f"unexpected reply {code}:\n{output.strip()[-1000:]}")
    return code == "Access-Accept", reply


def send_accounting(
    attrs,
    *,
    host="127.0.0.1",
    port=1813,
    secret="testing123",
    raddb=None,
    timeout=2.0,
    tries=1,
) -> str:
    """Send an Accounting-Request (attrs: dict or pairs, e.g. Acct-Status-Type,
    Acct-Session-Id, User-Name, NAS-IP-Address, Acct-Input-Octets...).

    Returns the reply code ("Accounting-Response"). FreeRADIUS does not answer
    when it could not store the packet: that raises RadiusTimeout.
    """
    code, _reply, output = radclient(
        "acct",
        attrs,
        host=host,
        port=port,
        secret=secret,
        raddb=raddb,
        timeout=timeout,
        tries=tries,
    )
    if code is None:
        raise RadiusTimeout(f"no reply from {host}:{port}:\n{output.strip()[-1000:]}")
    return code


def status_server(
    host="127.0.0.1", port=1812, secret="testing123", timeout=0.5
) -> int | None:
    """Send a Status-Server (RFC 5997) in pure Python; returns the reply's code
    (2 = Access-Accept, 5 = Accounting-Response) or None without a reply."""
    ident = secrets.randbelow(256)
    authenticator = secrets.token_bytes(16)
    # Message-Authenticator (type 80) is computed over the packet with it zeroed.
    attrs = bytes([80, 18]) + bytes(16)
    length = 20 + len(attrs)
    packet = struct.pack("!BBH", 12, ident, length) + authenticator + attrs
    mac = hmac.new(secret.encode(), packet, hashlib.md5).digest()
    packet = packet[:-16] + mac
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(packet, (host, port))
            data, _ = s.recvfrom(4096)
        except OSError:  # timeout, or ICMP port unreachable
            return None
    if len(data) < 20 or data[1] != ident:
        return None
    return data[0]
