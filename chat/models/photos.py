"""Photos sent in text calls: the stored file behind a message of type `image`, and where
screening is with it. The partner sees a photo only once screening passed it."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from chat.models.messages import TextChatMessage
from chat.models.rooms import ActiveRoom
from config.db import in_choices


class CallPhotoStatus(models.TextChoices):
    PENDING = "pending"  # uploaded, waiting for the image screening: shown to its sender only
    PASSED = "passed"  # screening passed it: the partner has it
    HIDDEN = "hidden"  # at or above the nudity threshold: never shown to the partner; a case is open


class CallPhoto(models.Model):
    """One photo a participant sent in a live text call. `id` is random (a UUID4) and is the
    only name the API knows it by; `file` is its storage name (also random, never served under
    /media/: GET /api/photos/<id> checks who asks). Its message (type `image`) is created in the
    same transaction and stays withheld (`deleted`, which every reader of messages honours:
    reconnect replay, the end-of-call snapshot) until screening passes the photo. Deleted, with
    its file, by retention at the age messages are archived, and with either account."""

    Status = CallPhotoStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.OneToOneField(TextChatMessage, on_delete=models.CASCADE, related_name="photo")
    room = models.ForeignKey(ActiveRoom, on_delete=models.CASCADE, related_name="+")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    receiver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    file = models.CharField(max_length=255, unique=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()
    status = models.CharField(max_length=7, choices=Status.choices, default=Status.PENDING)
    nudity_score = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    screened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "call_photos"
        constraints = [
            models.CheckConstraint(condition=in_choices("status", CallPhotoStatus), name="chat_call_photos_status"),
            models.CheckConstraint(
                condition=Q(status=CallPhotoStatus.PENDING) | Q(screened_at__isnull=False),
                name="chat_call_photos_screened_has_time",
            ),
            models.CheckConstraint(condition=~Q(sender=models.F("receiver")), name="chat_call_photos_two_people"),
        ]
        indexes = [
            models.Index(fields=["room"], name="call_photos_room"),
            models.Index(fields=["sender"], name="call_photos_sender"),
            models.Index(fields=["receiver"], name="call_photos_receiver"),
        ]

    def __str__(self):
        return f"photo {self.pk} in {self.room_id} ({self.status})"

    @property
    def url(self) -> str:
        return photo_url(self.pk)


def photo_url(photo_id) -> str:
    """The permission-checked address of a photo (the only one: no public media URL)."""
    return f"/api/photos/{photo_id}"
