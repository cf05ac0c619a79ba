#!/usr/bin/env python3
"""Run a private FreeRADIUS 3 that answers from the PostgreSQL database Odoo writes.

    with RadiusServer(db="isp_radius_test") as srv:   # free loopback ports
        conn = srv.connect()                            # write radcheck/radreply
        accepted, reply = srv.radtest("alice", "secret")
        srv.send_accounting({"Acct-Status-Type": "Start", ...})

CLI (foreground, Ctrl-C or SIGTERM stops it): ``make radius``, which runs

    python3 -m isp_devtools.launcher [--debug] [--workdir DIR]   (tools/ on PYTHONPATH)

knobs: RADIUS_DB (isp_radius), RADIUS_AUTH_PORT (1812), RADIUS_ACCT_PORT (1813),
RADIUS_SECRET (testing123), PGHOST/PGPORT/PGUSER/PGPASSWORD.

The server is Debian's /etc/freeradius/3.0 copied into a private folder, with
the addon's overlay radius/raddb/ on top (see radius/README.md).
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import psycopg2

from .client import radtest, send_accounting, status_server
from .common import (
    DEBIAN_RADDB,
    INSTALL_HINT,
    OVERLAY_DIR,
    FreeradiusNotInstalled,
    RadiusError,
)
from .pgdb import build_dsn, ensure_database, pg_params

# Files of the overlay in which @WORD@ placeholders are filled in.
_PLACEHOLDER = re.compile(r"@([A-Z_]+)@")


def find_freeradius() -> str:
    """Path of the server binary (Debian names it freeradius, others radiusd)."""
    for name in ("freeradius", "radiusd"):
        path = shutil.which(name) or (
            f"/usr/sbin/{name}" if os.access(f"/usr/sbin/{name}", os.X_OK) else None
        )
        if path:
            return path
    raise FreeradiusNotInstalled(INSTALL_HINT)


def free_udp_port(host: str = "127.0.0.1", avoid: Iterable[int] = ()) -> int:
    """A UDP port that is free on `host` right now."""
    avoid = set(avoid)
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in avoid:
            return port
    raise RadiusError("no free UDP port found")


# ------------------------------------------------------------- config build


def _strip_listen_sections(text: str) -> tuple[str, int]:
    """Remove the `listen { ... }` blocks directly inside `server default {`."""
    out, depth, skip_from, removed = [], 0, None, 0
    for line in text.splitlines(keepends=True):
        code = line.split("#", 1)[0]
        delta = code.count("{") - code.count("}")
        if skip_from is None and depth == 1 and re.match(r"\s*listen\s*\{", code):
            skip_from = depth
        if skip_from is not None:
            depth += delta
            if depth == skip_from:
                skip_from = None
                removed += 1
                out.append("#  (isp: listen section removed, see isp-listen)\n")
            continue
        depth += delta
        out.append(line)
    return "".join(out), removed


def _copy_tree(src: Path, dst: Path) -> None:
    """Copy Debian's config (symlinks kept, unreadable files such as private
    keys skipped when not run as root)."""
    for root, dirs, files in os.walk(src):
        rel = Path(root).relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in dirs + files:
            s, d = Path(root) / name, dst / rel / name
            if s.is_symlink():
                os.symlink(os.readlink(s), d)
                if name in dirs:
                    dirs.remove(name)
            elif s.is_file():
                try:
                    shutil.copy2(s, d)
                except PermissionError:
                    pass


def _render(template: str, values: Mapping[str, str]) -> str:
    def sub(m):
        if m.group(1) not in values:
            raise RadiusError(f"unknown placeholder @{m.group(1)}@ in overlay")
        return values[m.group(1)]

    return _PLACEHOLDER.sub(sub, template)


def _conf_string(value: str) -> str:
    """Escape for a double-quoted FreeRADIUS config string."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


# ------------------------------------------------------------------- server


