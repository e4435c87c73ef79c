"""Blocks: one person stops the other from seeing, hearing or calling them, without a report.

A block hides the two from each other's reel and presence (chat.reel), and invites either way
are refused as "not available" (chat/sql/send_invite.sql, accept_invite.sql), so
the blocked person is never told. Blocking also ends what is open between them right now:
their pending invites are cancelled (both told `call.cancelled`, as when a caller cancels) and
a live call between them ends as if the blocker had pressed End call (`room.ended` with reason
`user_ended` to both: nothing says "blocked"), and a match between them is removed (silently,
as an unmatch), and both people's "I'd meet again" answers about their calls are deleted, so
an unblock brings nothing back by itself. Finished things (history, completions) stay."""

import logging
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from accounts.services.locks import lock_users
from audit.services import record_audit
from chat.events import invite_payload
from chat.models import ActiveRoom, ActiveRoomMember, Block, CallInvite, Match, MeetAgainAnswer
from chat.selectors import live_room_id_of, ordered_pair
from chat.services.common import as_uuid, notify_invites
from chat.services.rooms import end_room
from config.errors import Conflict, InvalidInput, NotFound
from config.realtime import send_to_users

logger = logging.getLogger("rendezvous.chat")


class TooManyBlocks(Conflict):
    code = "too_many_blocks"
    message = f"You can block at most {Block.MAX_PER_USER} people; unblock someone first."


@dataclass(frozen=True)
class BlockResult:
    block: Block
    created: bool  # False: it was already there (a retry)


def _other_user_id(blocker: User, blocked_id) -> uuid.UUID:
    blocked_id = as_uuid(blocked_id, lambda: NotFound("No such user."))
    if blocked_id == blocker.pk:
        raise InvalidInput("You cannot block yourself.", fields={"user_id": ["You cannot block yourself."]})
    return blocked_id


def _gone_from_presence(a, b) -> None:
    """Each one's reel drops the other now, as if they had gone offline (no word of a block)."""
    for viewer, subject in ((a, b), (b, a)):
        users = [{"user": str(subject), "online": False, "available": False}]
        send_to_users([viewer], {"type": "presence.update", "users": users})


@transaction.atomic(durable=True)
def block_user(blocker: User, blocked_id, *, ip: str | None = None) -> BlockResult:
    """Block `blocked_id`. Idempotent: blocking again returns the same row (created=False) and
    changes nothing. At most Block.MAX_PER_USER blocks per user (409 too_many_blocks)."""
    blocked_id = _other_user_id(blocker, blocked_id)
    # Both users in id order (the lock order of every service and hot-path function), so a block
    # and an invite or accept of the same pair run one after the other.
    locked = lock_users(blocker.pk, blocked_id)
    if str(blocked_id) not in locked:
        raise NotFound("No such user.")
    existing = Block.objects.filter(blocker=blocker, blocked_id=blocked_id).first()
    if existing is not None:
        return BlockResult(existing, created=False)
    # Under the blocker's row lock, so two parallel blocks cannot both take the last place.
    if Block.objects.filter(blocker=blocker).count() >= Block.MAX_PER_USER:
        raise TooManyBlocks()
    # The name my list will show: if they had blocked me already, the one they had then (their
    # row's blocker_name), so blocking back tells me nothing newer than their block.
    theirs = Block.objects.filter(blocker_id=blocked_id, blocked=blocker).first()
    blocked_name = theirs.blocker_name if theirs is not None else locked[str(blocked_id)].name
    block = Block.objects.create(
        blocker=blocker,
        blocked_id=blocked_id,
        blocker_name=locked[str(blocker.pk)].name,
        blocked_name=blocked_name,
    )
    now = timezone.now()
    pair = Q(from_user=blocker, to_user_id=blocked_id) | Q(from_user_id=blocked_id, to_user=blocker)
    pending = list(
        CallInvite.objects.select_for_update().filter(pair, status=CallInvite.Status.PENDING, expires_at__gt=now)
    )
    CallInvite.objects.filter(pk__in=[i.pk for i in pending]).update(
        status=CallInvite.Status.CANCELLED, responded_at=now
    )
    for invite in pending:
        invite.status = CallInvite.Status.CANCELLED
    notify_invites([invite_payload(invite) for invite in pending], "call.cancelled")
    room_id = live_room_id_of(blocker.pk)
    if room_id is not None and ActiveRoomMember.objects.filter(room_id=room_id, user_id=blocked_id).exists():
        end_room(room_id, reason=ActiveRoom.EndReason.USER_ENDED)
    else:
        room_id = None
    low, high = ordered_pair(str(blocker.pk), str(blocked_id))
    unmatched, _ = Match.objects.filter(user_low_id=low, user_high_id=high).delete()
    # The pair's "I'd meet again" answers go too: an answer given before the block must not
    # make a match by itself after an unblock (only answers given afterwards can, in the window).
    pair_rooms = ActiveRoom.objects.filter(
        Q(user_1_id=blocker.pk, user_2_id=blocked_id) | Q(user_1_id=blocked_id, user_2_id=blocker.pk)
    ).values("pk")
    answers_cleared, _ = MeetAgainAnswer.objects.filter(room__in=pair_rooms).delete()
    _gone_from_presence(blocker.pk, blocked_id)
    details = {"invites_cancelled": len(pending), "room_ended": str(room_id) if room_id else None}
    if unmatched:
        details["match_removed"] = True
    if answers_cleared:
        details["meet_again_answers_cleared"] = answers_cleared
    record_audit("user.blocked", actor=blocker, target=User(pk=blocked_id), ip=ip, details=details)
    logger.info("block %s -> %s", blocker.pk, blocked_id)
    return BlockResult(block, created=True)


@transaction.atomic(durable=True)
def unblock_user(blocker: User, blocked_id, *, ip: str | None = None) -> bool:
    """Lift my block of `blocked_id`. Idempotent: returns whether a block was lifted now."""
    blocked_id = _other_user_id(blocker, blocked_id)
    deleted, _ = Block.objects.filter(blocker=blocker, blocked_id=blocked_id).delete()
    if not deleted:
        return False
    record_audit("user.unblocked", actor=blocker, target=User(pk=blocked_id), ip=ip)
    send_to_users([blocker.pk], {"type": "reel.changed"})  # they may be back in my reel
    logger.info("unblock %s -> %s", blocker.pk, blocked_id)
    return True
