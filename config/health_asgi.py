"""GET /healthz answered at the front of the ASGI stack, before Django, from a check that a
thread of its own keeps fresh.

A load balancer polls /healthz on every ASGI process and takes out of service one that answers
late; the process it polls may be busy with a burst of WebSocket handshakes and sign-ins. Every
await in an answer is one more turn of the event loop, and while the loop is busy a turn lasts
as long as all the burst's ready callbacks: through Django an answer took a dozen (the
request_started/finished signals, each sync middleware and the view handed to a thread and
back, the response deadline's task), and a check run on demand one more (its thread, then back).

Here the answer takes no await before it is sent. A keeper thread per process runs the checks
(config.health.run_checks, the same as the Django view's, each bounded by
HEALTH_CHECK_TIMEOUT_SECONDS) every HEALTH_REFRESH_SECONDS, starting at the process's first
/healthz; the answer is its latest result, with its age in seconds in the `Age` header. A
result older than HEALTH_REFRESH_SECONDS + HEALTH_CHECK_TIMEOUT_SECONDS (the keeper is stuck)
is never served: the answer is then a 503 naming every part `error: stale`. So a PostgreSQL or
Redis that dies shows as 503 within HEALTH_REFRESH_SECONDS + HEALTH_CHECK_TIMEOUT_SECONDS.
Until the keeper's first result, the checks run on demand on its thread. Body, status, the
request id, the request metrics and the operator's detail (METRICS_TOKEN) are the Django view's
(config.views.healthz). Anything else (another method, another path) goes on to Django."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

from django.conf import settings

from config.asgi_json import send_json
from config.db_threads import release_connections
from config.health import render, report_for, run_checks
from config.logs import REQUEST_ID_HEADER, request_id_or_new
from config.metrics import count_request, is_metrics_token

logger = logging.getLogger(__name__)

PATH = "/healthz"
STALE = "error: stale: the health keeper has no recent result"


@dataclass(frozen=True)
class Result:
    ok: bool
    report: dict
    at: float  # monotonic, when the checks finished


class Keeper:
    """The process's health keeper: one daemon thread running the checks in a loop."""

    def __init__(self):
        self.latest: Result | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def ensure_started(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="healthz-keeper", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """Stop the thread and forget its result (tests; a process ends with its daemon thread)."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None:
            thread.join(settings.HEALTH_CHECK_TIMEOUT_SECONDS * 3 + 5)
        self.latest = None

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                ok, report = run_checks()
                self.latest = Result(ok, report, time.monotonic())
            except Exception:  # run_checks reports failures itself: this is a bug, and it is logged
                logger.exception("the health keeper's check raised")
            finally:
                release_connections()  # the persistence summary may have used the ORM
            self._stop.wait(max(0.0, started + settings.HEALTH_REFRESH_SECONDS - time.monotonic()))

    def answer(self, operator: bool) -> tuple[int, dict, float] | None:
        """(status, body, age in seconds) from the latest result; None before the first one."""
        latest = self.latest
        if latest is None:
            return None
        age = time.monotonic() - latest.at
        ok, report = latest.ok, latest.report
        if age > settings.HEALTH_REFRESH_SECONDS + settings.HEALTH_CHECK_TIMEOUT_SECONDS:
            ok, report = False, dict.fromkeys(("database", "redis", "migrations"), STALE)
        return *render(ok, report, operator=operator), age


keeper = Keeper()


def _checked_now(operator: bool) -> tuple[int, dict]:
    try:
        return report_for(operator)
    finally:
        release_connections()


def _header(scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return ""


def _given_token(scope) -> str:
    """METRICS_TOKEN as /metrics reads it: a bearer token, else ?token=."""
    header = _header(scope, b"authorization")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[-1]


class HealthFirst:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "GET":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        request_id = request_id_or_new(_header(scope, REQUEST_ID_HEADER.lower().encode()))
        operator = is_metrics_token(_given_token(scope))
        keeper.ensure_started()
        answered = keeper.answer(operator)
        if answered is None:  # the keeper's first check is not done: run one on demand
            status, report = await asyncio.get_running_loop().run_in_executor(None, _checked_now, operator)
            age = 0.0
        else:
            status, report, age = answered
        headers = [
            (b"cache-control", b"max-age=0, no-cache, no-store, must-revalidate, private"),
            (b"age", str(int(age)).encode()),
            (b"x-content-type-options", b"nosniff"),
            (REQUEST_ID_HEADER.lower().encode(), request_id.encode()),
        ]
        await send_json(send, status, json.dumps(report).encode(), headers)
        count_request("healthz", "GET", status, time.perf_counter() - started)
