# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""A real Odoo server, with queue_job's job runner, for the fan-out tests and
the bench's rows (8) and (9).

The jobs of the fan-out are run by queue_job as in production: its runner
(a thread of the server, or a process of its own with ``--workers``) takes the
enqueued jobs from the database and has the server's workers run them over
HTTP (``/queue_job/runjob``). ``OdooServer`` starts such a server on the test
database, on a free loopback port, from the configuration file the tests run
with; ``stop`` ends it as an operator would, ``kill`` as a crash does.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import odoo
from odoo.tools import config

START_TIMEOUT = 120


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def odoo_command():
    """How to start this Odoo: its ``odoo-bin`` (a source install), else the
    ``odoo`` script (a pip install). ``python -m odoo`` would do, but for
    ``--workers``: its long-polling process re-runs ``sys.argv``, which then
    names ``odoo/__main__.py`` and fails to import."""
    odoo_bin = Path(odoo.__file__).resolve().parent.parent / "odoo-bin"
    if odoo_bin.is_file():
        return [sys.executable, str(odoo_bin)]
    script = shutil.which("odoo")
    if script:
        return [script]
    return [sys.executable, "-m", "odoo"]


class OdooServer:
    """``odoo-bin`` on ``db`` with queue_job loaded server-wide: its runner
    runs the jobs, ``channels`` caps how many at once (queue_job's syntax)."""

    def __init__(self, db, workers=0, channels="root:2", log_dir=None):
        self.db = db
        self.workers = workers
        self.channels = channels
        self.port = None
        self.proc = None
        self.log_dir = log_dir or tempfile.mkdtemp(prefix="isp-odoo-server-")
        self.log = Path(self.log_dir, "odoo.log")

    def command(self):
        return [
            *odoo_command(),
            "-c",
            config.rcfile,
            "-d",
            self.db,
            f"--db-filter=^{self.db}$",
            "--no-database-list",
            "--http-interface=127.0.0.1",
            f"--http-port={self.port}",
            f"--gevent-port={free_port()}",
            f"--workers={self.workers}",
            "--max-cron-threads=0",
            "--load=base,web,queue_job",
            f"--logfile={self.log}",
            "--log-level=info",
            "--log-handler=odoo.addons.queue_job.jobrunner:DEBUG",
        ]

    def start(self):
        self.port = free_port()
        env = dict(
            os.environ,
            ODOO_QUEUE_JOB_CHANNELS=self.channels,
            ODOO_QUEUE_JOB_HOST="127.0.0.1",
            ODOO_QUEUE_JOB_PORT=str(self.port),
        )
        self.proc = subprocess.Popen(  # noqa: S603 - our own Odoo, no shell
            self.command(),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Odoo exited at start:\n{self.tail()}")
            try:
                with urllib.request.urlopen(  # noqa: S310 - our own loopback server
                    f"http://127.0.0.1:{self.port}/web/health", timeout=5
                ) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.kill()
        raise RuntimeError(f"Odoo did not answer in {START_TIMEOUT}s:\n{self.tail()}")

    def _signal(self, sig):
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # it just ended
                os.killpg(self.proc.pid, sig)

    def stop(self, timeout=60):
        """End it as an operator does (SIGTERM): running jobs finish."""
        self._signal(signal.SIGTERM)
        if self.proc:
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self):
        """End it as a crash does (SIGKILL, every process of it)."""
        self._signal(signal.SIGKILL)
        if self.proc:
            self.proc.wait(30)

    def tail(self, lines=40):
        try:
            return "\n".join(self.log.read_text().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
