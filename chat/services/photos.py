"""Photos in text calls: a participant uploads one (re-encoded by the selfie pipeline,
accounts.media.reencode_image), it is stored with its message in one transaction, and the
partner receives it only after the image screening passed it (chat.tasks.screen_call_photo,
in the screening worker's queue). A photo at or above the nudity threshold never reaches the
partner: its sender is told, and a case opens as for a hidden selfie."""

import io
import logging
import uuid
from dataclasses import dataclass

from celery import current_app
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from PIL import Image

from accounts.media import SELFIE_MAX_BYTES, reencode_image
from accounts.models import User
from audit.services import record_audit
from chat import events
from chat.errors import NotATextCall, PhotoTooLarge
from chat.models import ActiveRoom, CallPhoto, ChatHistory, ChatMode, TextChatMessage
from chat.models.photos import photo_url
from chat.selectors import message_snapshot
from chat.services.rooms import _member_room, live_member_room
from config.realtime import send_to_users
from config.transactions import durable_with_committed_refusals
from screening import cases
from screening.media import image_nudity_score, is_nudity

logger = logging.getLogger(__name__)

PHOTO_MAX_BYTES = SELFIE_MAX_BYTES  # 5 MB as sent; the stored JPEG is smaller
PHOTO_MAX_SIDE = 1600  # pixels, the longer side of the stored JPEG
# chat.tasks.screen_call_photo, routed to the screening worker's queue (CELERY_TASK_ROUTES);
# queued by name, as chat.tasks imports this package.
SCREEN_TASK = "chat.screen_call_photo"
PHOTO_PREFIX = "callphotos/"  # never under /media/ (config/urls.py serves selfies and videos only)
REFUSED_SENTENCE = (
    "Your photo was not delivered: our screening found nudity in it, which is not allowed in "
    "Rendezvous calls. A moderator will review it."
)


@dataclass(frozen=True)
class SentPhoto:
    photo: CallPhoto
    created: bool  # False: a resend of a stored client_id (the stored photo is returned)


def _check_room(room: ActiveRoom) -> None:
    if room.chat_mode != ChatMode.TEXT:
        raise NotATextCall()


def send_photo(user: User, *, room_id, upload, client_id: str = "") -> SentPhoto:
    """POST /api/calls/<room>/photos. The sender must be in that live text call (a stranger's or
    a made-up room 403 not_a_member, an ended one 410 room_ended, a video call 409
    not_a_text_call); at most PHOTO_MAX_BYTES (413). Checked cheaply first, then re-encoded and
    stored outside the transaction (slow), then the message and the photo row are written in one
    transaction under the room's lock (checked again there); screening is queued after commit.
    A resend with the same client_id returns the stored photo."""
    if upload.size is None or upload.size > PHOTO_MAX_BYTES:
        raise PhotoTooLarge()
    room = _member_room(user, room_id, lock=False)
    _check_room(room)
    content = reencode_image(upload, field="file", max_side=PHOTO_MAX_SIDE)
    data = content.read()
    content.seek(0)
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
    name = default_storage.save(f"{PHOTO_PREFIX}{uuid.uuid4().hex}.jpg", content)
    try:
        sent = _store_photo(user, room_id=room.pk, name=name, width=width, height=height, size=len(data),
                            client_id=client_id or None)  # fmt: skip
    except BaseException:
        _delete_file(name)
        raise
    if not sent.created:
        _delete_file(name)
    return sent


@durable_with_committed_refusals
def _store_photo(user: User, *, room_id, name: str, width: int, height: int, size: int, client_id) -> SentPhoto:
    room = live_member_room(user, room_id)  # locked; an overdue call is ended and refused
    _check_room(room)
    if client_id:
        stored = CallPhoto.objects.filter(room=room, sender=user, message__client_id=client_id).first()
        if stored is not None:
            return SentPhoto(stored, created=False)
    now = timezone.now()
    photo_id = uuid.uuid4()
    partner_id = room.partner_id(user.pk)
    message = TextChatMessage.objects.create(
        room=room,
        sender=user,
        receiver_id=partner_id,
        type=TextChatMessage.Type.IMAGE,
        url=photo_url(photo_id),
        client_id=client_id,
        sent_at=now,
        deleted=True,  # withheld from the partner until screening passes it
    )
    photo = CallPhoto.objects.create(
        id=photo_id, message=message, room=room, sender=user, receiver_id=partner_id, file=name,
        width=width, height=height, size_bytes=size, created_at=now,
    )  # fmt: skip
    # A photo is the sender speaking: it counts against the silent-call rule like a message.
    side = "user_1" if room.user_1_id == user.pk else "user_2"
    ActiveRoom.objects.filter(pk=room.pk).update(**{f"{side}_last_message_at": now, "inactivity_warned_at": None})
    transaction.on_commit(lambda: current_app.send_task(SCREEN_TASK, args=[str(photo.pk)]), robust=True)
    return SentPhoto(photo, created=True)


