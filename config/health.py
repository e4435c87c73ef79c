"""Liveness of the parts the app cannot work without (PostgreSQL, Redis, applied migrations), plus
the last persistence_check summary, reported but never a reason for a 503.

A load balancer polls this every few seconds on every ASGI process, also while a burst of
sockets keeps the process busy, so every check is cheap and bounded
(HEALTH_CHECK_TIMEOUT_SECONDS, default 2 s; docs/operations.md → Health):

- database: `SELECT 1` on a connection of its own (one per process, outside the connection pool,
  so it never waits behind the pool's borrowers), on a thread of its own that the answer waits
  for at most the timeout. A request arriving while a check runs shares its answer; a check
  still stuck past its timeout (a PostgreSQL that accepts but does not answer) is not queued
  behind: the answer is an error at once.
- redis: a write and a read in one round trip on a client of its own with the timeout as its
  socket timeouts (not the shared pool, which waits REDIS_POOL_TIMEOUT for a free connection).
- migrations: the migrations on disk are read once per process (they cannot change under a
  running process: its code is loaded), the applied ones (`django_migrations`, on the health
  connection) at most every HEALTH_MIGRATIONS_CACHE_SECONDS (default 300 s); in between the
  last answer is reused. A new process (a restart, a deploy) reads both again at its first check.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from functools import lru_cache

import psycopg
import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader

logger = logging.getLogger(__name__)


class CheckTimeout(Exception):
    pass


# --- database and migrations: one connection and one thread per process ------------------------

_db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="healthz-db")
_db_lock = threading.Lock()  # guards the two below
_db_pending = None  # the future of the database check still running, if any
_db_started = 0.0  # when it started (monotonic)
_db_connection: psycopg.Connection | None = None
_migrations: dict = {}  # {"checked_at": monotonic, "unapplied": [labels]}, per process


def connection_params() -> dict:
    """psycopg's connect() arguments for the default database, as Django builds them (its pool
    settings left out), with a connect timeout and (not through PgBouncer, which refuses startup
    options) a statement timeout, autocommit, and no prepared statements (so it also works
    through PgBouncer in transaction pooling mode; tests/test_production_topology.py)."""
    params = connections[DEFAULT_DB_ALIAS].get_connection_params()
    timeout_ms = max(1, int(settings.HEALTH_CHECK_TIMEOUT_SECONDS * 1000))
    options = params.pop("options", "")
    if not settings.DB_PGBOUNCER:
        # PgBouncer refuses the `options` startup parameter ("unsupported startup parameter");
        # behind it the check is bounded by the wait on its thread alone.
        params["options"] = f"{options} -c statement_timeout={timeout_ms}".strip()
    params.update(
        connect_timeout=max(2, round(settings.HEALTH_CHECK_TIMEOUT_SECONDS)),  # libpq's least is 2
        autocommit=True,
        prepare_threshold=None,
        application_name="rendezvous-healthz",
    )
    params.pop("cursor_factory", None)  # Django's server-side binding cursor: not needed here
    return params


def _health_connection() -> psycopg.Connection:
    global _db_connection
    if _db_connection is None or _db_connection.closed:
        _db_connection = psycopg.connect(**connection_params())
    return _db_connection


@lru_cache(maxsize=1)
def migrations_on_disk() -> tuple[tuple[str, str, tuple], ...]:
    """Every migration the code has, in plan order, as (app, name, the migrations a squashed
    one replaces). Read once per process: the code on disk is the code that is running."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    seen, ordered = set(), []
    for leaf in loader.graph.leaf_nodes():
        for key in loader.graph.forwards_plan(leaf):
            if key not in seen:
                seen.add(key)
                replaces = tuple(tuple(r) for r in (loader.graph.nodes[key].replaces or ()))
                ordered.append((key[0], key[1], replaces))
    return tuple(ordered)


def _unapplied(applied: set[tuple[str, str]]) -> list[str]:
    return [
        f"{app}.{name}"
        for app, name, replaces in migrations_on_disk()
        if (app, name) not in applied and not (replaces and all(r in applied for r in replaces))
    ]


def _database_and_migrations() -> dict:
    """On the health thread: `SELECT 1`, and the applied migrations when the last look is older
    than HEALTH_MIGRATIONS_CACHE_SECONDS."""
    try:
        conn = _health_connection()
        conn.execute("SELECT 1").fetchone()
        checked_at = _migrations.get("checked_at")
        if checked_at is None or time.monotonic() - checked_at >= settings.HEALTH_MIGRATIONS_CACHE_SECONDS:
            rows = conn.execute("SELECT app, name FROM django_migrations").fetchall()
            _migrations.update(unapplied=_unapplied(set(rows)), checked_at=time.monotonic())
    except Exception:
        if _db_connection is not None:
            _db_connection.close()  # a broken connection is opened anew next time
        raise
    return dict(_migrations)


