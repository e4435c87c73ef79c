"""Realtime writes: invites, rooms, messages and the bookkeeping of a finished call (SPEC §6).

Every function here is one transaction that locks the rows deciding its outcome, then
checks. The hot ones (invite, accept, decline/cancel, message, end) are one statement each: a
PL/pgSQL function from chat migrations 0004/0005, which is the rule (docs/hot-path.md); the
Python here checks arguments, calls it and turns its outcome into errors and events. Events go
out only after commit (config.realtime.send_to_users). Timers are timestamps in the database,
so any process may act on them and a restart loses nothing."""

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from accounts.errors import NoAccess
from accounts.models import User
from accounts.services.access import SESSIONS_FOR_UNLOCK, SUCCESSFUL_SESSION_SECONDS
from chat import events, presence
from chat.errors import (
    AlreadyInRoom,
    Busy,
    InvalidMessage,
    InviteExpired,
    InviteNotFound,
    InviteNotPending,
    InvitePending,
    NotAllowedNow,
    NotAMember,
    NotAvailable,
    OnCooldown,
    RoomEnded,
    TooFast,
)
from chat.event_mode import ensure_event_open
from chat.models import (
    MAX_CALL_SECONDS,
    MIN_CALL_SECONDS,
    ActiveRoom,
    ActiveRoomMember,
    CallInvite,
    ChatMode,
    Cooldown,
    TextChatMessage,
)
from chat.selectors import live_room_id_of
from config.errors import ServiceError
from config.realtime import send_to_users
from config.transactions import durable_then_raise

logger = logging.getLogger("rendezvous.chat")

MESSAGE_SPACING = timedelta(seconds=1.5)
INACTIVITY_WARNING_AFTER = timedelta(seconds=60)
INACTIVITY_END_AFTER = timedelta(seconds=120)
UPGRADE_AFTER = timedelta(seconds=60)


# --- helpers -------------------------------------------------------------------------------


def _seconds(value) -> int:
    try:
        seconds = int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidMessage("seconds must be a whole number.") from exc
    if not MIN_CALL_SECONDS <= seconds <= MAX_CALL_SECONDS:
        raise InvalidMessage(f"seconds must be between {MIN_CALL_SECONDS} and {MAX_CALL_SECONDS}.")
    return seconds


def _notify_invite(invite: CallInvite, event_type: str) -> None:
    send_to_users([invite.from_user_id, invite.to_user_id], {"type": event_type, **events.invite_payload(invite)})


# --- invites -------------------------------------------------------------------------------


SEND_INVITE_SQL = "SELECT * FROM rdv_send_invite(%s::uuid, %s::uuid, %s, %s, %s, %s, %s)"
INVITE_REFUSALS = {
    "not_available": NotAvailable,
    "already_in_room": lambda: AlreadyInRoom("Leave your current call first."),
    "busy": Busy,
    "on_cooldown": OnCooldown,
    "invite_pending": InvitePending,
}


def _json(value):
    """A jsonb column from a raw cursor (Django's connection loads jsonb as text)."""
    return json.loads(value) if isinstance(value, str) else value


def _notify_invites(payloads, event_type: str) -> None:
    for payload in _json(payloads) or []:
        send_to_users([payload["from"], payload["to"]], {"type": event_type, **payload})


def send_invite(caller: User, *, to, mode: str, seconds) -> CallInvite:
    """call.invite: a 20-second invite to someone online, available, with access, not in a
    call, not on cooldown and not reported by the caller. One statement (rdv_send_invite, the
    rule) that locks both users (pk order), so two people inviting each other at once get one
    invite and one `busy`. Presence (Redis) is read first and passed in."""
    ensure_event_open(caller, partner=to)  # event mode: no new calls outside the window (chat.event_mode)
    if mode not in ChatMode.values:
        raise InvalidMessage("mode must be video or text.")
    seconds = _seconds(seconds)
    if str(to) == str(caller.pk):
        raise InvalidMessage("You cannot invite yourself.")
    to = _as_uuid(to, NotAvailable)
    present = presence.is_online(to) and presence.is_available(to, mode)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(SEND_INVITE_SQL, [str(caller.pk), str(to), mode, seconds, now, CallInvite.TTL, present])
        outcome, detail, invite_id, expires_at, expired, name, gender, selfie, video = cursor.fetchone()
    _notify_invites(expired, "call.expired")
    if outcome == "no_access":
        raise NoAccess(access_status=detail)
    if outcome != "created":
        raise INVITE_REFUSALS[outcome]()
    card = User(id=caller.pk, name=name, gender=gender, selfie=selfie or None, video=video or None)
    invite = CallInvite(
        id=invite_id,
        from_user_id=caller.pk,
        to_user_id=to,
        chat_mode=mode,
        requested_seconds=seconds,
        status=CallInvite.Status.PENDING,
        created_at=now,
        expires_at=expires_at,
    )
    invite._state.adding = False
    incoming = {"type": "call.incoming", **events.invite_payload(invite), "caller": events.user_card(card)}
    send_to_users([to], incoming)
    logger.info("invite %s %s -> %s %s %ss", invite.pk, caller.pk, to, mode, seconds)
    return invite


