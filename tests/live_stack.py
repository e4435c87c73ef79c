"""The real server processes (uvicorn ASGI, Celery worker, Celery beat) started as child
processes against the test database and the test Redis, for end-to-end tests: the browser
tests and the kill -9 crash-recovery test.

The test must use `transactional_db` (data written by the test has to be committed for the
children to see it, and what the children write is visible to the test). Each process runs
in its own session, so `kill(name)` can SIGKILL it like a crashed machine would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from chat.protocol import MAX_FRAME_BYTES

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
METRICS_TOKEN = "live-stack-metrics-token"  # the live servers' /metrics token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_database_url() -> str:
    """A DATABASE_URL for the database pytest-django created (host may be a socket dir)."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    host = quote(db["HOST"] or "", safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{db['NAME']}"


class LiveStack:
    """`with LiveStack(tmp_path) as stack:` → stack.url, stack.ws_url; stack.kill("asgi")."""

    def __init__(
        self,
        workdir: Path,
        *,
        processes=("asgi",),
        extra_env: dict | None = None,
        asgi_args: tuple = ("--no-proxy-headers",),
    ):
        self.workdir = Path(workdir)
        self.names = tuple(processes)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws/"
        self.children: dict[str, subprocess.Popen] = {}
        # As `make run` starts it: config.client_ip alone reads X-Forwarded-For.
        self.asgi_args = tuple(asgi_args)
        self.env = {k: v for k, v in os.environ.items() if k != "PYTEST_VERSION" and not k.startswith("PYTEST_")}
        self.env.update(
            DATABASE_URL=test_database_url(),
            REDIS_URL=settings.REDIS_URL,
            CELERY_BROKER_URL=settings.REDIS_URL,
            SECRET_KEY=settings.SECRET_KEY,
            DEBUG="1",
            DB_CONN_MAX_AGE="0",
            MEDIA_ROOT=str(settings.MEDIA_ROOT),
            PYTHONUNBUFFERED="1",
        )
        self.env.pop("TEST_DATABASE_NAME", None)
        # One Prometheus registry for this stack's processes (config/metrics.py), emptied at start;
        # a test may pass its own PROMETHEUS_MULTIPROC_DIR to share one between stacks.
        self.env.update(PROMETHEUS_MULTIPROC_DIR=str(self.workdir / "prometheus"), METRICS_TOKEN=METRICS_TOKEN)
        self.env.update(extra_env or {})
        if "PROMETHEUS_MULTIPROC_DIR" not in (extra_env or {}):
            folder = Path(self.env["PROMETHEUS_MULTIPROC_DIR"])
            folder.mkdir(parents=True, exist_ok=True)
            for path in folder.glob("*.db"):
                path.unlink()

    def command(self, name: str) -> list[str]:
        if name == "asgi":
            return [
                str(BIN / "uvicorn"),
                "config.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                *self.asgi_args,
                "--ws-per-message-deflate",
                "false",
                "--ws-max-size",  # as scripts/stack.py: the protocol's largest frame
                str(MAX_FRAME_BYTES),
            ]
        if name == "worker":
            return [str(BIN / "celery"), "-A", "config", "worker", "-l", "warning", "--concurrency", "2"]
        if name == "beat":
            schedule = self.workdir / "celerybeat-schedule"
            return [str(BIN / "celery"), "-A", "config", "beat", "-l", "warning", "--schedule", str(schedule)]
        raise ValueError(name)

    def start(self, name: str | None = None) -> None:
        for each in [name] if name else self.names:
            log = open(self.workdir / f"{each}.log", "ab")  # noqa: SIM115 - lives as long as the child
            self.children[each] = subprocess.Popen(
                self.command(each), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        if name in (None, "asgi") and "asgi" in self.names:
            self.wait_until_up()

    def wait_until_up(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            child = self.children["asgi"]
            if child.poll() is not None:
                raise RuntimeError(f"asgi exited with {child.returncode}: {self.log('asgi')[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"asgi did not answer /healthz within {timeout}s: {self.log('asgi')[-2000:]}")

    def metrics(self) -> str:
        """The /metrics text of this stack (all its processes, multiprocess mode)."""
        request = urllib.request.Request(f"{self.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.read().decode()

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        child = self.children.get(name)
        if child is not None and child.poll() is None:
            os.killpg(child.pid, sig)  # the whole group: uvicorn/celery children die too
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                if sig == signal.SIGKILL:
                    raise
                # A graceful stop that hangs (e.g. uvicorn waiting on a busy connection) ends
                # as a crash would; what the database was doing is kept in the log for a look.
                self.note(name, f"no exit 15 s after signal {sig}: {self.database_activity()}")
                os.killpg(child.pid, signal.SIGKILL)
                child.wait(timeout=30)

    def note(self, name: str, text: str) -> None:
        with open(self.workdir / f"{name}.log", "a") as log:
            log.write(f"[live_stack] {text}\n")

    def database_activity(self) -> list:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, state, wait_event_type, wait_event, left(query, 200) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return cursor.fetchall()

    def restart(self, name: str) -> None:
        self.kill(name)
        self.start(name)

    def stop(self) -> None:
        for name in list(self.children):
            self.kill(name, signal.SIGTERM)

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def __enter__(self) -> LiveStack:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
