"""Event mode: the app opens at set hours so everyone is online together.

One settings row (chat.models.EventSettings, edited in the admin, audited), read through a
Redis-cached snapshot (one GET per check; replaced after every committed change). The guard
`ensure_event_open` is the one rule the reel, `call.invite` and `call.accept` share (REST and
WebSocket alike), on the server's clock. Windows are local times of an IANA zone turned into
absolute UTC instants day by day, so DST changes and skipped weekdays come out right. A call
already running when the window closes finishes; only new ones are refused.

Also here: access passes (users let in outside the window). RSVPs and their admin chart: chat/event_rsvps.py."""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from audit.services import record_audit
from chat import presence
from chat.errors import NotAvailable
from chat.models import EventAccessPass, EventSettings
from config.errors import Forbidden, InvalidInput, NotFound
from config.realtime import send_to_users

logger = logging.getLogger("rendezvous.events")

CACHE_KEY = "event_mode:settings:v1"
CACHE_SECONDS = 60  # bounds staleness if Redis missed a refresh
RSVP_DAYS_AHEAD = 30
SLOT_MINUTES = 15
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class EventClosed(Forbidden):
    code = "event_closed"
    message = "Rendezvous is open during events only."


# --- the settings snapshot -----------------------------------------------------------------


@dataclass(frozen=True)
class EventConfig:
    enabled: bool = False
    window_start: time = time(19, 0)
    window_end: time = time(22, 0)
    time_zone: str = "America/Los_Angeles"
    weekdays: tuple[int, ...] = ()
    title: str = ""
    banner: str = ""
    updated_at: str | None = None

    @classmethod
    def from_row(cls, row: EventSettings | None) -> EventConfig:
        if row is None:
            return cls()
        return cls(
            enabled=row.enabled,
            window_start=row.window_start,
            window_end=row.window_end,
            time_zone=row.time_zone,
            weekdays=tuple(sorted(set(row.weekdays or ()))),
            title=row.title,
            banner=row.banner,
            updated_at=row.updated_at.isoformat() if row.updated_at else None,
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def public(self) -> dict:
        return {
            "enabled": self.enabled,
            "timezone": self.time_zone,
            "window_start": self.window_start.strftime("%H:%M"),
            "window_end": self.window_end.strftime("%H:%M"),
            "weekdays": list(self.weekdays),
            "title": self.title,
            "banner": self.banner,
        }


def _encode(config: EventConfig) -> dict:
    data = asdict(config)
    data["window_start"], data["window_end"] = config.window_start.isoformat(), config.window_end.isoformat()
    data["weekdays"] = list(config.weekdays)
    return data


def _decode(data: dict) -> EventConfig:
    return EventConfig(
        **{
            **data,
            "window_start": time.fromisoformat(data["window_start"]),
            "window_end": time.fromisoformat(data["window_end"]),
            "weekdays": tuple(data["weekdays"]),
        }
    )


def load_config() -> EventConfig:
    """The settings as stored in PostgreSQL (defaults, mode off, if the row was never saved)."""
    return EventConfig.from_row(EventSettings.objects.filter(pk=1).first())


def get_config() -> EventConfig:
    """The cached snapshot (one Redis GET); on a miss, read PostgreSQL and `add` it (a reader
    never overwrites the snapshot a writer just stored). Redis down: read PostgreSQL."""
    try:
        data = cache.get(CACHE_KEY)
    except Exception:
        logger.warning("event settings cache unavailable", exc_info=True)
        return load_config()
    if data is not None:
        return _decode(data)
    config = load_config()
    try:
        cache.add(CACHE_KEY, _encode(config), timeout=CACHE_SECONDS)
    except Exception:
        logger.warning("event settings cache not stored", exc_info=True)
    return config


def _store_snapshot(config: EventConfig) -> None:
    try:
        cache.set(CACHE_KEY, _encode(config), timeout=CACHE_SECONDS)
    except Exception:
        logger.warning("event settings cache not refreshed", exc_info=True)


# --- windows -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    start: datetime  # UTC
    end: datetime  # UTC
    local_date: date

    def as_dict(self) -> dict:
        return {"start": _iso(self.start), "end": _iso(self.end), "date": self.local_date.isoformat()}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`at` on `day` in `zone`, as UTC. A time inside a DST gap (02:30 on a spring-forward day)
    is read with the offset before the gap (fold=0), i.e. the moment just after it."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def window_on(config: EventConfig, day: date) -> Window | None:
    if config.weekdays and day.weekday() not in config.weekdays:
        return None
    zone = config.zone
    return Window(_local(day, config.window_start, zone), _local(day, config.window_end, zone), day)


def windows_from(config: EventConfig, now: datetime, *, days: int = 9):
    """Windows of the local days from yesterday on (a week covers any weekday set)."""
    today = now.astimezone(config.zone).date()
    for offset in range(-1, days):
        window = window_on(config, today + timedelta(days=offset))
        if window is not None:
            yield window


def current_window(config: EventConfig, now: datetime) -> Window | None:
    return next((w for w in windows_from(config, now) if w.start <= now < w.end), None)


def next_window(config: EventConfig, now: datetime) -> Window | None:
    """The first window starting after `now` (None only if no weekday is set, impossible)."""
    return next((w for w in windows_from(config, now) if w.start > now), None)


def is_open(config: EventConfig, now: datetime) -> bool:
    """Open for everyone: event mode off, or inside a window."""
    return not config.enabled or current_window(config, now) is not None


def has_pass(user) -> bool:
    return bool(user and user.pk) and EventAccessPass.objects.filter(user_id=user.pk).exists()


def ensure_event_open(user, now: datetime | None = None, *, partner=None) -> None:
    """The guard: raise EventClosed (403, with next_start/next_end in UTC and the zone) while
    event mode is on and no window is open, unless the user has an access pass. Costs one
    Redis GET when open; the pass lookup (one indexed query) only when closed. With
    `partner` (the id of the person invited), a pass holder may invite only another pass
    holder while closed (anyone else could not accept): NotAvailable otherwise."""
    config = get_config()
    now = now or timezone.now()
    if is_open(config, now):
        return
    if has_pass(user):
        if partner is not None and not _partner_has_pass(partner):
            raise NotAvailable("They can join calls during events only.")
        return
    upcoming = next_window(config, now)
    raise EventClosed(
        _closed_message(config, upcoming),
        next_start=_iso(upcoming.start) if upcoming else None,
        next_end=_iso(upcoming.end) if upcoming else None,
        timezone=config.time_zone,
    )


def _partner_has_pass(partner) -> bool:
    try:
        partner_id = uuid.UUID(str(partner))
    except (TypeError, ValueError):
        return True  # not an id: the service refuses it with its own message
    return EventAccessPass.objects.filter(user_id=partner_id).exists()


def _closed_message(config: EventConfig, upcoming: Window | None) -> str:
    title = config.title or "Rendezvous"
    if upcoming is None:
        return f"{title} is closed."
    local = upcoming.start.astimezone(config.zone)
    return f"{title} is closed; it opens {local:%A %Y-%m-%d %H:%M} ({config.time_zone})."


def event_status(user=None, now: datetime | None = None) -> dict:
    """GET /api/events/status: mode, open now, today's and the next window, the banner; with
    a signed-in user, whether they may enter now."""
    config = get_config()
    now = now or timezone.now()
    current = current_window(config, now) if config.enabled else None
    today = window_on(config, now.astimezone(config.zone).date()) if config.enabled else None
    upcoming = next_window(config, now) if config.enabled else None
    body = {
        **config.public(),
        "active": current is not None,
        "open": not config.enabled or current is not None,
        "now": _iso(now),
        "today": today.as_dict() if today else None,
        "current": current.as_dict() if current else None,
        "next": upcoming.as_dict() if upcoming else None,
        "may_enter": None,
    }
    if user is not None and user.is_authenticated:
        body["may_enter"] = body["open"] or has_pass(user)
    return body


# --- settings writes (admin) ---------------------------------------------------------------


def validate_time_zone(name: str) -> str:
    """An IANA zone zoneinfo knows (not a fixed list); raises InvalidInput."""
    name = (name or "").strip()
    message = "Not an IANA time zone (e.g. America/Los_Angeles)."
    if not name or name != name.strip("/") or ".." in name:
        raise InvalidInput(message, fields={"timezone": [message]})
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError) as exc:
        raise InvalidInput(message, fields={"timezone": [message]}) from exc
    return name