def _as_uuid(value, error: type[Exception]) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError) as exc:
        raise error() from exc


ACCEPT_SQL = "SELECT * FROM rdv_accept_invite(%s::uuid, %s::uuid, %s, %s)"
SETTLE_SQL = "SELECT * FROM rdv_settle_invite(%s::uuid, %s::uuid, %s, %s, %s, %s, %s)"
SETTLED_REFUSALS = {"not_found": InviteNotFound, "expired": InviteExpired, "not_pending": InviteNotPending}


def accept_invite(callee: User, *, invite_id, seconds):
    """call.accept: in one statement (rdv_accept_invite, the rule), lock both users and the
    invite, check neither is in a call, create the room (length = floor of the mean of both
    choices), mark the invite accepted, cancel their other invites, and tell both `room.start`
    after commit. A retry of the same accept returns the same room. An invite past its 20 s is
    marked expired (committed) and refused with 410."""
    ensure_event_open(callee)  # event mode: no new calls outside the window (chat.event_mode)
    seconds = _seconds(seconds)
    invite_id = _as_uuid(invite_id, InviteNotFound)
    with connection.cursor() as cursor:
        started_at = timezone.now()
        cursor.execute(ACCEPT_SQL, [str(callee.pk), str(invite_id), seconds, started_at])
        outcome, room_id, caller_id, duration, notify, mode, cards = cursor.fetchone()
    if outcome == "retry":
        return ActiveRoom.objects.get(pk=room_id)
    if outcome == "expired":
        _notify_invites(notify, "call.expired")
        raise InviteExpired()
    if outcome == "not_available":
        raise NotAvailable()
    if outcome == "already_in_room":
        raise AlreadyInRoom()
    if outcome != "accepted":
        raise SETTLED_REFUSALS[outcome]()
    _notify_invites(notify, "call.cancelled")
    room = ActiveRoom(
        id=room_id,
        user_1_id=caller_id,
        user_2_id=callee.pk,
        chat_mode=mode,
        duration_seconds=duration,
        started_at=started_at,
        ends_at=started_at + timedelta(seconds=duration),
        status=ActiveRoom.Status.ACTIVE,
        user_1_connected=True,
        user_2_connected=True,
    )
    room._state.adding = False
    cards = _json(cards)
    caller, callee = (User(id=uid, **cards[str(uid)]) for uid in (caller_id, callee.pk))
    for user, partner in ((caller, callee), (callee, caller)):
        payload = events.room_payload(room, for_user_id=user.pk, partner=partner)
        send_to_users([user.pk], {"type": "room.start", **payload})
    logger.info("room %s started %s + %s %ss", room.pk, caller.pk, callee.pk, duration)
    return room


def _settle_invite(user: User, invite_id, *, side: str, status: str, cooldown: timedelta, reason: str, event: str):
    """Decline (callee) or cancel (caller) a pending invite in one statement (rdv_settle_invite):
    the pair gets a cooldown and the other side is told. A retry of the same answer returns
    the invite unchanged."""
    invite_id = _as_uuid(invite_id, InviteNotFound)
    with connection.cursor() as cursor:
        cursor.execute(SETTLE_SQL, [str(user.pk), str(invite_id), side, status, cooldown, reason, timezone.now()])
        outcome, payload, notify = cursor.fetchone()
    if outcome == "expired":
        _notify_invites(notify, "call.expired")
    if outcome not in ("same", "settled"):
        raise SETTLED_REFUSALS[outcome]()
    invite = CallInvite.objects.get(pk=invite_id) if outcome == "same" else None
    if outcome == "settled":
        _notify_invites([_json(payload)], event)
        invite = CallInvite.objects.get(pk=invite_id)
    return invite


