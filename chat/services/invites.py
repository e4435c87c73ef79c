"""Invites: send, accept, decline, cancel, expire. The hot ones are one statement each (a
PL/pgSQL function in chat/sql/<name>.sql, which is the rule; docs/hot-path.md); the Python
checks arguments, calls it and turns its outcome into errors and events after commit."""

import logging
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from accounts.errors import NoAccess
from accounts.models import User
from chat import events, presence
from chat.errors import (
    AlreadyInRoom,
    Busy,
    InvalidMessage,
    InviteExpired,
    InviteNotFound,
    InviteNotPending,
    InvitePending,
    NotAvailable,
    OnCooldown,
)
from chat.event_mode import ensure_event_open
from chat.models import ActiveRoom, CallInvite, ChatMode, Cooldown
from chat.services.common import as_uuid, call_seconds, from_jsonb, notify_expired, notify_invites
from config.realtime import send_to_users
from config.transactions import autocommit_with_committed_refusals, commit_then_refuse
from screening.errors import AccountHeld

logger = logging.getLogger("rendezvous.chat")


# chat/sql/send_invite.sql
SEND_INVITE_SQL = "SELECT * FROM rdv_send_invite(%s::uuid, %s::uuid, %s, %s, %s, %s, %s)"
INVITE_REFUSALS = {
    "not_available": NotAvailable,
    "already_in_room": lambda: AlreadyInRoom("Leave your current call first."),
    "busy": Busy,
    "on_cooldown": OnCooldown,
    "invite_pending": InvitePending,
    "held": AccountHeld,  # screening: a look-alike of a banned person waits for a moderator
}


@autocommit_with_committed_refusals
def send_invite(caller: User, *, to, mode: str, seconds) -> CallInvite:
    """call.invite: a 20-second invite to someone online, available, with access, not in a
    call, not on cooldown and not reported by the caller. One statement (rdv_send_invite, the
    rule) that locks both users (pk order), so two people inviting each other at once get one
    invite and one `busy`. Presence (Redis) is read first and passed in. The statement expires
    the pair's stale invites first: a refusal after it commits that (and tells both sides).
    A retry of an invite still pending returns it (idempotent, like accept)."""
    ensure_event_open(caller, partner=to)  # event mode: no new calls outside the window (chat.event_mode)
    if mode not in ChatMode.values:
        raise InvalidMessage("mode must be video or text.")
    seconds = call_seconds(seconds)
    if str(to) == str(caller.pk):
        raise InvalidMessage("You cannot invite yourself.")
    to = as_uuid(to, NotAvailable)
    present = presence.is_online(to) and presence.is_available(to, mode)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(SEND_INVITE_SQL, [str(caller.pk), str(to), mode, seconds, now, CallInvite.TTL, present])
        outcome, detail, invite_id, expires_at, expired, name, gender, selfie, video = cursor.fetchone()
    notify_expired(expired)
    if outcome == "no_access":
        commit_then_refuse(NoAccess(access_status=detail))
    if outcome == "invite_pending" and (retried := _pending_invite(caller, to, mode, now)) is not None:
        return retried
    if outcome != "created":
        commit_then_refuse(INVITE_REFUSALS[outcome]())
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


def _pending_invite(caller: User, to, mode: str, now) -> CallInvite | None:
    """The caller's pending invite to the same person for the same mode: a retry of an invite
    whose answer was lost (the server said service_unavailable, or the socket dropped, after it
    committed) gets that invite back, instead of `invite_pending` until it expires."""
    return CallInvite.objects.filter(
        from_user_id=caller.pk, to_user_id=to, chat_mode=mode, status=CallInvite.Status.PENDING, expires_at__gt=now
    ).first()


# chat/sql/accept_invite.sql, chat/sql/settle_invite.sql
ACCEPT_SQL = "SELECT * FROM rdv_accept_invite(%s::uuid, %s::uuid, %s, %s)"
SETTLE_SQL = "SELECT * FROM rdv_settle_invite(%s::uuid, %s::uuid, %s, %s, %s, %s, %s)"
SETTLED_REFUSALS = {"not_found": InviteNotFound, "expired": InviteExpired, "not_pending": InviteNotPending}


