"""Room messages, each user's chat history of finished rooms, and the archive tables that
retention moves old rows into."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from chat.models.common import ChatMode
from chat.models.rooms import ActiveRoom
from config.db import in_choices, json_is


class TextChatMessageType(models.TextChoices):
    TEXT = "text"
    IMAGE = "image"
    FILE = "file"
    GIF = "gif"
    SYSTEM = "system"


class TextChatMessage(models.Model):
    """A message in a room (text, GIF, system). client_id makes a resend after a reconnect
    idempotent: one row per (room, sender, client_id)."""

    Type = TextChatMessageType

    MAX_LENGTH = 500
    MAX_URL_LENGTH = 500

    room = models.ForeignKey(ActiveRoom, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    receiver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.TEXT)
    content = models.CharField(max_length=MAX_LENGTH, blank=True, default="")
    url = models.URLField(max_length=MAX_URL_LENGTH, blank=True, default="")
    client_id = models.CharField(max_length=64, null=True, blank=True)
    sent_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    deleted = models.BooleanField(default=False)

    class Meta:
        db_table = "text_chat_messages"
        constraints = [
            models.CheckConstraint(
                condition=in_choices("type", TextChatMessageType), name="chat_text_chat_messages_type_valid"
            ),
            models.UniqueConstraint(
                fields=["room", "sender", "client_id"], name="chat_text_chat_messages_client_id_unique"
            ),
            models.CheckConstraint(
                condition=~Q(type="text") | Q(content__regex=r"\S"), name="chat_text_chat_messages_text_not_blank"
            ),
            models.CheckConstraint(
                condition=~Q(type__in=["gif", "image", "file"]) | ~Q(url=""),
                name="chat_text_chat_messages_media_has_url",
            ),
            models.CheckConstraint(
                condition=Q(type="system") | Q(sender__isnull=False), name="chat_text_chat_messages_user_has_sender"
            ),
        ]
        indexes = [
            # Room transcript and reconnect replay: WHERE room_id=? ORDER BY sent_at / id > since.
            models.Index(fields=["room", "sent_at"], name="text_msgs_room_sent_at"),
        ]

    def __str__(self):
        return f"message {self.pk} in {self.room_id}"


class ChatHistory(models.Model):
    """What a user sees on their history page: one row per user per finished room, with a
    snapshot of the partner's name and of the messages (so it survives message retention)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_history")
    partner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    partner_name = models.CharField(max_length=60)
    room = models.ForeignKey(ActiveRoom, on_delete=models.SET_NULL, null=True, blank=True, related_name="history")
    chat_mode = models.CharField(max_length=5, choices=ChatMode.choices)
    started_at = models.DateTimeField()
    duration_seconds = models.PositiveIntegerField()
    messages = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "chat_history"
        verbose_name_plural = "chat history"
        constraints = [
            models.UniqueConstraint(fields=["user", "room"], name="chat_chat_history_once_per_room"),
            models.CheckConstraint(condition=in_choices("chat_mode", ChatMode), name="chat_chat_history_mode_valid"),
            models.CheckConstraint(condition=json_is("messages", "array"), name="chat_chat_history_messages_array"),
        ]
        indexes = [
            # History page: WHERE user_id=? ORDER BY started_at DESC.
            models.Index(fields=["user", "-started_at"], name="chat_history_user_started"),
        ]

    def __str__(self):
        return f"{self.user_id} with {self.partner_name} at {self.started_at:%Y-%m-%d %H:%M}"


class ArchivedTextChatMessage(models.Model):
    """A room message moved out of text_chat_messages by retention (RETENTION_MESSAGES_DAYS
    after its room ended), same id and columns, so `manage.py restore_archive` can put it
    back unchanged. restored_at marks a row put back: it stays here as the record, and the
    live copy is exempt from archiving again (the sweep skips ids present here)."""

    id = models.BigIntegerField(primary_key=True)
    room = models.ForeignKey(ActiveRoom, on_delete=models.CASCADE, related_name="+")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    receiver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    type = models.CharField(max_length=10, choices=TextChatMessageType.choices)
    content = models.CharField(max_length=TextChatMessage.MAX_LENGTH, blank=True, default="")
    url = models.URLField(max_length=TextChatMessage.MAX_URL_LENGTH, blank=True, default="")
    client_id = models.CharField(max_length=64, null=True, blank=True)
    sent_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    deleted = models.BooleanField(default=False)
    archived_at = models.DateTimeField(default=timezone.now)
    restored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "archived_text_chat_messages"
        indexes = [
            # restore_archive --room / --user: WHERE room_id=? / sender_id=? OR receiver_id=?.
            models.Index(fields=["room", "sent_at"], name="archived_msgs_room_sent_at"),
            models.Index(fields=["sender"], name="archived_msgs_sender"),
            models.Index(fields=["receiver"], name="archived_msgs_receiver"),
        ]

    def __str__(self):
        return f"archived message {self.pk} in {self.room_id}"


class ArchivedChatHistory(models.Model):
    """A chat_history row moved out by retention (RETENTION_CHAT_HISTORY_DAYS after it was
    written), same id and columns; restored_at as for ArchivedTextChatMessage."""

    id = models.BigIntegerField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    partner_name = models.CharField(max_length=60)
    room = models.ForeignKey(ActiveRoom, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    chat_mode = models.CharField(max_length=5, choices=ChatMode.choices)
    started_at = models.DateTimeField()
    duration_seconds = models.PositiveIntegerField()
    messages = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    archived_at = models.DateTimeField(default=timezone.now)
    restored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "archived_chat_history"
        verbose_name_plural = "archived chat history"
        indexes = [
            # restore_archive --user: WHERE user_id=? AND started_at < ?.
            models.Index(fields=["user", "started_at"], name="archived_history_user"),
            models.Index(fields=["room"], name="archived_history_room"),
        ]

    def __str__(self):
        return f"archived history {self.pk} of {self.user_id}"
