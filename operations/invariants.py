"""The persistence invariants, as SQL aggregates: one function per rule, each
returning how many rows break it (and a few example ids). Shared by `manage.py
persistence_check`, `make run` at start-up and `/healthz` (which reuses the last result for
PERSISTENCE_HEALTH_CACHE_SECONDS, kept in Redis).

Each check is a single aggregate query over indexed columns, so a run costs a few table
scans at most; the results are facts about PostgreSQL only (Redis is never consulted)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

logger = logging.getLogger("rendezvous.persistence")

HEALTH_CACHE_KEY = "persistence_check:last"
EXAMPLES = 5


@dataclass(frozen=True)
class CheckResult:
    name: str
    description: str
    checked: int  # rows looked at
    violations: int
    examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.violations == 0


def _run(sql: str, params: list | None = None) -> tuple[int, int, list[str]]:
    """The query returns (checked, violations, array of example ids)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        checked, violations, examples = cursor.fetchone()
    return int(checked or 0), int(violations or 0), [str(e) for e in (examples or [])][:EXAMPLES]


def timer_totals_match_completions() -> tuple[int, int, list[str]]:
    """users.timer_total_seconds equals the sum of the user's session_completions."""
    return _run(
        """
        SELECT count(*), count(*) FILTER (WHERE u.timer_total_seconds <> COALESCE(c.total, 0)),
               (array_agg(u.id::text) FILTER (WHERE u.timer_total_seconds <> COALESCE(c.total, 0)))[1:5]
        FROM users u
        LEFT JOIN (SELECT user_id, sum(duration_seconds) AS total FROM session_completions GROUP BY user_id) c
               ON c.user_id = u.id
        """
    )


def no_user_in_two_live_rooms() -> tuple[int, int, list[str]]:
    """A user is a member of at most one room that has not ended (either side)."""
    return _run(
        """
        SELECT count(*), count(*) FILTER (WHERE n > 1), (array_agg(uid::text) FILTER (WHERE n > 1))[1:5]
        FROM (
            SELECT uid, count(*) AS n FROM (
                SELECT user_1_id AS uid FROM active_rooms WHERE status <> 'ended'
                UNION ALL
                SELECT user_2_id FROM active_rooms WHERE status <> 'ended'
            ) members GROUP BY uid
        ) per_user
        """
    )


def no_live_room_past_its_end() -> tuple[int, int, list[str]]:
    """No room is still live PERSISTENCE_OVERDUE_GRACE_SECONDS after ends_at (or after its
    disconnect grace expired): the beat sweep (every 2 s) and start-up recovery end them, so
    one left behind means a sweep is not running or lost a room."""
    cutoff = timezone.now() - timezone.timedelta(seconds=settings.PERSISTENCE_OVERDUE_GRACE_SECONDS)
    overdue = "(ends_at < %s OR (status = 'grace_period' AND grace_period_expires < %s))"
    return _run(
        f"""
        SELECT count(*), count(*) FILTER (WHERE {overdue}),
               (array_agg(id::text) FILTER (WHERE {overdue}))[1:5]
        FROM active_rooms WHERE status <> 'ended'
        """,  # noqa: S608 - a constant fragment
        [cutoff, cutoff, cutoff, cutoff],
    )


def every_usc_user_has_a_registration() -> tuple[int, int, list[str]]:
    """A user with a USC card hash, older than PERSISTENCE_USC_GRACE_SECONDS, has the
    usc_card_registrations row for that hash (finalize-registration ran)."""
    cutoff = timezone.now() - timezone.timedelta(seconds=settings.PERSISTENCE_USC_GRACE_SECONDS)
    return _run(
        """
        SELECT count(*), count(*) FILTER (WHERE r.id IS NULL),
               (array_agg(u.id::text) FILTER (WHERE r.id IS NULL))[1:5]
        FROM users u
        LEFT JOIN usc_card_registrations r ON r.user_id = u.id AND r.usc_id_hash = u.usc_id_hash
        WHERE u.usc_id_hash IS NOT NULL AND u.created_at < %s
        """,
        [cutoff],
    )


def invite_code_uses_match_remaining() -> tuple[int, int, list[str]]:
    """For a limited code, max_uses − uses_remaining equals the number of invite_code_uses."""
    return _run(
        """
        SELECT count(*), count(*) FILTER (WHERE c.max_uses - c.uses_remaining <> COALESCE(n.uses, 0)),
               (array_agg(c.code) FILTER (WHERE c.max_uses - c.uses_remaining <> COALESCE(n.uses, 0)))[1:5]
        FROM invite_codes c
        LEFT JOIN (SELECT code, count(*) AS uses FROM invite_code_uses GROUP BY code) n ON n.code = c.code
        WHERE c.max_uses IS NOT NULL
        """
    )


