"""Live numbers for GET /api/stats/live and the admin dashboard; never per-user data.

Online now comes from Redis presence (one ZCOUNT); in calls now and calls today from
PostgreSQL (the active_room_members primary key and the active_rooms started_at index). The
public answer is cached for LIVE_STATS_CACHE_SECONDS (≤ 5 s) in Redis, so a crowd refreshing
costs one GET each. "Today" is the local day of the event zone (chat.event_mode)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

from chat import presence
from chat.event_mode import get_config
from config.ratelimit import redis_client

logger = logging.getLogger("rendezvous.stats")

CACHE_KEY = "stats:live:v1"


def _online_now() -> int | None:
    try:
        return int(redis_client().zcount(presence.ONLINE, time.time(), "+inf"))
    except Exception:
        logger.warning("live stats: presence unavailable", exc_info=True)
        return None


def compute_live_stats(now: datetime | None = None) -> dict:
    now = now or timezone.now()
    zone = get_config().zone
    local_midnight = datetime.combine(now.astimezone(zone).date(), datetime.min.time(), tzinfo=zone)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT (SELECT count(*) FROM active_room_members),
                   (SELECT count(*) FROM active_rooms WHERE started_at >= %s)
            """,
            [local_midnight.astimezone(UTC)],
        )
        in_calls, calls_today = cursor.fetchone()
    return {
        "online_now": _online_now(),
        "in_calls_now": int(in_calls),
        "calls_today": int(calls_today),
        "timezone": zone.key,
        "computed_at": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }


def live_stats() -> dict:
    """The cached answer (computed at most once per LIVE_STATS_CACHE_SECONDS by any process)."""
    seconds = max(1, min(5, settings.LIVE_STATS_CACHE_SECONDS))
    try:
        cached = cache.get(CACHE_KEY)
    except Exception:  # noqa: BLE001
        cached = None
    if cached is not None:
        return cached
    stats = compute_live_stats()
    try:
        cache.set(CACHE_KEY, stats, timeout=seconds)
    except Exception:
        logger.warning("live stats not cached", exc_info=True)
    return stats


def calls_per_hour(now: datetime | None = None, hours: int = 24) -> list[tuple[datetime, int]]:
    """Calls started in each of the last `hours` hours (UTC hour buckets, oldest first, zeros kept)."""
    now = (now or timezone.now()).astimezone(UTC)
    last = now.replace(minute=0, second=0, microsecond=0)
    first = last - timedelta(hours=hours - 1)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT date_trunc('hour', started_at AT TIME ZONE 'UTC') AS hour, count(*)
            FROM active_rooms WHERE started_at >= %s GROUP BY hour
            """,
            [first],
        )
        counted = {hour.replace(tzinfo=UTC): n for hour, n in cursor.fetchall()}
    return [(first + timedelta(hours=i), counted.get(first + timedelta(hours=i), 0)) for i in range(hours)]


def bar_chart_svg(points: list[tuple[str, int]], *, width: int = 640, height: int = 160, label: str = "") -> str:
    """A small inline SVG bar chart (escaped labels; no script, no style attribute)."""
    top = max([n for _, n in points] + [1])
    n = max(len(points), 1)
    bar = width / n
    chart = height - 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' role="img" aria-label="{escape(label)}" class="rdv-chart">',
        f'<line x1="0" y1="{chart}" x2="{width}" y2="{chart}" stroke="#999" />',
    ]
    for i, (name, count) in enumerate(points):
        h = round(chart * count / top, 1)
        x = round(i * bar + 1, 1)
        parts.append(
            f'<rect x="{x}" y="{round(chart - h, 1)}" width="{round(max(bar - 2, 1), 1)}" height="{h}" fill="#4a7bd0">'
            f"<title>{escape(name)}: {count}</title></rect>"
        )
        if n <= 31 or i % max(1, n // 12) == 0:
            parts.append(
                f'<text x="{round(x + bar / 2, 1)}" y="{height - 6}" font-size="9" text-anchor="middle">'
                f"{escape(name)}</text>"
            )
    parts.append(f'<text x="4" y="10" font-size="10">max {top}</text></svg>')
    return "".join(parts)


def dashboard_charts(days: list[dict]) -> dict:
    """What the admin dashboard adds: the live numbers (uncached) and two inline SVG charts,
    calls per hour over the last 24 h and reports/bans per day (`days` from get_dashboard)."""
    hours = calls_per_hour()
    per_day = [(f"{d['day']:%m-%d}", d["reports"]) for d in days]
    bans = [(f"{d['day']:%m-%d}", d["bans"]) for d in days]
    return {
        "live": compute_live_stats(),
        "calls_per_hour": hours,
        "calls_per_hour_svg": mark_safe(  # noqa: S308 - escaped labels and numbers only
            bar_chart_svg([(f"{h:%H}h", n) for h, n in hours], label="Calls started per hour, last 24 h (UTC)")
        ),
        "reports_per_day_svg": mark_safe(bar_chart_svg(per_day, label="Reports per day"))  # noqa: S308
        if days
        else "",
        "bans_per_day_svg": mark_safe(bar_chart_svg(bans, label="Bans per day")) if days else "",  # noqa: S308
    }
