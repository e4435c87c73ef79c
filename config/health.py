"""Liveness of the parts the app cannot work without (PostgreSQL, Redis, applied migrations), plus
the last persistence_check summary, reported but never a reason for a 503."""

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor


def check_database() -> str:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def check_redis() -> str:
    cache.set("healthz:ping", "1", timeout=10)
    if cache.get("healthz:ping") != "1":
        raise RuntimeError("redis did not return what was written")
    return "ok"


def check_migrations() -> str:
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise RuntimeError(f"{len(plan)} unapplied: " + ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5]))
    return "applied"


CHECKS = {"database": check_database, "redis": check_redis, "migrations": check_migrations}


def check_persistence() -> str:
    """The persistence invariants (moderation.invariants), reusing the last run for
    PERSISTENCE_HEALTH_CACHE_SECONDS: "ok" or "violation: rule=count, …". Reported, but it
    does not turn the answer into a 503: the process can serve, and restarting it would not
    mend the data (`manage.py persistence_check` gives the detail)."""
    from moderation.invariants import cached_summary

    summary = cached_summary()
    if summary["ok"]:
        return "ok"
    return "violation: " + ", ".join(f"{name}={count}" for name, count in summary["violations"].items())


# Shown in the answer but never the reason for a 503.
REPORTED = {"persistence": check_persistence}


def run_checks() -> tuple[bool, dict]:
    """Each check's answer, or "error: <why>" for a failing one; ok is True only if all pass."""
    report, ok = {}, True
    for name, check in CHECKS.items():
        try:
            report[name] = check()
        except Exception as exc:  # noqa: BLE001 - a health page reports any failure, it never raises
            ok = False
            report[name] = f"error: {type(exc).__name__}: {exc}"[:300]
    if ok:  # with the database down there is nothing to check
        for name, check in REPORTED.items():
            try:
                report[name] = check()
            except Exception as exc:  # noqa: BLE001
                report[name] = f"error: {type(exc).__name__}: {exc}"[:300]
    return ok, report
