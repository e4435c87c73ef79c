"""A member's sockets come and go: the 10 s grace when the last one leaves, the resume
when one comes back, and grace for members whose process died without a disconnect."""

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from chat import events, presence
from chat.errors import NotAMember
from chat.models import ActiveRoom, ActiveRoomMember
from chat.selectors import live_room_id_of
from chat.services.common import as_uuid
from chat.services.timers import apply_room_timers
from config.realtime import send_to_users


@transaction.atomic(durable=True)
def mark_disconnected(user: User, *, room_id, only_if_offline: bool = False) -> ActiveRoom | None:
    """The user's last socket is gone: the room waits 10 s (grace) for them to come back.
    only_if_offline (a socket's disconnect): checked again under the room's lock, so a socket
    of theirs that registered meanwhile on another server (a restart's reconnect, whose
    mark_connected waits for this lock) keeps the room active instead of leaving it in grace."""
    room_id = as_uuid(room_id, NotAMember)
    room = ActiveRoom.objects.select_for_update(no_key=True).filter(pk=room_id).exclude(status="ended").first()
    if room is None or str(user.pk) not in (str(room.user_1_id), str(room.user_2_id)):
        return None
    if only_if_offline and presence.is_online(user.pk):
        return None
    side = "user_1_connected" if str(room.user_1_id) == str(user.pk) else "user_2_connected"
    now = timezone.now()
    changes = {side: False}
    if room.status == ActiveRoom.Status.ACTIVE:
        changes.update(status=ActiveRoom.Status.GRACE_PERIOD, grace_period_expires=now + ActiveRoom.GRACE)
    ActiveRoom.objects.filter(pk=room.pk).update(**changes)
    for field, value in changes.items():
        setattr(room, field, value)
    partner_id = room.partner_id(user.pk)
    grace_until = room.grace_period_expires.isoformat() if room.grace_period_expires else None
    # The partner's socket re-arms its room timer on this event, so the grace expiry is acted
    # on to the second; the beat sweep is the backstop when nobody is connected.
    send_to_users([partner_id], {"type": "room.partner_disconnected", "room": str(room.pk), "grace_until": grace_until})
    return room


def start_grace_for_vanished_members(*, limit: int = 500) -> int:
    """Members of active rooms with no live socket in Redis (their process died, so no
    disconnect ran) get the 10 s grace, as if they had disconnected. Online members are
    excluded in SQL, so they never fill the batch. Each one is checked again under the room's
    lock (only_if_offline): a member whose new socket signed in after the online set was read
    (a restart's reconnect) keeps the room active; without it the room would go to grace, and
    end 10 s later, with both members connected."""
    online = presence.online_ids()
    members = (
        ActiveRoomMember.objects.filter(room__status=ActiveRoom.Status.ACTIVE)
        .exclude(user_id__in=online)
        .select_related("user")
        .order_by("room_id", "user_id")[:limit]
    )
    rooms = set()
    for member in members:
        if member.room_id in rooms:
            continue  # the room is in grace already; its other member is told once
        if mark_disconnected(member.user, room_id=member.room_id, only_if_offline=True) is not None:
            rooms.add(member.room_id)
    return len(rooms)


def mark_connected(user: User) -> dict | None:
    """A socket of the user authenticated: if they are in a live room, they are back in it
    (grace lifted when both are connected) and get `room.resume` with the room. Returns the
    resume payload, or None when the user is in no live room (or it was due and ended). Most
    sockets are in no room: that answer is one read, with no transaction around it."""
    if live_room_id_of(user.pk) is None:
        return None
    return _mark_connected(user)


@transaction.atomic(durable=True)
def _mark_connected(user: User) -> dict | None:
    room_id = live_room_id_of(user.pk)
    if room_id is None:
        return None
    now = timezone.now()
    room = ActiveRoom.objects.with_due(now).select_for_update(no_key=True).get(pk=room_id)
    if room.due_reason:
        transaction.on_commit(lambda: apply_room_timers(room_id), robust=True)
        return None
    is_user_1 = str(room.user_1_id) == str(user.pk)
    changes = {"user_1_connected" if is_user_1 else "user_2_connected": True}
    other_connected = room.user_2_connected if is_user_1 else room.user_1_connected
    if room.status == ActiveRoom.Status.GRACE_PERIOD and other_connected:
        changes.update(status=ActiveRoom.Status.ACTIVE, grace_period_expires=None)
    ActiveRoom.objects.filter(pk=room.pk).update(**changes)
    for field, value in changes.items():
        setattr(room, field, value)
    partner = User.objects.get(pk=room.partner_id(user.pk))
    send_to_users([partner.pk], {"type": "room.partner_reconnected", "room": str(room.pk)})
    return events.room_payload(room, for_user_id=user.pk, partner=partner)


def restart_graces() -> int:
    """Start-up after a restart: a room whose grace was running when the servers stopped gets
    its full grace again, counted from now, so the minutes no server was up (and the member's
    client could not reconnect) never end a call. Returns how many rooms were given time."""
    back = timezone.now() + ActiveRoom.GRACE
    return (
        ActiveRoom.objects.filter(status=ActiveRoom.Status.GRACE_PERIOD, grace_period_expires__lt=back)
        .exclude(ends_at__lte=timezone.now())
        .update(grace_period_expires=back)
    )