def time_zone_choices() -> list[str]:
    return sorted(available_timezones())


def validate_weekdays(values) -> list[int]:
    try:
        days = sorted({int(v) for v in (values or [])})
    except (TypeError, ValueError) as exc:
        raise InvalidInput("Weekdays are 0 (Monday) … 6 (Sunday).", fields={"weekdays": ["Not a weekday."]}) from exc
    if any(not 0 <= d <= 6 for d in days):
        raise InvalidInput("Weekdays are 0 (Monday) … 6 (Sunday).", fields={"weekdays": ["Not a weekday."]})
    return days


FIELDS = ("enabled", "window_start", "window_end", "time_zone", "weekdays", "title", "banner")


@transaction.atomic(durable=True)
def update_settings(*, moderator, ip: str | None = None, **changes) -> EventSettings:
    """Save the settings row (created on first save) with an audit row listing what changed,
    then, after commit, replace the cached snapshot and push `event.settings_changed` (the
    new public status) to every online user. A save that changes nothing writes nothing."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown settings: {', '.join(sorted(unknown))}.")
    if "time_zone" in changes:
        changes["time_zone"] = validate_time_zone(changes["time_zone"])
    if "weekdays" in changes:
        changes["weekdays"] = validate_weekdays(changes["weekdays"])
    EventSettings.objects.get_or_create(pk=1)
    row = EventSettings.objects.select_for_update().get(pk=1)
    start, end = changes.get("window_start", row.window_start), changes.get("window_end", row.window_end)
    if not start < end:
        message = "The window must start before it ends, on the same day (it may not cross midnight)."
        raise InvalidInput(message, fields={"window_end": [message]})
    before = EventConfig.from_row(row)
    diff = {}
    for name, value in changes.items():
        if getattr(row, name) != value:
            diff[name] = {"from": _jsonable(getattr(row, name)), "to": _jsonable(value)}
            setattr(row, name, value)
    if not diff:
        return row
    row.updated_at, row.updated_by = timezone.now(), moderator
    row.save()
    record_audit("event_settings.changed", actor=moderator, ip=ip, details={"changes": diff})
    config = EventConfig.from_row(row)
    transaction.on_commit(lambda: _store_snapshot(config), robust=True)
    _push_settings_changed()
    logger.warning("event settings changed by %s: %s (was enabled=%s)", getattr(moderator, "pk", None), diff, before)
    return row


def _jsonable(value):
    return value.isoformat() if isinstance(value, time) else value


def _push_settings_changed() -> None:
    """After commit, every user with a live socket gets the new public status (their own
    may_enter is re-read by the client from GET /api/events/status)."""

    def push():
        try:
            ids = presence.online_ids()
        except Exception:
            logger.warning("event.settings_changed not pushed: presence unavailable", exc_info=True)
            return
        status = event_status(now=timezone.now())
        status.pop("may_enter")
        event = {"type": "event.settings_changed", "status": status}
        # Chunks keep each on_commit hand-over small; send_to_users runs now (no transaction).
        for i in range(0, len(ids), 500):
            send_to_users(ids[i : i + 500], event)

    transaction.on_commit(push, robust=True)


@transaction.atomic(durable=True)
def grant_pass(user_id, *, moderator, note: str = "", ip: str | None = None) -> EventAccessPass:
    """Let a user in outside the event window (audited). Granting twice keeps the first pass."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound("No such user.")
    existing = EventAccessPass.objects.filter(user=user).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            grant = EventAccessPass.objects.create(user=user, note=note[:200], granted_by=moderator)
    except IntegrityError:  # granted in parallel
        return EventAccessPass.objects.get(user=user)
    record_audit("event_access.granted", actor=moderator, target=user, ip=ip, details={"note": grant.note})
    return grant


@transaction.atomic(durable=True)
def revoke_pass(user_id, *, moderator, ip: str | None = None) -> bool:
    deleted, _ = EventAccessPass.objects.filter(user_id=user_id).delete()
    if deleted:
        record_audit("event_access.revoked", actor=moderator, target=User.objects.filter(pk=user_id).first(), ip=ip)
    return bool(deleted)
