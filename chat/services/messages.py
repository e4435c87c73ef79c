"""Chat messages in a call: the one-statement post (rdv_post_message, the rule) and the
socials a member shares as a system message."""

import uuid
from dataclasses import dataclass, field, replace
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import User
from chat import events
from chat.errors import InvalidMessage, NotAllowedNow, NotAMember, RoomEnded, TooFast
from chat.models import ActiveRoom, TextChatMessage
from chat.services.common import as_uuid
from chat.services.rooms import end_room, live_member_room
from config.errors import ServiceError
from config.realtime import send_to_users
from config.transactions import (
    autocommit_with_committed_refusals,
    commit_then_refuse,
    durable_with_committed_refusals,
)
from screening.text import record_verdict, screen_text

MESSAGE_SPACING = timedelta(seconds=1.5)


@dataclass(frozen=True)
class PostResult:
    message: TextChatMessage
    created: bool  # False: a resend of a stored client_id (nothing delivered again)


def _gif_url_allowed(url: str) -> bool:
    parts = urlsplit(url)
    return (
        parts.scheme == "https"
        and (parts.hostname or "") in settings.GIF_HOSTS
        and len(url) <= TextChatMessage.MAX_URL_LENGTH
    )


# chat/sql/post_message.sql
POST_MESSAGE_SQL = "SELECT * FROM rdv_post_message(%s::uuid, %s::uuid, %s, %s, %s, %s, %s, %s, %s)"


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
                MESSAGE_SPACING, ActiveRoom.INACTIVITY_END_AFTER]  # fmt: skip


def draft_message(sender_id, *, room_id, client_id: str, text: str = "", gif_url: str = "") -> MessageDraft:
    """The checks that need no database: client_id, room id, text or an allowed GIF link."""
    if not client_id or len(client_id) > 64 or "\x00" in client_id:
        raise InvalidMessage("client_id is required (at most 64 characters).")
    room_id = as_uuid(room_id, NotAMember)
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
        raise InvalidMessage(f"At most {TextChatMessage.MAX_LENGTH} characters.")
    return MessageDraft(str(sender_id), room_id, client_id, kind, text, gif_url or "", timezone.now())


@dataclass(frozen=True)
class MessageOutcome:
    """What rdv_post_message's row means, exactly one of: `posted` (with its `pushes`), a
    `duplicate_id` (a resend: the stored message's id), a `due_reason` (the room is overdue: the
    caller ends it and refuses with RoomEnded), or a `refusal`."""

    posted: PostResult | None = None
    pushes: list = field(default_factory=list)
    duplicate_id: int | None = None
    due_reason: str | None = None
    refusal: ServiceError | None = None


def message_outcome(draft: MessageDraft, row) -> MessageOutcome:
    """rdv_post_message's row as a MessageOutcome."""
    outcome, reason, message_id, receiver_id, sent_at, user_1_id, user_2_id = row
    if outcome == "not_member":
        return MessageOutcome(refusal=NotAMember())
    if outcome == "room_ended":
        return MessageOutcome(refusal=RoomEnded())
    if outcome == "too_fast":
        return MessageOutcome(refusal=TooFast(retry_after=1))
    if outcome == "due":
        return MessageOutcome(due_reason=reason)
    if outcome == "duplicate":
        # A resend returns the stored message as it was stored (not this draft's fields).
        return MessageOutcome(duplicate_id=message_id)
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
    return MessageOutcome(posted=PostResult(message, created=True), pushes=[push])


@autocommit_with_committed_refusals
def post_message(sender: User, *, room_id, client_id: str, text: str = "", gif_url: str = "") -> PostResult:
    """chat.message: stored, then delivered to the partner after commit; the ack carries the
    stored id. The sender must be a member of that live room; ≤ TextChatMessage.MAX_LENGTH (500) characters; one message
    every 1.5 s per user; a resend with the same client_id returns the stored message. One
    statement (rdv_post_message, the rule); a message into an overdue call ends it (committed)
    and is refused. Screening reads the text first: a block rule refuses it (message_blocked), a
    censor rule masks the match, a flag rule opens a case once the message is stored."""
    draft = draft_message(sender.pk, room_id=room_id, client_id=client_id, text=text, gif_url=gif_url)
    verdict = screen_text(draft.text)
    screened = replace(draft, text=verdict.text) if verdict.action else draft
    with connection.cursor() as cursor:
        cursor.execute(POST_MESSAGE_SQL, screened.args())
        row = cursor.fetchone()
    outcome = message_outcome(screened, row)
    if outcome.duplicate_id is not None:  # the stored message
        return PostResult(TextChatMessage.objects.get(pk=outcome.duplicate_id), created=False)
    if outcome.due_reason:
        end_room(draft.room_id, reason=outcome.due_reason)
        commit_then_refuse(RoomEnded())
    if outcome.refusal:
        raise outcome.refusal
    if verdict.recorded:
        stored = outcome.posted.message
        record_verdict(verdict, message_id=stored.pk, sender_id=stored.sender_id, receiver_id=stored.receiver_id,
                       room_id=stored.room_id, original_text=draft.text)  # fmt: skip
    for user_ids, event in outcome.pushes:
        send_to_users(user_ids, {**event, "screened": verdict.action} if verdict.recorded else event)
    return outcome.posted


@durable_with_committed_refusals
def share_socials(user: User, *, room_id):
    """room.share_socials: my socials go to my partner, stored as a system message. With none
    set there is nothing to share: refused with a sentence saying where to add them."""
    room = live_member_room(user, room_id)
    fresh = User.objects.get(pk=user.pk)
    if not fresh.socials:
        raise NotAllowedNow("You have no socials to share yet: add them in Settings.")
    handles = ", ".join(f"{network}: {handle}" for network, handle in sorted(fresh.socials.items()))
    content = f"{fresh.name} shared their socials: {handles or 'none yet'}"[: TextChatMessage.MAX_LENGTH]
    message = TextChatMessage.objects.create(
        room=room,
        sender=user,
        receiver_id=room.partner_id(user.pk),
        type=TextChatMessage.Type.SYSTEM,
        content=content,
    )
    payload = {"type": "chat.message", **events.message_payload(message), "socials": fresh.socials}
    send_to_users([room.user_1_id, room.user_2_id], payload)
    return message