def check_database_and_migrations() -> dict:
    """The database check's answer (or its exception), waiting at most the timeout from the
    check's start. A request arriving while a check runs shares that check's answer (two load
    balancers probing at once both get it) rather than being refused; one arriving after the
    running check has had its whole timeout is refused at once."""
    global _db_pending, _db_started
    timeout = settings.HEALTH_CHECK_TIMEOUT_SECONDS
    with _db_lock:
        if _db_pending is not None and not _db_pending.done():
            if time.monotonic() - _db_started >= timeout:
                raise CheckTimeout("the previous check is still waiting for the database")
        else:
            _db_pending, _db_started = _db_thread.submit(_database_and_migrations), time.monotonic()
        future, started = _db_pending, _db_started
    try:
        return future.result(timeout=max(0.0, started + timeout - time.monotonic()))
    except FutureTimeout:
        raise CheckTimeout(f"no answer within {timeout:g} s") from None


def forget_process_state() -> None:
    """What a new process starts with: no migration answer, no health connection (tests; a
    restart does the same by starting a new process)."""
    _migrations.clear()
    migrations_on_disk.cache_clear()
    close_connection()


def close_connection() -> None:
    global _db_connection
    with _db_lock:
        if _db_pending is not None and not _db_pending.done():
            return  # still in use; it is closed when its check fails
        if _db_connection is not None:
            _db_connection.close()
            _db_connection = None


# --- Redis -------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _redis_client(url: str, timeout: float) -> redis.Redis:
    pool = redis.BlockingConnectionPool.from_url(
        url, max_connections=2, timeout=timeout, socket_timeout=timeout, socket_connect_timeout=timeout
    )
    return redis.Redis(connection_pool=pool)


def check_redis() -> str:
    """The cache's Redis takes a write and gives it back (one round trip, bounded)."""
    location = settings.CACHES["default"]["LOCATION"]
    url = location[0] if isinstance(location, list | tuple) else location.split(",")[0]
    client = _redis_client(url, settings.HEALTH_CHECK_TIMEOUT_SECONDS)
    key, value = f"rdv:healthz:{os.getpid()}", str(time.time())
    pipe = client.pipeline(transaction=True)
    pipe.set(key, value, ex=10)
    pipe.get(key)
    _, got = pipe.execute()
    if got is None or got.decode() != value:
        raise RuntimeError("redis did not return what was written")
    return "ok"


# --- persistence (reported only) ---------------------------------------------------------------


def check_persistence() -> str:
    """The persistence invariants (operations.invariants), reusing the last run for
    PERSISTENCE_HEALTH_CACHE_SECONDS: "ok" or "violation: rule=count, …". Reported, but it
    does not turn the answer into a 503: the process can serve, and restarting it would not
    mend the data (`manage.py persistence_check` gives the detail)."""
    from operations.invariants import cached_summary

    summary = cached_summary()
    if summary["ok"]:
        return "ok"
    return "violation: " + ", ".join(f"{name}={count}" for name, count in summary["violations"].items())


# Shown in the answer but never the reason for a 503.
REPORTED = {"persistence": check_persistence}


def _error(exc: Exception) -> str:
    return f"error: {type(exc).__name__}: {exc}"[:300]


def public_report(report: dict) -> dict:
    """What anyone may read: each check's state word (ok, applied, error, violation) without
    the reason, which may name hosts, ports, users or tables. The reasons go to the log, and to
    a request that carries METRICS_TOKEN (config.views.healthz)."""
    return {name: value.split(":", 1)[0] for name, value in report.items()}


def report_for(operator: bool) -> tuple[int, dict]:
    """/healthz's status and body from checks run now (render)."""
    return render(*run_checks(), operator=operator)


def render(ok: bool, report: dict, *, operator: bool) -> tuple[int, dict]:
    """/healthz's status and body: 200 when every check passed, else 503; an operator (a request
    with METRICS_TOKEN) reads why a check fails, anyone else its state word. A failing check's
    reason is logged."""
    if report != public_report(report):
        logger.warning("healthz: %s", report, extra={"event": "healthz.failing"})
    return (200 if ok else 503), (report if operator else public_report(report))


def run_checks() -> tuple[bool, dict]:
    """Each check's answer, or "error: <why>" for a failing one; ok is True only if all pass."""
    report, ok = {}, True
    try:
        state = check_database_and_migrations()
    except Exception as exc:  # noqa: BLE001 - a health page reports any failure, it never raises
        ok = False
        report["database"] = report["migrations"] = _error(exc)
    else:
        report["database"] = "ok"
        unapplied = state["unapplied"]
        if unapplied:
            ok = False
            report["migrations"] = f"error: RuntimeError: {len(unapplied)} unapplied: " + ", ".join(unapplied[:5])
        else:
            report["migrations"] = "applied"
    try:
        report["redis"] = check_redis()
    except Exception as exc:  # noqa: BLE001
        ok = False
        report["redis"] = _error(exc)
    report = {name: report[name] for name in ("database", "redis", "migrations")}
    if ok:  # with the database down there is nothing to check
        for name, check in REPORTED.items():
            try:
                report[name] = check()
            except Exception as exc:  # noqa: BLE001
                report[name] = _error(exc)
    return ok, report