def screen_photo(photo_id) -> str | None:
    """The screening worker's job for one photo: score it (slow, outside any transaction), then
    apply the verdict. Returns the photo's status, None if it is gone."""
    photo = CallPhoto.objects.filter(pk=photo_id).first()
    if photo is None:
        return None
    if photo.status != CallPhoto.Status.PENDING:
        return photo.status
    score = image_nudity_score(photo.file)
    if score is None:
        return None
    return apply_photo_verdict(photo_id, score=score)


@transaction.atomic(durable=True)
def apply_photo_verdict(photo_id, *, score: float) -> str | None:
    """Passed: the message is no longer withheld and both participants get it as chat.message
    (a call already over gets it added to both people's history). At or above the nudity
    threshold: the photo stays hidden from the partner for good, the sender gets
    chat.photo_refused with the sentence, an audit line and a case (the photo as evidence).
    Idempotent: a redelivered task finds the photo decided and stops."""
    photo = CallPhoto.objects.select_for_update().filter(pk=photo_id).select_related("message").first()
    if photo is None or photo.status != CallPhoto.Status.PENDING:
        return photo.status if photo else None
    now = timezone.now()
    message = photo.message
    verdict = CallPhoto.Status.HIDDEN if is_nudity(score) else CallPhoto.Status.PASSED
    CallPhoto.objects.filter(pk=photo.pk).update(status=verdict, nudity_score=score, screened_at=now)
    if verdict == CallPhoto.Status.HIDDEN:
        details = {"photo": str(photo.pk), "room": str(photo.room_id), "score": round(score, 3)}
        record_audit("screening.call_photo_hidden", target=photo.sender, details=details)
        cases.request_case(
            photo.sender_id,
            kind="call_photo",
            category="nudity",
            evidence={
                "images": [photo.file],
                "media": "call_photo",
                "score": round(score, 3),
                "room_id": str(photo.room_id),
                "receiver_id": str(photo.receiver_id),
                "message_id": message.pk,
            },
        )
        refused = {"type": "chat.photo_refused", "room": str(photo.room_id), "message_id": message.pk,
                   "client_id": message.client_id, "message": REFUSED_SENTENCE}  # fmt: skip
        send_to_users([photo.sender_id], refused)
        return verdict
    TextChatMessage.objects.filter(pk=message.pk).update(deleted=False)
    message.deleted = False
    _add_to_history(message)
    send_to_users([photo.sender_id, photo.receiver_id], {"type": "chat.message", **events.message_payload(message)})
    return verdict


def _add_to_history(message: TextChatMessage) -> None:
    """A photo passed after its call ended: the snapshot both people's history took at the end
    lacked it; it goes in at its place (messages are ordered by id)."""
    entry = message_snapshot(message)
    for history in ChatHistory.objects.select_for_update().filter(room_id=message.room_id):
        if any(m.get("id") == message.pk for m in history.messages):
            continue
        history.messages = sorted([*history.messages, entry], key=lambda m: m.get("id") or 0)
        history.save(update_fields=["messages"])


def photo_files_of_user(user_id) -> list[str]:
    """The files of every photo sent or received by `user_id` (deleted with the account)."""
    return list(CallPhoto.objects.filter(Q(sender_id=user_id) | Q(receiver_id=user_id)).values_list("file", flat=True))


def delete_photo_files(names) -> None:
    """After the rows went (retention, a deleted account): their files go too."""
    for name in names:
        _delete_file(name)


def _delete_file(name: str) -> None:
    try:
        default_storage.delete(name)
    except OSError:
        logger.warning("could not delete photo file %s", name, extra={"event": "photo.delete_failed"})