def decline_invite(callee: User, *, invite_id):
    """call.decline: the pair gets a 24-hour cooldown; the caller is told."""
    return _settle_invite(
        callee,
        invite_id,
        side="to",
        status=CallInvite.Status.DECLINED,
        cooldown=Cooldown.DECLINED_TTL,
        reason=Cooldown.Reason.DECLINED,
        event="call.declined",
    )


def cancel_invite(caller: User, *, invite_id):
    """call.cancel: the pair gets a 1-hour cooldown; the callee is told."""
    return _settle_invite(
        caller,
        invite_id,
        side="from",
        status=CallInvite.Status.CANCELLED,
        cooldown=Cooldown.CANCELLED_TTL,
        reason=Cooldown.Reason.CANCELLED,
        event="call.cancelled",
    )


@transaction.atomic(durable=True)
def expire_invite(invite_id) -> bool:
    """At an invite's 20 s (the caller's socket sets a timer): mark it expired if it is still
    pending, and tell both. Idempotent; the sweep does the same for invites nobody timed."""
    now = timezone.now()
    invite = (
        CallInvite.objects.select_for_update(skip_locked=True)
        .filter(pk=_as_uuid(invite_id, InviteNotFound), status="pending", expires_at__lte=now)
        .first()
    )
    if invite is None:
        return False
    CallInvite.objects.filter(pk=invite.pk).update(status=CallInvite.Status.EXPIRED, responded_at=now)
    invite.status = CallInvite.Status.EXPIRED
    _notify_invite(invite, "call.expired")
    return True


@transaction.atomic(durable=True)
def expire_invites(*, limit: int = 500) -> int:
    """Sweep: mark pending invites past their 20 s as expired and tell both sides. Tidying
    only: every reader already treats them as expired by their timestamp."""
    now = timezone.now()
    stale = list(
        CallInvite.objects.select_for_update(skip_locked=True)
        .filter(status="pending", expires_at__lte=now)
        .order_by("expires_at")[:limit]
    )
    if not stale:
        return 0
    CallInvite.objects.filter(pk__in=[i.pk for i in stale], status="pending").update(
        status=CallInvite.Status.EXPIRED, responded_at=now
    )
    for invite in stale:
        invite.status = CallInvite.Status.EXPIRED
        _notify_invite(invite, "call.expired")
    return len(stale)


# --- rooms ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EndResult:
    room_id: uuid.UUID
    ended_now: bool  # False when it had already ended (the call was a no-op)

    @cached_property
    def room(self) -> ActiveRoom:
        return ActiveRoom.objects.get(pk=self.room_id)


END_ROOM_SQL = "SELECT * FROM rdv_end_room(%s::uuid, %s, %s, %s, %s, %s, %s, %s)"


def end_room_args(room_id, reason: str, now) -> list:
    """The arguments of rdv_end_room (chat migration 0004, the rule): the thresholds from here,
    and an invite code for each user in case this call unlocks them (unused otherwise)."""
    from referrals.models import InviteCode
    from referrals.services import INVITE_CODE_LENGTH, random_code

    assert InviteCode.USER_CODE_USES == 4  # rdv_apply_session_unlock writes 4
    return [
        str(room_id),
        reason,
        now,
        SUCCESSFUL_SESSION_SECONDS,
        SESSIONS_FOR_UNLOCK,
        Cooldown.SESSION_END_TTL,
        random_code(INVITE_CODE_LENGTH),
        random_code(INVITE_CODE_LENGTH),
    ]


def end_room_events(room_id, reason: str, rows) -> list[tuple[list, dict]]:
    """What rdv_end_room's rows mean: the pushes of a room that ended now (none otherwise)."""
    if rows[0][0] != "ended":
        return []
    users = [str(row[2]) for row in rows]
    pushes = [(users, {"type": "room.ended", "room": str(room_id), "reason": reason})]
    for _, _, user_id, total, count, successful, unlocked, access in rows:
        metrics = {
            "timer_total_seconds": total,
            "session_count": count,
            "successful_sessions": successful,
            "qr_unlocked": unlocked,
            "access_status": access,
        }
        pushes.append(([str(user_id)], {"type": "me.metrics", **metrics}))
    return pushes