def ended_rooms_have_their_records() -> tuple[int, int, list[str]]:
    """An ended room has a chat_history row for each member (live or archived), and a
    session_completion for each when it lasted ≥ 1 s: ending is one transaction, so a room
    ended without them was ended outside end_room."""
    return _run(
        """
        WITH h AS (
            SELECT room_id, count(*) AS n FROM (
                SELECT room_id FROM chat_history WHERE room_id IS NOT NULL
                UNION ALL
                SELECT room_id FROM archived_chat_history WHERE room_id IS NOT NULL AND restored_at IS NULL
            ) x GROUP BY room_id
        ), c AS (
            SELECT room_id, count(*) AS n, min(duration_seconds) AS seconds
            FROM session_completions WHERE room_id IS NOT NULL GROUP BY room_id
        ), checked AS (
            SELECT r.id,
                   COALESCE(h.n, 0) < 2
                   OR (COALESCE(c.n, 0) < 2
                       AND floor(extract(epoch FROM least(r.ended_at, r.ends_at) - r.started_at)) >= 1) AS bad
            FROM active_rooms r LEFT JOIN h ON h.room_id = r.id LEFT JOIN c ON c.room_id = r.id
            WHERE r.status = 'ended'
        )
        SELECT count(*), count(*) FILTER (WHERE bad), (array_agg(id::text) FILTER (WHERE bad))[1:5] FROM checked
        """
    )


def event_settings_row_is_valid() -> tuple[int, int, list[str]]:
    """At most one event_settings row (id 1), its time zone one PostgreSQL knows as well."""
    return _run(
        """
        SELECT count(*), count(*) FILTER (WHERE bad), (array_agg(id::text) FILTER (WHERE bad))[1:5]
        FROM (SELECT id, id <> 1 OR time_zone NOT IN (SELECT name FROM pg_timezone_names) AS bad
              FROM event_settings) s
        """
    )


def event_rsvp_dates_are_valid() -> tuple[int, int, list[str]]:
    """An RSVP's date was, when written, at most a day before and 31 days after its writing
    (today … 30 days ahead in the event's zone, which is within a day of UTC)."""
    return _run(
        """
        SELECT count(*), count(*) FILTER (WHERE bad), (array_agg(id::text) FILTER (WHERE bad))[1:5]
        FROM (SELECT id, date < (updated_at AT TIME ZONE 'UTC')::date - 1
                      OR date > (updated_at AT TIME ZONE 'UTC')::date + 31 AS bad
              FROM event_rsvps) r
        """
    )


CHECKS: dict[str, Callable[[], tuple[int, int, list[str]]]] = {
    "timer_totals_match_completions": timer_totals_match_completions,
    "no_user_in_two_live_rooms": no_user_in_two_live_rooms,
    "no_live_room_past_its_end": no_live_room_past_its_end,
    "every_usc_user_has_a_registration": every_usc_user_has_a_registration,
    "invite_code_uses_match_remaining": invite_code_uses_match_remaining,
    "ended_rooms_have_their_records": ended_rooms_have_their_records,
    "event_settings_row_is_valid": event_settings_row_is_valid,
    "event_rsvp_dates_are_valid": event_rsvp_dates_are_valid,
}


@dataclass(frozen=True)
class Report:
    results: list[CheckResult]
    checked_at: str
    seconds: float

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def summary(self) -> dict:
        """What /healthz shows: ok, when, and the count per violated rule."""
        return {
            "ok": self.ok,
            "checked_at": self.checked_at,
            "violations": {r.name: r.violations for r in self.results if not r.ok},
        }

    def as_dict(self) -> dict:
        return {**self.summary(), "seconds": self.seconds, "results": [asdict(r) for r in self.results]}


def _run_all() -> list[CheckResult]:
    results = []
    for name, check in CHECKS.items():
        checked, violations, examples = check()
        results.append(CheckResult(name, (check.__doc__ or "").split("\n")[0], checked, violations, examples))
    return results


def run_invariants() -> Report:
    """Every check, in one REPEATABLE READ snapshot when no transaction is open (so the rules
    see one consistent state); stores the summary for /healthz."""
    started = time.monotonic()
    if connection.in_atomic_block:
        results = _run_all()
    else:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            results = _run_all()
    report = Report(results, timezone.now().isoformat(), round(time.monotonic() - started, 3))
    try:
        cache.set(HEALTH_CACHE_KEY, report.summary(), timeout=settings.PERSISTENCE_HEALTH_CACHE_SECONDS)
    except Exception:  # Redis down must not hide the report itself
        logger.warning(
            "persistence_check: could not cache the summary for /healthz",
            exc_info=True,
            extra={"event": "persistence_check.cache_failed"},
        )
    return report


def cached_summary() -> dict:
    """The last run's summary if it is fresh enough, else a new run (for /healthz)."""
    try:
        summary = cache.get(HEALTH_CACHE_KEY)
    except Exception:  # noqa: BLE001 - Redis down: /healthz reports that separately
        summary = None
    if summary is None:
        summary = run_invariants().summary()
    return summary