@autocommit_with_committed_refusals
def accept_invite(callee: User, *, invite_id, seconds) -> ActiveRoom:
    """call.accept: in one statement (rdv_accept_invite, the rule), lock both users and the
    invite, check neither is in a call, create the room (length = floor of the mean of both
    choices), mark the invite accepted, cancel their other invites, and tell both `room.start`
    after commit. A retry of the same accept returns the same room. An invite past its 20 s is
    marked expired (committed) and refused with 410."""
    ensure_event_open(callee)  # event mode: no new calls outside the window (chat.event_mode)
    seconds = call_seconds(seconds)
    invite_id = as_uuid(invite_id, InviteNotFound)
    with connection.cursor() as cursor:
        started_at = timezone.now()
        cursor.execute(ACCEPT_SQL, [str(callee.pk), str(invite_id), seconds, started_at])
        outcome, room_id, caller_id, duration, notify, mode, cards = cursor.fetchone()
    if outcome == "retry":
        return ActiveRoom.objects.get(pk=room_id)
    if outcome == "expired":
        notify_expired(notify)
        commit_then_refuse(InviteExpired())
    if outcome == "not_available":
        raise NotAvailable()
    if outcome == "already_in_room":
        raise AlreadyInRoom()
    if outcome != "accepted":
        raise SETTLED_REFUSALS[outcome]()
    notify_invites(notify, "call.cancelled")
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
    cards = from_jsonb(cards)
    caller, callee = (User(id=uid, **cards[str(uid)]) for uid in (caller_id, callee.pk))
    for user, partner in ((caller, callee), (callee, caller)):
        payload = events.room_payload(room, for_user_id=user.pk, partner=partner)
        send_to_users([user.pk], {"type": "room.start", **payload})
    logger.info("room %s started %s + %s %ss", room.pk, caller.pk, callee.pk, duration)
    return room


def _settle_invite(
    user: User, invite_id, *, side: str, status: str, cooldown: timedelta, reason: str, event: str
) -> CallInvite:
    """Decline (callee) or cancel (caller) a pending invite in one statement (rdv_settle_invite):
    the pair gets a cooldown and the other side is told. A retry of the same answer returns
    the invite unchanged. An invite past its 20 s is marked expired (committed) and refused.
    Inside decline_invite / cancel_invite (whose refusals commit)."""
    invite_id = as_uuid(invite_id, InviteNotFound)
    with connection.cursor() as cursor:
        cursor.execute(SETTLE_SQL, [str(user.pk), str(invite_id), side, status, cooldown, reason, timezone.now()])
        outcome, payload, notify = cursor.fetchone()
    if outcome == "expired":
        notify_expired(notify)
        commit_then_refuse(InviteExpired())
    if outcome not in ("same", "settled"):
        raise SETTLED_REFUSALS[outcome]()
    invite = CallInvite.objects.get(pk=invite_id) if outcome == "same" else None
    if outcome == "settled":
        notify_invites([from_jsonb(payload)], event)
        invite = CallInvite.objects.get(pk=invite_id)
    return invite


@autocommit_with_committed_refusals
def decline_invite(callee: User, *, invite_id) -> CallInvite:
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


@autocommit_with_committed_refusals
def cancel_invite(caller: User, *, invite_id) -> CallInvite:
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
def expire_overdue_invites(*invite_ids, limit: int = 500) -> int:
    """Mark pending invites past their 20 s expired and tell both sides: the given ones (the
    caller's socket times its own invite) or, with none given, any (the sweep, start-up
    recovery). Idempotent, and tidying only: every reader already treats them as expired by
    their timestamp. Rows another worker holds are skipped (SKIP LOCKED), never waited for.
    Returns how many it expired. Send and accept expire a pair's stale invites in their own
    statement (rdv_expire_stale_invites); all three tell both sides through notify_expired."""
    now = timezone.now()
    overdue = CallInvite.objects.select_for_update(skip_locked=True).filter(status="pending", expires_at__lte=now)
    if invite_ids:
        overdue = overdue.filter(pk__in=[as_uuid(invite_id, InviteNotFound) for invite_id in invite_ids])
    invites = list(overdue.order_by("expires_at")[:limit])
    if not invites:
        return 0
    CallInvite.objects.filter(pk__in=[i.pk for i in invites], status="pending").update(
        status=CallInvite.Status.EXPIRED, responded_at=now
    )
    for invite in invites:
        invite.status = CallInvite.Status.EXPIRED
    notify_expired([events.invite_payload(invite) for invite in invites])
    return len(invites)