def end_room(room_id, *, reason: str) -> EndResult:
    """End a room exactly once, with all the bookkeeping for both users in one transaction (one
    statement, rdv_end_room): status ended; per user a session_completion (if ≥ 1 s), a
    chat_history row with the message snapshot, timer_total_seconds += seconds spent,
    session_count, successful_sessions (≥ 30 s) and the QR unlock; a 24-hour cooldown for the
    pair. Both get `room.ended{reason}` and `me.metrics` after commit. Ending twice is a no-op.
    Inside a caller's transaction it is part of it; alone it is its own (autocommit)."""
    room_id = _as_uuid(room_id, NotAMember)
    with connection.cursor() as cursor:
        cursor.execute(END_ROOM_SQL, end_room_args(room_id, reason, timezone.now()))
        rows = cursor.fetchall()
    if rows[0][0] == "not_found":
        raise NotAMember()
    for user_ids, event in end_room_events(room_id, reason, rows):
        send_to_users(user_ids, event)
    if rows[0][0] == "ended":
        logger.info("room %s ended reason=%s spent=%ss", room_id, reason, rows[0][1])
    return EndResult(room_id, ended_now=rows[0][0] == "ended")


def end_room_by_member(user: User, *, room_id) -> EndResult:
    """room.end from either side: the membership check and the end are one statement."""
    room_id = _as_uuid(room_id, NotAMember)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT * FROM rdv_end_room_by_member(%s::uuid, %s::uuid, %s, %s, %s, %s, %s, %s, %s)",
            [str(user.pk), *end_room_args(room_id, ActiveRoom.EndReason.USER_ENDED, timezone.now())],
        )
        rows = cursor.fetchall()
    outcome = rows[0][0]
    if outcome == "not_found":
        raise NotAMember()
    if outcome == "room_ended":
        raise RoomEnded()
    for user_ids, event in end_room_events(room_id, ActiveRoom.EndReason.USER_ENDED, rows):
        send_to_users(user_ids, event)
    return EndResult(room_id, ended_now=outcome == "ended")


def end_live_room_of(user_id, *, reason: str) -> EndResult | None:
    """End the user's live room, if any (bans, account deletion), in the caller's transaction."""
    room_id = live_room_id_of(user_id)
    return end_room(room_id, reason=reason) if room_id else None


def _live_member_room(user: User, room_id):
    """For in-call actions other than messages: the member's room, locked, or a refusal. An
    overdue room is ended now (timers before any room lock) and refused as RoomEnded, so no
    action can outrun the server's timers (an upgrade cannot rescue a silent text call)."""
    room = _member_room(user, room_id, lock=False)
    reason = _due(room, timezone.now())
    if reason:
        end_room(room.pk, reason=reason)
        return RoomEnded()
    room = _member_room(user, room_id, lock=True)
    if _due(room, timezone.now()):
        return RoomEnded()
    return room


def _member_room(user: User, room_id, *, lock: bool) -> ActiveRoom:
    """The live room if `user` is in it, else NotAMember (strangers, made-up ids and other
    people's rooms look the same); an ended room of the user's is RoomEnded."""
    room_id = _as_uuid(room_id, NotAMember)
    rows = ActiveRoom.objects.filter(Q(user_1=user) | Q(user_2=user), pk=room_id)
    room = (rows.select_for_update(no_key=True) if lock else rows).first()
    if room is None:
        raise NotAMember()
    if room.status == ActiveRoom.Status.ENDED:
        raise RoomEnded()
    return room


def _due(room: ActiveRoom, now) -> str | None:
    """Why this live room must end now, if it must (the rules of SPEC §6, by timestamps)."""
    if room.ends_at <= now:
        return ActiveRoom.EndReason.TIMER
    if room.status == ActiveRoom.Status.GRACE_PERIOD and room.grace_period_expires <= now:
        return ActiveRoom.EndReason.DISCONNECT
    text_rule = room.chat_mode == ChatMode.TEXT and room.upgraded_at is None
    if text_rule and now - _quiet_since(room) >= INACTIVITY_END_AFTER:
        return ActiveRoom.EndReason.INACTIVITY
    return None


def _quiet_since(room: ActiveRoom):
    """The earlier of the two sides' last message (or the start): whoever is silent longest."""
    last_1 = room.user_1_last_message_at or room.started_at
    last_2 = room.user_2_last_message_at or room.started_at
    return min(last_1, last_2)


