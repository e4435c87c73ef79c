"""Rooms: the end of a call with all its bookkeeping, the member's room, and the in-call
actions other than messages (video upgrade, the WebRTC relay target)."""

import logging
import uuid
from dataclasses import dataclass
from functools import cached_property
from typing import NoReturn

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from accounts.services.access import SUCCESSFUL_SESSION_SECONDS
from chat.errors import NotAllowedNow, NotAMember, RoomEnded
from chat.models import ActiveRoom, ChatMode, Cooldown
from chat.selectors import live_room_id_of
from chat.services.common import as_uuid
from config.realtime import send_to_users
from config.transactions import commit_then_refuse, durable_with_committed_refusals
from referrals.services import INVITE_CODE_LENGTH, random_code, session_unlock_args

logger = logging.getLogger("rendezvous.chat")


@dataclass(frozen=True)
class EndResult:
    room_id: uuid.UUID
    ended_now: bool  # False when it had already ended (the call was a no-op)

    @cached_property
    def room(self) -> ActiveRoom:
        return ActiveRoom.objects.get(pk=self.room_id)


# chat/sql/end_room.sql (and end_room_by_member.sql below)
END_ROOM_SQL = "SELECT * FROM rdv_end_room(%s::uuid, %s, %s, %s, %s, %s, %s, %s, %s, %s)"


def end_room_args(room_id, reason: str, now) -> list:
    """The arguments of rdv_end_room (chat/sql/end_room.sql, the rule): the thresholds from their
    one place (a successful session, the session-end cooldown), an invite code for each user in
    case this call unlocks them (unused otherwise), and the unlock's own values (referrals)."""
    return [
        str(room_id),
        reason,
        now,
        SUCCESSFUL_SESSION_SECONDS,
        Cooldown.SESSION_END_TTL,
        random_code(INVITE_CODE_LENGTH),
        random_code(INVITE_CODE_LENGTH),
        *session_unlock_args(),
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
    room_id = as_uuid(room_id, NotAMember)
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
    """room.end from either side: the membership check and the end are one statement. A member
    ending a room that has already ended gets the committed result (ended_now False), not a
    refusal: the retry of an end whose answer was lost (a dependency failing) is safe."""
    room_id = as_uuid(room_id, NotAMember)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT * FROM rdv_end_room_by_member(%s::uuid, %s::uuid, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [str(user.pk), *end_room_args(room_id, ActiveRoom.EndReason.USER_ENDED, timezone.now())],
        )
        rows = cursor.fetchall()
    outcome = rows[0][0]
    if outcome == "not_found":
        raise NotAMember()
    if outcome == "room_ended":
        return EndResult(room_id, ended_now=False)
    for user_ids, event in end_room_events(room_id, ActiveRoom.EndReason.USER_ENDED, rows):
        send_to_users(user_ids, event)
    return EndResult(room_id, ended_now=outcome == "ended")


def end_live_room_of(user_id, *, reason: str) -> EndResult | None:
    """End the user's live room, if any (bans, account deletion), in the caller's transaction."""
    room_id = live_room_id_of(user_id)
    return end_room(room_id, reason=reason) if room_id else None


def live_member_room(user: User, room_id) -> ActiveRoom:
    """For in-call actions other than messages: the member's room, locked. Refusals raise
    (NotAMember, RoomEnded); an overdue room is ended first (timers before any room lock) and
    then refused (end_overdue_then_refuse), so no action can outrun the server's timers (an
    upgrade cannot rescue a silent text call). Only inside a @durable_with_committed_refusals
    service."""
    room = _member_room(user, room_id, lock=False)
    if room.due_reason:
        end_overdue_then_refuse(room, room.due_reason)
    room = _member_room(user, room_id, lock=True)
    if room.due_reason:
        raise RoomEnded()
    return room


def end_overdue_then_refuse(room: ActiveRoom, reason: str) -> NoReturn:
    """End an overdue room (committed: it stays ended) and refuse the action with RoomEnded."""
    end_room(room.pk, reason=reason)
    commit_then_refuse(RoomEnded())


def _member_room(user: User, room_id, *, lock: bool) -> ActiveRoom:
    """The live room if `user` is in it, else NotAMember (strangers, made-up ids and other
    people's rooms look the same); an ended room of the user's is RoomEnded. With `due_reason`
    now (ActiveRoom.objects.with_due)."""
    room_id = as_uuid(room_id, NotAMember)
    rows = ActiveRoom.objects.with_due(timezone.now()).filter(Q(user_1=user) | Q(user_2=user), pk=room_id)
    room = (rows.select_for_update(no_key=True) if lock else rows).first()
    if room is None:
        raise NotAMember()
    if room.status == ActiveRoom.Status.ENDED:
        raise RoomEnded()
    return room


@durable_with_committed_refusals
def request_upgrade(user: User, *, room_id):
    """room.upgrade_request: in a text room, after 60 s, ask to switch to video."""
    room = live_member_room(user, room_id)
    if room.chat_mode != ChatMode.TEXT or room.upgraded_at is not None:
        raise NotAllowedNow("This call is already video.")
    if timezone.now() - room.started_at < ActiveRoom.UPGRADE_AFTER:
        raise NotAllowedNow("You can ask for video after the first minute.")
    ActiveRoom.objects.filter(pk=room.pk).update(upgrade_requested_by=user)
    partner_id = room.partner_id(user.pk)
    send_to_users([partner_id], {"type": "room.upgrade_requested", "room": str(room.pk), "by": str(user.pk)})
    return room


@durable_with_committed_refusals
def accept_upgrade(user: User, *, room_id):
    """room.upgrade_accept: the other side agrees; the room becomes video (no inactivity rule)."""
    room = live_member_room(user, room_id)
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
    if room.due_reason:
        raise RoomEnded()
    return str(room.partner_id(user.pk))
