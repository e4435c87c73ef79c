"""The live block of the admin dashboard (README → Observability): what is happening now, from
the same sources as /metrics, and the last hour's calls and reports, in one query."""

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from chat.models import ActiveRoom, CallInvite
from config.metrics import live_numbers
from moderation.models import Report


def live_block() -> dict:
    now = timezone.now()
    hour_ago = now - timedelta(hours=1)
    rooms, invites, reports = (m._meta.db_table for m in (ActiveRoom, CallInvite, Report))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT count(*) FROM {rooms} WHERE status <> %s),"  # noqa: S608 - our table names
            f" (SELECT count(*) FROM {invites} WHERE status = %s AND expires_at > %s),"
            f" (SELECT count(*) FROM {rooms} WHERE started_at >= %s),"
            f" (SELECT count(*) FROM {reports} WHERE created_at >= %s)",
            [ActiveRoom.Status.ENDED, CallInvite.Status.PENDING, now, hour_ago, hour_ago],
        )
        rooms_live, invites_pending, calls, reported = cursor.fetchone()
    return {
        **live_numbers(),
        "rooms_live": rooms_live,
        "invites_pending": invites_pending,
        "calls_last_hour": calls,
        "reports_last_hour": reported,
    }