def next_deadline(room: ActiveRoom):
    """When this room next needs a look (end, grace expiry, inactivity warning or end)."""
    times = [room.ends_at]
    if room.status == ActiveRoom.Status.GRACE_PERIOD and room.grace_period_expires:
        times.append(room.grace_period_expires)
    if room.chat_mode == ChatMode.TEXT and room.upgraded_at is None:
        quiet = _quiet_since(room)
        times.append(quiet + INACTIVITY_END_AFTER)
        if room.inactivity_warned_at is None:
            times.append(quiet + INACTIVITY_WARNING_AFTER)
    return min(times)


def check_room(room_id) -> str | None:
    """Apply the room's timers now: end it if due, or send the inactivity warning once.
    Safe to call from any number of processes at once (the end is one statement that locks;
    the warning is one conditional UPDATE), so it needs no transaction of its own."""
    room = ActiveRoom.objects.filter(pk=room_id).exclude(status=ActiveRoom.Status.ENDED).first()
    return _check_loaded_room(room, timezone.now()) if room else None


def room_timer_step(room_id):
    """The room timer's one wake-up (the consumer's): apply the timers, then say when to wake
    next (None: the room is over). One read, plus one statement when something is due."""
    room = ActiveRoom.objects.filter(pk=room_id).exclude(status=ActiveRoom.Status.ENDED).first()
    if room is None:
        return None
    now = timezone.now()
    acted = _check_loaded_room(room, now)
    if acted == "warned":
        room.inactivity_warned_at = now
    elif acted or _due(room, now):
        return None  # ended now, or by someone else a moment ago
    return next_deadline(room)


def _check_loaded_room(room: ActiveRoom, now) -> str | None:
    reason = _due(room, now)
    if reason:
        result = end_room(room.pk, reason=reason)
        return reason if result.ended_now else None
    if (
        room.chat_mode == ChatMode.TEXT
        and room.upgraded_at is None
        and room.inactivity_warned_at is None
        and now - _quiet_since(room) >= INACTIVITY_WARNING_AFTER
    ):
        unwarned = ActiveRoom.objects.filter(pk=room.pk, inactivity_warned_at__isnull=True).exclude(status="ended")
        warned = unwarned.update(inactivity_warned_at=now)
        if warned:
            ends = _quiet_since(room) + INACTIVITY_END_AFTER
            send_to_users(
                [room.user_1_id, room.user_2_id],
                {"type": "room.inactivity_warning", "room": str(room.pk), "ends_at": ends.isoformat()},
            )
            return "warned"
    return None


