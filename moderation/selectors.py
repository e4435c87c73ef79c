"""Moderation reads used across apps."""

import time
from datetime import timedelta

from django.db.models import Count, Prefetch, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.selectors import ban_status_now
from chat import presence
from moderation.models import AuditLog, IPBan, Report, UserBan


def get_ban_summary(user) -> dict:
    """What a (banned) user may see of their own ban: status and review state, no reporters."""
    record = UserBan.objects.filter(user=user).first()
    return {
        "ban_status": ban_status_now(user),
        "review_status": record.review_status if record else None,
        "reason": record.reason if record else None,
        "banned_at": record.banned_at if record else None,
    }


def pending_bans():
    """The review queue: temporary bans waiting for a moderator, oldest first (partial index
    user_bans_pending_queue), each with the user and every report about them, the reporter
    joined: three queries whatever the page size."""
    reports = Report.objects.select_related("reporter").order_by("created_at")
    return (
        UserBan.objects.filter(review_status=UserBan.ReviewStatus.PENDING)
        .select_related("user")
        .prefetch_related(Prefetch("user__reports_received", queryset=reports, to_attr="queue_reports"))
        .order_by("banned_at", "user_id")
    )


def _per_day(queryset, field: str, days: int, now) -> list[dict]:
    """Rows per UTC day for the last `days` days (oldest first, zeros filled), counted in SQL."""
    first = (now - timedelta(days=days - 1)).date()
    counted = dict(
        queryset.filter(**{f"{field}__date__gte": first})
        .annotate(day=TruncDate(field))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    return [{"day": first + timedelta(days=i), "count": counted.get(first + timedelta(days=i), 0)} for i in range(days)]


BAN_EVENTS = ("ban.temporary", "ban.permanent")


def get_dashboard(*, days: int = 14) -> dict:
    """Reports per day, bans per day (temporary and permanent, from the audit log, which keeps
    every ban even after a record is reviewed or lifted), who is online now (Redis presence)
    and the size of the review queue."""
    now = timezone.now()
    reports = _per_day(Report.objects.all(), "created_at", days, now)
    bans = _per_day(AuditLog.objects.filter(event_type__in=BAN_EVENTS), "created_at", days, now)
    try:
        # One ZCOUNT over the global presence set (entries scored by when they lapse).
        online = presence.redis_client().zcount(presence.ONLINE, time.time(), "+inf")
    except Exception:  # noqa: BLE001 - Redis down: the page still renders
        online = None
    return {
        "days": [
            {"day": r["day"], "reports": r["count"], "bans": b["count"]} for r, b in zip(reports, bans, strict=True)
        ],
        "online_now": online,
        "pending_reviews": UserBan.objects.filter(review_status=UserBan.ReviewStatus.PENDING).count(),
        "active_ip_bans": IPBan.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)).count(),
    }
