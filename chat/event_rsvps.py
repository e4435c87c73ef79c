"""Event RSVPs: a user's "I plan to come that day, around that time", their list, and the
admin's chart of them (chat/event_mode.py has the window they are checked against)."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from chat.event_mode import RSVP_DAYS_AHEAD, SLOT_MINUTES, WEEKDAY_NAMES, get_config, load_config
from chat.models import EventRSVP
from config.errors import InvalidInput


def _rsvp_refusal(field_name: str, message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_rsvp", fields={field_name: [message]})


@transaction.atomic(durable=True)
def rsvp(user, *, day: date, preferred_time: time, now: datetime | None = None) -> EventRSVP:
    """Upsert the user's RSVP for `day` (a local date of the event's zone): not in the past,
    at most 30 days ahead, on an event weekday, the time inside the window. One statement
    (INSERT … ON CONFLICT (user, date) DO UPDATE), so a double submit makes one row."""
    config = load_config()  # the truth, not the snapshot: this writes
    now = now or timezone.now()
    today = now.astimezone(config.zone).date()
    if day < today:
        raise _rsvp_refusal("date", "That date is in the past.")
    if day > today + timedelta(days=RSVP_DAYS_AHEAD):
        raise _rsvp_refusal("date", f"At most {RSVP_DAYS_AHEAD} days ahead.")
    if config.weekdays and day.weekday() not in config.weekdays:
        days = ", ".join(WEEKDAY_NAMES[d] for d in config.weekdays)
        raise _rsvp_refusal("date", f"There is no event that day (events: {days}).")
    preferred_time = preferred_time.replace(second=0, microsecond=0, tzinfo=None)
    if not config.window_start <= preferred_time < config.window_end:
        window = f"{config.window_start:%H:%M}–{config.window_end:%H:%M}"
        raise _rsvp_refusal("preferred_time", f"Pick a time inside the event window ({window}).")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO event_rsvps (user_id, date, preferred_time, created_at, updated_at)
            VALUES (%s, %s, %s, %s, %s)
            ON CONFLICT (user_id, date) DO UPDATE
            SET preferred_time = EXCLUDED.preferred_time,
                -- a parallel first insert may carry a later clock reading than ours
                updated_at = GREATEST(event_rsvps.created_at, EXCLUDED.updated_at)
            RETURNING id
            """,
            [str(user.pk), day, preferred_time, now, now],
        )
        (rsvp_id,) = cursor.fetchone()
    return EventRSVP.objects.get(pk=rsvp_id)


def my_rsvps(user, *, now: datetime | None = None):
    """The user's RSVPs from today (event zone) on, soonest first."""
    config = get_config()
    today = (now or timezone.now()).astimezone(config.zone).date()
    return EventRSVP.objects.filter(user=user, date__gte=today).order_by("date")


@dataclass(frozen=True)
class RSVPChart:
    per_date: list[tuple[date, int]]
    per_slot: list[tuple[str, int]]  # "19:15" → count, every slot of the window
    slot_minutes: int = SLOT_MINUTES
    dates: list[date] = field(default_factory=list)


def rsvp_chart(*, since: date | None = None, day: date | None = None) -> RSVPChart:
    """Counts for the admin chart: per date (from `since`), and per 15-minute slot (all dates
    from `since`, or one `day`), both one GROUP BY on the (date, preferred_time) index."""
    config = load_config()
    since = since or timezone.now().astimezone(config.zone).date()
    with connection.cursor() as cursor:
        cursor.execute("SELECT date, count(*) FROM event_rsvps WHERE date >= %s GROUP BY date ORDER BY date", [since])
        per_date = [(d, n) for d, n in cursor.fetchall()]
        where, params = ("date = %s", [day]) if day else ("date >= %s", [since])
        cursor.execute(
            f"""
            SELECT (extract(hour FROM preferred_time) * 60
                    + floor(extract(minute FROM preferred_time) / %s) * %s)::int AS slot, count(*)
            FROM event_rsvps WHERE {where} GROUP BY slot ORDER BY slot
            """,  # noqa: S608 - `where` is one of two constants
            [SLOT_MINUTES, SLOT_MINUTES, *params],
        )
        counted = dict(cursor.fetchall())
    first = (config.window_start.hour * 60 + config.window_start.minute) // SLOT_MINUTES * SLOT_MINUTES
    last = config.window_end.hour * 60 + config.window_end.minute
    slots = set(range(first, last, SLOT_MINUTES)) | set(counted)
    per_slot = [(f"{m // 60:02d}:{m % 60:02d}", counted.get(m, 0)) for m in sorted(slots)]
    return RSVPChart(per_date=per_date, per_slot=per_slot)


def rsvp_retention_days() -> int:
    return settings.RETENTION_EVENT_RSVPS_DAYS