def due_rooms(now, *, limit: int):
    """Ids of live rooms with something due now (timer, grace expiry, inactivity warning or
    end), soonest first: rooms with nothing due never fill the batch."""
    quiet_since = Least(
        Coalesce("user_1_last_message_at", "started_at"), Coalesce("user_2_last_message_at", "started_at")
    )
    text_rule = Q(chat_mode=ChatMode.TEXT, upgraded_at__isnull=True)
    return (
        ActiveRoom.objects.exclude(status=ActiveRoom.Status.ENDED)
        .annotate(quiet_since=quiet_since)
        .filter(
            Q(ends_at__lte=now)
            | Q(status=ActiveRoom.Status.GRACE_PERIOD, grace_period_expires__lte=now)
            | (text_rule & Q(quiet_since__lte=now - INACTIVITY_END_AFTER))
            | (text_rule & Q(inactivity_warned_at__isnull=True, quiet_since__lte=now - INACTIVITY_WARNING_AFTER))
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
            if check_room(room_id):
                acted += 1
        except Exception:  # one bad room must not stop the sweep
            logger.exception("checking room %s failed", room_id)
    return acted


@transaction.atomic(durable=True)
def mark_disconnected(user: User, *, room_id, only_if_offline: bool = False) -> ActiveRoom | None:
    """The user's last socket is gone: the room waits 10 s (grace) for them to come back.
    only_if_offline (a socket's disconnect): checked again under the room's lock, so a socket
    of theirs that registered meanwhile on another server (a restart's reconnect, whose
    mark_connected waits for this lock) keeps the room active instead of leaving it in grace."""
    room_id = _as_uuid(room_id, NotAMember)
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
    partner_id = room.user_2_id if side == "user_1_connected" else room.user_1_id
    grace_until = room.grace_period_expires.isoformat() if room.grace_period_expires else None
    # The partner's socket re-arms its room timer on this event, so the grace expiry is acted
    # on to the second; the beat sweep is the backstop when nobody is connected.
    send_to_users([partner_id], {"type": "room.partner_disconnected", "room": str(room.pk), "grace_until": grace_until})
    return room


def start_grace_for_vanished_members(*, limit: int = 500) -> int:
    """Members of active rooms with no live socket in Redis (their process died, so no
    disconnect ran) get the 10 s grace, as if they had disconnected. Online members are
    excluded in SQL, so they never fill the batch."""
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
        if mark_disconnected(member.user, room_id=member.room_id) is not None:
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
    room = ActiveRoom.objects.select_for_update(no_key=True).get(pk=room_id)
    now = timezone.now()
    if _due(room, now):
        transaction.on_commit(lambda: check_room(room_id), robust=True)
        return None
    is_user_1 = str(room.user_1_id) == str(user.pk)
    changes = {"user_1_connected" if is_user_1 else "user_2_connected": True}
    other_connected = room.user_2_connected if is_user_1 else room.user_1_connected
    if room.status == ActiveRoom.Status.GRACE_PERIOD and other_connected:
        changes.update(status=ActiveRoom.Status.ACTIVE, grace_period_expires=None)
    ActiveRoom.objects.filter(pk=room.pk).update(**changes)
    for field, value in changes.items():
        setattr(room, field, value)
    partner = User.objects.get(pk=room.user_2_id if is_user_1 else room.user_1_id)
    send_to_users([partner.pk], {"type": "room.partner_reconnected", "room": str(room.pk)})
    return events.room_payload(room, for_user_id=user.pk, partner=partner)


# --- messages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostResult:
    message: TextChatMessage
    created: bool  # False: a resend of a stored client_id (nothing delivered again)


def _gif_url_allowed(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and (parts.hostname or "") in settings.GIF_HOSTS and len(url) <= 500


POST_MESSAGE_SQL = "SELECT * FROM rdv_post_message(%s::uuid, %s::uuid, %s, %s, %s, %s, %s, %s)"


@dataclass(frozen=True)
class MessageDraft:
    """A validated chat.message, before the database has its say."""

    sender_id: str
    room_id: uuid.UUID
    client_id: str
    kind: str
    text: str
    url: str
    now: object

    def args(self) -> list:
        return [self.sender_id, str(self.room_id), self.client_id, self.kind, self.text, self.url, self.now,
                MESSAGE_SPACING]  # fmt: skip


def draft_message(sender_id, *, room_id, client_id: str, text: str = "", gif_url: str = "") -> MessageDraft:
    """The checks that need no database: client_id, room id, text or an allowed GIF link."""
    if not client_id or len(client_id) > 64 or "\x00" in client_id:
        raise InvalidMessage("client_id is required (at most 64 characters).")
    room_id = _as_uuid(room_id, NotAMember)
    text = (text or "").replace("\x00", "").strip()
    if gif_url:
        if not _gif_url_allowed(gif_url):
            raise InvalidMessage("GIFs must be https links from an allowed host.")
        kind = TextChatMessage.Type.GIF
    elif text:
        kind = TextChatMessage.Type.TEXT
    else:
        raise InvalidMessage("Write something.")
    if len(text) > TextChatMessage.MAX_LENGTH:
        raise InvalidMessage("At most 500 characters.")
    return MessageDraft(str(sender_id), room_id, client_id, kind, text, gif_url or "", timezone.now())


def message_outcome(draft: MessageDraft, row) -> tuple[PostResult | ServiceError | str, list]:
    """What rdv_post_message's row means: a PostResult with its pushes, a refusal, or the reason
    the room is overdue (the caller ends it and refuses with RoomEnded)."""
    outcome, reason, message_id, receiver_id, sent_at, user_1_id, user_2_id = row
    if outcome == "not_member":
        return NotAMember(), []
    if outcome == "room_ended":
        return RoomEnded(), []
    if outcome == "too_fast":
        return TooFast(retry_after=1), []
    if outcome == "due":
        return reason, []
    if outcome == "duplicate":
        # A resend returns the stored message as it was stored (not this draft's fields).
        return ("duplicate", message_id), []
    message = TextChatMessage(
        id=message_id,
        room_id=draft.room_id,
        sender_id=uuid.UUID(draft.sender_id),
        receiver_id=receiver_id,
        type=draft.kind,
        content=draft.text,
        url=draft.url,
        client_id=draft.client_id,
        sent_at=sent_at,
    )
    message._state.adding = False
    push = ([str(user_1_id), str(user_2_id)], {"type": "chat.message", **events.message_payload(message)})
    return PostResult(message, created=True), [push]


def post_message(sender: User, *, room_id, client_id: str, text: str = "", gif_url: str = ""):
    """chat.message: stored, then delivered to the partner after commit; the ack carries the
    stored id. The sender must be a member of that live room; ≤ 500 characters; one message
    every 1.5 s per user; a resend with the same client_id returns the stored message. One
    statement (rdv_post_message, the rule); a message into an overdue call ends it and is
    refused."""
    draft = draft_message(sender.pk, room_id=room_id, client_id=client_id, text=text, gif_url=gif_url)
    with connection.cursor() as cursor:
        cursor.execute(POST_MESSAGE_SQL, draft.args())
        row = cursor.fetchone()
    result, pushes = message_outcome(draft, row)
    if isinstance(result, tuple):  # a duplicate: the stored message
        return PostResult(TextChatMessage.objects.get(pk=result[1]), created=False)
    if isinstance(result, str):
        end_room(draft.room_id, reason=result)
        raise RoomEnded()
    if isinstance(result, ServiceError):
        raise result
    for user_ids, event in pushes:
        send_to_users(user_ids, event)
    return result


@durable_then_raise
def share_socials(user: User, *, room_id):
    """room.share_socials: my socials go to my partner, stored as a system message."""
    room = _live_member_room(user, room_id)
    if isinstance(room, ServiceError):
        return room
    fresh = User.objects.get(pk=user.pk)
    handles = ", ".join(f"{network}: {handle}" for network, handle in sorted(fresh.socials.items()))
    content = f"{fresh.name} shared their socials: {handles or 'none yet'}"[: TextChatMessage.MAX_LENGTH]
    message = TextChatMessage.objects.create(
        room=room,
        sender=user,
        receiver_id=room.user_2_id if str(room.user_1_id) == str(user.pk) else room.user_1_id,
        type=TextChatMessage.Type.SYSTEM,
        content=content,
    )
    payload = {"type": "chat.message", **events.message_payload(message), "socials": fresh.socials}
    send_to_users([room.user_1_id, room.user_2_id], payload)
    return message


@durable_then_raise
def request_upgrade(user: User, *, room_id):
    """room.upgrade_request: in a text room, after 60 s, ask to switch to video."""
    room = _live_member_room(user, room_id)
    if isinstance(room, ServiceError):
        return room
    if room.chat_mode != ChatMode.TEXT or room.upgraded_at is not None:
        raise NotAllowedNow("This call is already video.")
    if timezone.now() - room.started_at < UPGRADE_AFTER:
        raise NotAllowedNow("You can ask for video after the first minute.")
    ActiveRoom.objects.filter(pk=room.pk).update(upgrade_requested_by=user)
    partner_id = room.user_2_id if str(room.user_1_id) == str(user.pk) else room.user_1_id
    send_to_users([partner_id], {"type": "room.upgrade_requested", "room": str(room.pk), "by": str(user.pk)})
    return room


@durable_then_raise
def accept_upgrade(user: User, *, room_id):
    """room.upgrade_accept: the other side agrees; the room becomes video (no inactivity rule)."""
    room = _live_member_room(user, room_id)
    if isinstance(room, ServiceError):
        return room
    if room.upgraded_at is not None:
        return room
    if room.upgrade_requested_by_id is None or str(room.upgrade_requested_by_id) == str(user.pk):
        raise NotAllowedNow("There is no request from your partner to accept.")
    now = timezone.now()
    ActiveRoom.objects.filter(pk=room.pk).update(chat_mode=ChatMode.VIDEO, upgraded_at=now)
    room.chat_mode, room.upgraded_at = ChatMode.VIDEO, now
    send_to_users([room.user_1_id, room.user_2_id], {"type": "room.upgraded", "room": str(room.pk), "mode": "video"})
    return room


def relay_target(user: User, *, room_id) -> str:
    """rtc.offer/answer/ice: the partner's id, if `user` is in that live room (never stored)."""
    room = _member_room(user, room_id, lock=False)
    if _due(room, timezone.now()):
        raise RoomEnded()
    return str(room.user_2_id if str(room.user_1_id) == str(user.pk) else room.user_1_id)