class RadiusServer:
    """A private FreeRADIUS on the loopback, reading/writing PostgreSQL `db`.

    auth_port / acct_port: 0 picks free UDP ports. pg_*: PostgreSQL of Odoo
    (PGHOST/PGPORT/PGUSER/PGPASSWORD, else 127.0.0.1/5432/postgres).
    workdir: where the config copy and logs go (default: a temp dir, removed by
    stop() unless keep_workdir). debug: run `freeradius -X` (full trace in
    the log file). reject_delay: seconds before an Access-Reject (Debian: 1).
    """

    def __init__(
        self,
        db: str = "isp_radius",
        auth_port: int = 0,
        acct_port: int = 0,
        secret: str = "testing123",
        *,
        host: str = "127.0.0.1",
        pg_host: str | None = None,
        pg_port: int | None = None,
        pg_user: str | None = None,
        pg_password: str | None = None,
        workdir: str | os.PathLike | None = None,
        keep_workdir: bool = False,
        debug: bool = False,
        reject_delay: float = 0,
        start_timeout: float = 20.0,
        raddb_source: str | os.PathLike = DEBIAN_RADDB,
        overlay: str | os.PathLike = OVERLAY_DIR,
    ):
        self.db = db
        self.host = host
        self._auth_port = int(auth_port)
        self._acct_port = int(acct_port)
        self._secret = secret
        self._pg = pg_params(pg_host, pg_port, pg_user, pg_password)
        self._workdir_arg = Path(workdir) if workdir else None
        self.keep_workdir = keep_workdir or workdir is not None
        self.debug = debug
        self.reject_delay = reject_delay
        self.start_timeout = start_timeout
        self.raddb_source = Path(raddb_source)
        self.overlay = Path(overlay)
        self.workdir: Path | None = None
        self.proc: subprocess.Popen | None = None
        self._log_fh = None

    # -- properties ---------------------------------------------------------
    @property
    def dsn(self) -> str:
        """libpq string of the RADIUS database (for Odoo / psycopg2.connect)."""
        return build_dsn(self.db, **self._pg)

    @property
    def auth_port(self) -> int:
        return self._auth_port

    @property
    def acct_port(self) -> int:
        return self._acct_port

    @property
    def secret(self) -> str:
        return self._secret

    @property
    def raddb(self) -> Path | None:
        """The private config dir (after start())."""
        return self.workdir / "raddb" if self.workdir else None

    @property
    def log_path(self) -> Path | None:
        """stdout/stderr of freeradius (its log, or the -X trace)."""
        return self.workdir / "freeradius.log" if self.workdir else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- lifecycle ----------------------------------------------------------
    def __enter__(self) -> RadiusServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> RadiusServer:
        if self.running:
            return self
        binary = find_freeradius()
        if not self._auth_port:
            self._auth_port = free_udp_port(self.host, {self._acct_port})
        if not self._acct_port:
            self._acct_port = free_udp_port(self.host, {self._auth_port})
        ensure_database(self.db, **self._pg)
        if self._workdir_arg:
            self.workdir = self._workdir_arg
            self.workdir.mkdir(parents=True, exist_ok=True)
        else:
            self.workdir = Path(tempfile.mkdtemp(prefix="isp-radius-"))
        atexit.register(self.stop)
        try:
            self._build_config()
            argv = [binary, "-X" if self.debug else "-f", "-d", str(self.raddb)]
            if not self.debug:
                argv += ["-l", "stdout"]
            self._log_fh = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=self._log_fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in a terminal goes to us only
                # Odoo writes Expiration dates in UTC; FreeRADIUS reads them in
                # its own timezone.
                env={**os.environ, "TZ": "UTC"},
            )
            self._wait_ready()
        except BaseException:
            # Keep the folder (and its log, named in the error) if it ran.
            self.stop(_keep=self.proc is not None)
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RadiusError(
                    f"freeradius exited with code {self.proc.returncode} at start"
                    f" ({' '.join(self.proc.args)}); end of {self.log_path}:\n"
                    + self.log_tail()
                )
            if (
                status_server(self.host, self._auth_port, self._secret) == 2
                and status_server(self.host, self._acct_port, self._secret) == 5
            ):
                return
            time.sleep(0.1)
        raise RadiusError(
            f"freeradius did not answer on {self.host}:{self._auth_port} within "
            f"{self.start_timeout}s; end of {self.log_path}:\n" + self.log_tail()
        )

    def stop(self, _keep: bool = False) -> None:
        """Terminate freeradius (SIGTERM, then SIGKILL after 10 s)."""
        atexit.unregister(self.stop)
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
            self.proc = None
        if self._log_fh is not None:
            self._log_fh.close()
            self._log_fh = None
        if self.workdir and not (self.keep_workdir or _keep):
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def _build_config(self) -> None:
        raddb = self.raddb
        if raddb.exists():
            shutil.rmtree(raddb)
        if not (self.raddb_source / "radiusd.conf").is_file():
            raise FreeradiusNotInstalled(
                f"{self.raddb_source}/radiusd.conf is missing.\n{INSTALL_HINT}"
            )
        _copy_tree(self.raddb_source, raddb)
        for sub in ("log", "log/radacct", "run"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        # Debian's default virtual server, minus its listen sections.
        default = raddb / "sites-enabled" / "default"
        text = (raddb / "sites-available" / "default").read_text()
        text, removed = _strip_listen_sections(text)
        if not removed:
            raise RadiusError("no listen section found in sites-available/default")
        # Odoo's rules at every Access-Request (radius/raddb/policy.d/isp):
        # right after -sql in authorize, as radius/README.md tells a
        # production server.
        text, count = re.subn(
            r"^(authorize \{.*?^\t-sql\n)",
            r"\1\tisp_authorize\n",
            text,
            count=1,
            flags=re.S | re.M,
        )
        if not count:
            raise RadiusError(
                "no -sql line in the authorize section of the default site"
            )
        default.unlink(missing_ok=True)
        default.write_text(text)
        # EAP's inner server (port 18120) is not used.
        (raddb / "sites-enabled" / "inner-tunnel").unlink(missing_ok=True)
        values = {
            "RADDB": str(raddb),
            "LOGDIR": str(self.workdir / "log"),
            "RUNDIR": str(self.workdir / "run"),
            "LISTEN_ADDR": self.host,
            "AUTH_PORT": str(self._auth_port),
            "ACCT_PORT": str(self._acct_port),
            "SECRET": _conf_string(self._secret),
            "RADIUS_DB": _conf_string(self.dsn),
            "REJECT_DELAY": str(self.reject_delay),
        }
        for src in sorted(self.overlay.rglob("*")):
            if not src.is_file():
                continue
            dst = raddb / src.relative_to(self.overlay)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if dst.is_symlink() or dst.exists():
                dst.unlink()
            dst.write_text(_render(src.read_text(), values))
            dst.chmod(0o640)  # freeradius refuses world-writable config files

    # -- test helpers bound to this server ----------------------------------
    def radtest(self, user, password, **kw) -> tuple[bool, list[tuple[str, str]]]:
        return radtest(
            user, password, host=self.host, port=self._auth_port,
            secret=self._secret, **kw,
        )  # fmt: skip

    def send_accounting(self, attrs) -> str:
        return send_accounting(
            attrs, host=self.host, port=self._acct_port, secret=self._secret
        )

    def connect(self):
        """A psycopg2 connection to the RADIUS database."""
        return psycopg2.connect(self.dsn)


# ---------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        description="Run FreeRADIUS on 127.0.0.1, answering from PostgreSQL "
        "(env: RADIUS_DB, RADIUS_AUTH_PORT, RADIUS_ACCT_PORT, RADIUS_SECRET, "
        "PGHOST, PGPORT, PGUSER, PGPASSWORD)."
    )
    parser.add_argument(
        "--debug", action="store_true", help="freeradius -X (trace in the log)"
    )
    parser.add_argument("--workdir", help="keep config and logs in this folder")
    args = parser.parse_args(argv)

    try:
        find_freeradius()
    except FreeradiusNotInstalled:
        print(INSTALL_HINT, file=sys.stderr)
        return 2

    server = RadiusServer(
        db=os.environ.get("RADIUS_DB", "isp_radius"),
        auth_port=int(os.environ.get("RADIUS_AUTH_PORT", 1812)),
        acct_port=int(os.environ.get("RADIUS_ACCT_PORT", 1813)),
        secret=os.environ.get("RADIUS_SECRET", "testing123"),
        workdir=args.workdir,
        debug=args.debug,
        reject_delay=1,
    )

    def on_sigterm(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        server.start()
    except FreeradiusNotInstalled:
        print(INSTALL_HINT, file=sys.stderr)
        return 2
    except RadiusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        server.stop()
        return 0
    try:
        print(f"FreeRADIUS (pid {server.proc.pid}) on {server.host}", flush=True)
        print(f"  auth port {server.auth_port}, acct port {server.acct_port}")
        print(f"  database DSN: {server.dsn}")
        print(f"  config: {server.raddb}")
        print(f"  log:    {server.log_path}")
        print("Try it (after a radcheck row 'alice Cleartext-Password := secret'):")
        print(
            f"  radtest alice secret {server.host}:{server.auth_port} 0 {server.secret}"
        )
        print("Ctrl-C stops it.", flush=True)
        while server.running:
            time.sleep(0.5)
        print(
            f"freeradius exited (code {server.proc.returncode}):\n" + server.log_tail(),
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("stopping FreeRADIUS", flush=True)
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
