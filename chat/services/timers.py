"""Room timers: the end at the chosen length, the grace expiry and the text-room inactivity
rule. Whether a room is due is one SQL function, rdv_room_due (chat/sql/room_due.sql), read
with the room (ActiveRoom.objects.with_due); when to look next is ActiveRoom.next_deadline.
Timers are timestamps in
the database, so any process may act on them and a restart loses nothing."""

import logging

from django.db.models import Q
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from chat.models import ActiveRoom, ChatMode
from chat.services.rooms import end_room
from config.realtime import send_to_users

logger = logging.getLogger("rendezvous.chat")


def apply_room_timers(room_id) -> str | None:
    """Apply the room's timers now: end it if due, or send the inactivity warning once.
    Safe to call from any number of processes at once (the end is one statement that locks;
    the warning is one conditional UPDATE), so it needs no transaction of its own."""
    now = timezone.now()
    room = ActiveRoom.objects.with_due(now).filter(pk=room_id).exclude(status=ActiveRoom.Status.ENDED).first()
    return _apply_timers_to(room, now) if room else None


def room_timer_step(room_id):
    """The room timer's one wake-up (the consumer's): apply the timers, then say when to wake
    next (None: the room is over). One read, plus one statement when something is due."""
    now = timezone.now()
    room = ActiveRoom.objects.with_due(now).filter(pk=room_id).exclude(status=ActiveRoom.Status.ENDED).first()
    if room is None:
        return None
    acted = _apply_timers_to(room, now)
    if acted == "warned":
        room.inactivity_warned_at = now
    elif acted or room.due_reason:
        return None  # ended now, or by someone else a moment ago
    return room.next_deadline()


def _apply_timers_to(room: ActiveRoom, now) -> str | None:
    """`room` as read by ActiveRoom.objects.with_due(now)."""
    reason = room.due_reason
    if reason:
        result = end_room(room.pk, reason=reason)
        return reason if result.ended_now else None
    if room.inactivity_warning_due(now):
        unwarned = ActiveRoom.objects.filter(pk=room.pk, inactivity_warned_at__isnull=True).exclude(status="ended")
        warned = unwarned.update(inactivity_warned_at=now)
        if warned:
            ends = room.quiet_since() + ActiveRoom.INACTIVITY_END_AFTER
            send_to_users(
                [room.user_1_id, room.user_2_id],
                {"type": "room.inactivity_warning", "room": str(room.pk), "ends_at": ends.isoformat()},
            )
            return "warned"
    return None


def due_rooms(now, *, limit: int):
    """Ids of live rooms with something due now (an end: rdv_room_due, the one rule; or the
    inactivity warning), soonest first: rooms with nothing due never fill the batch."""
    quiet_since = Least(
        Coalesce("user_1_last_message_at", "started_at"), Coalesce("user_2_last_message_at", "started_at")
    )
    text_rule = Q(chat_mode=ChatMode.TEXT, upgraded_at__isnull=True)
    return (
        ActiveRoom.objects.exclude(status=ActiveRoom.Status.ENDED)
        .with_due(now)
        .annotate(quiet_since=quiet_since)
        .filter(
            Q(due_reason__isnull=False)
            | (
                text_rule
                & Q(inactivity_warned_at__isnull=True, quiet_since__lte=now - ActiveRoom.INACTIVITY_WARNING_AFTER)
            )
        )
        .order_by("ends_at")
        .values_list("pk", flat=True)[:limit]
    )


def end_overdue_rooms(*, limit: int = 200) -> int:
    """Beat task and start-up recovery: act on every live room with something due. Each room
    is its own transaction; any number of workers may run this at once (row locks decide)."""
    acted = 0
    for room_id in list(due_rooms(timezone.now(), limit=limit)):
        try:
            if apply_room_timers(room_id):
                acted += 1
        except Exception:  # one bad room must not stop the sweep
            logger.exception("checking room %s failed", room_id)
    return acted
