"""Invites, rooms, messages, cooldowns and the records a finished call leaves (SPEC §2, §3, §6).

Presence lives in Redis (ephemeral by design); everything here is the source of truth."""

import uuid
from datetime import time, timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.lookups import Exact
from django.utils import timezone

from config.db import in_choices, json_is

MIN_CALL_SECONDS = 60
MAX_CALL_SECONDS = 1800


class ChatMode(models.TextChoices):
    VIDEO = "video"
    TEXT = "text"


def _call_seconds_in_range(field: str) -> Q:
    return Q(**{f"{field}__gte": MIN_CALL_SECONDS, f"{field}__lte": MAX_CALL_SECONDS})


class CooldownReason(models.TextChoices):
    SESSION_END = "session_end"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    ADMIN = "admin"


class Cooldown(models.Model):
    """A pair of users who must not be shown to each other until expires_at. The pair is
    stored ordered (user_low < user_high) so (a, b) and (b, a) are one row; a pair is on
    cooldown iff its row has expires_at > now (checked at read time, the sweep only tidies)."""

    Reason = CooldownReason

    SESSION_END_TTL = timedelta(hours=24)
    DECLINED_TTL = timedelta(hours=24)
    CANCELLED_TTL = timedelta(hours=1)

    user_low = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    user_high = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=20, choices=Reason.choices)

    class Meta:
        db_table = "cooldowns"
        constraints = [
            models.CheckConstraint(condition=Q(user_low__lt=F("user_high")), name="chat_cooldowns_pair_ordered"),
            models.UniqueConstraint(fields=["user_low", "user_high"], name="chat_cooldowns_pair_unique"),
            models.CheckConstraint(condition=in_choices("reason", CooldownReason), name="chat_cooldowns_reason_valid"),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")), name="chat_cooldowns_expiry_after_creation"
            ),
        ]
        indexes = [
            # Reel filter "not on cooldown with me" looks up (me, other) both ways; the
            # unique index serves user_low lookups, this one user_high. Sweep uses expires_at.
            models.Index(fields=["user_high", "expires_at"], name="cooldowns_high_expires"),
            models.Index(fields=["expires_at"], name="cooldowns_expires_at"),
        ]

    def __str__(self):
        return f"cooldown {self.user_low_id}/{self.user_high_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class CallInviteStatus(models.TextChoices):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class CallInvite(models.Model):
    """A 20-second call invitation. Expiry is a timestamp checked at read time; accepting
    locks this row (SELECT … FOR UPDATE) so exactly one accept wins."""

    Status = CallInviteStatus

    TTL = timedelta(seconds=20)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invites_sent")
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invites_received")
    chat_mode = models.CharField(max_length=5, choices=ChatMode.choices)
    requested_seconds = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)
    callee_seconds = models.PositiveIntegerField(null=True, blank=True)
    room = models.ForeignKey("ActiveRoom", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        db_table = "call_invites"
        constraints = [
            models.CheckConstraint(condition=~Q(from_user=F("to_user")), name="chat_call_invites_not_self"),
            models.CheckConstraint(
                condition=in_choices("status", CallInviteStatus), name="chat_call_invites_status_valid"
            ),
            models.CheckConstraint(condition=in_choices("chat_mode", ChatMode), name="chat_call_invites_mode_valid"),
            models.CheckConstraint(
                condition=_call_seconds_in_range("requested_seconds"), name="chat_call_invites_seconds_range"
            ),
            models.CheckConstraint(
                condition=Q(callee_seconds__isnull=True) | _call_seconds_in_range("callee_seconds"),
                name="chat_call_invites_callee_seconds_range",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")), name="chat_call_invites_expiry_after_creation"
            ),
            models.CheckConstraint(
                condition=~Q(status="pending") | Q(responded_at__isnull=True),
                name="chat_call_invites_pending_unanswered",
            ),
            models.UniqueConstraint(
                fields=["from_user"], condition=Q(status="pending"), name="chat_call_invites_one_pending_per_caller"
            ),
            models.UniqueConstraint(
                fields=["to_user"], condition=Q(status="pending"), name="chat_call_invites_one_pending_per_callee"
            ),
        ]
        indexes = [
            # Sweep of expired invites: WHERE status='pending' AND expires_at < now.
            models.Index(fields=["expires_at"], name="call_invites_pending_expiry", condition=Q(status="pending")),
        ]

    def __str__(self):
        return f"invite {self.pk} ({self.status})"


class ActiveRoomStatus(models.TextChoices):
    ACTIVE = "active"
    GRACE_PERIOD = "grace_period"
    ENDED = "ended"


class ActiveRoomEndReason(models.TextChoices):
    TIMER = "timer"
    USER_ENDED = "user_ended"
    DISCONNECT = "disconnect"
    INACTIVITY = "inactivity"
    BANNED = "banned"
    ADMIN = "admin"
    ACCOUNT_DELETED = "account_deleted"


class ActiveRoom(models.Model):
    """A call between two users, from accept to end. Timers are timestamps (ends_at,
    grace_period_expires), so a restart loses nothing: overdue rooms are ended by the
    periodic task or start-up recovery, others resume. "A user is in at most one live
    room" is enforced by ActiveRoomMember, which a trigger keeps in step with this table."""

    Status = ActiveRoomStatus
    EndReason = ActiveRoomEndReason

    GRACE = timedelta(seconds=10)
    # The text-room rules (SPEC §6): a warning after 60 s of silence, the end after 120 s; a
    # text call may ask for video after its first minute.
    INACTIVITY_WARNING_AFTER = timedelta(seconds=60)
    INACTIVITY_END_AFTER = timedelta(seconds=120)
    UPGRADE_AFTER = timedelta(seconds=60)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_1 = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rooms_as_user_1")
    user_2 = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rooms_as_user_2")
    chat_mode = models.CharField(max_length=5, choices=ChatMode.choices)
    duration_seconds = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    grace_period_expires = models.DateTimeField(null=True, blank=True)
    user_1_connected = models.BooleanField(default=False)
    user_2_connected = models.BooleanField(default=False)
    # Text-room inactivity rule (SPEC §6): last message per side and when the warning went out.
    user_1_last_message_at = models.DateTimeField(null=True, blank=True)
    user_2_last_message_at = models.DateTimeField(null=True, blank=True)
    inactivity_warned_at = models.DateTimeField(null=True, blank=True)
    upgrade_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    upgraded_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True, default="")

    class Meta:
        db_table = "active_rooms"
        constraints = [
            models.CheckConstraint(condition=~Q(user_1=F("user_2")), name="chat_active_rooms_two_people"),
            models.CheckConstraint(
                condition=in_choices("status", ActiveRoomStatus), name="chat_active_rooms_status_valid"
            ),
            models.CheckConstraint(condition=in_choices("chat_mode", ChatMode), name="chat_active_rooms_mode_valid"),
            models.CheckConstraint(
                condition=_call_seconds_in_range("duration_seconds"), name="chat_active_rooms_duration_range"
            ),
            models.CheckConstraint(condition=Q(ends_at__gt=F("started_at")), name="chat_active_rooms_ends_after_start"),
            models.CheckConstraint(
                condition=(Q(status="ended") & Q(ended_at__isnull=False) & ~Q(end_reason=""))
                | (~Q(status="ended") & Q(ended_at__isnull=True) & Q(end_reason="")),
                name="chat_active_rooms_ended_iff_ended_at",
            ),
            models.CheckConstraint(
                condition=~Q(status="grace_period") | Q(grace_period_expires__isnull=False),
                name="chat_active_rooms_grace_has_expiry",
            ),
            models.CheckConstraint(
                condition=Q(end_reason="") | in_choices("end_reason", ActiveRoomEndReason),
                name="chat_active_rooms_end_reason_valid",
            ),
        ]
        indexes = [
            # "End overdue rooms" (beat task, start-up recovery): WHERE status<>'ended' AND ends_at < now.
            models.Index(fields=["ends_at"], name="active_rooms_live_ends_at", condition=~Q(status="ended")),
            # Grace expiry sweep: WHERE status='grace_period' AND grace_period_expires < now.
            models.Index(
                fields=["grace_period_expires"], name="active_rooms_grace_expiry", condition=Q(status="grace_period")
            ),
            # Live stats: calls today / per hour over 24 h (chat.live_stats), WHERE started_at >= ?.
            models.Index(fields=["started_at"], name="active_rooms_started_at"),
        ]

    def __str__(self):
        return f"room {self.pk} ({self.status})"

    @property
    def is_live(self) -> bool:
        return self.status != self.Status.ENDED

    def partner_id(self, user_id):
        """The other member's id (`user_id` must be a member)."""
        return self.user_2_id if str(self.user_1_id) == str(user_id) else self.user_1_id

    @property
    def text_rule_applies(self) -> bool:
        """The inactivity rule holds for a text call that was not upgraded to video."""
        return self.chat_mode == ChatMode.TEXT and self.upgraded_at is None

    def quiet_since(self):
        """The earlier of the two sides' last message (or the start): whoever is silent longest."""
        last_1 = self.user_1_last_message_at or self.started_at
        last_2 = self.user_2_last_message_at or self.started_at
        return min(last_1, last_2)

    def due(self, now) -> str | None:
        """Why this live room must end now, if it must (by timestamps). The same rule in SQL is
        rdv_room_due (chat migration 0006), used by the message statement; a test keeps them equal."""
        if self.ends_at <= now:
            return self.EndReason.TIMER
        if self.status == self.Status.GRACE_PERIOD and self.grace_period_expires <= now:
            return self.EndReason.DISCONNECT
        if self.text_rule_applies and now - self.quiet_since() >= self.INACTIVITY_END_AFTER:
            return self.EndReason.INACTIVITY
        return None

    def inactivity_warning_due(self, now) -> bool:
        """A silent text call gets its one warning after INACTIVITY_WARNING_AFTER."""
        return (
            self.text_rule_applies
            and self.inactivity_warned_at is None
            and now - self.quiet_since() >= self.INACTIVITY_WARNING_AFTER
        )

    def next_deadline(self):
        """When this room next needs a look (end, grace expiry, inactivity warning or end)."""
        times = [self.ends_at]
        if self.status == self.Status.GRACE_PERIOD and self.grace_period_expires:
            times.append(self.grace_period_expires)
        if self.text_rule_applies:
            quiet = self.quiet_since()
            times.append(quiet + self.INACTIVITY_END_AFTER)
            if self.inactivity_warned_at is None:
                times.append(quiet + self.INACTIVITY_WARNING_AFTER)
        return min(times)


class ActiveRoomMember(models.Model):
    """One row per user per live room, written only by a PostgreSQL trigger on active_rooms
    (migration 0002): rows appear when a room is inserted live and vanish when it ends. The
    primary key is the user, so the database refuses a user in two live rooms whichever
    side (user_1/user_2) they are on. Also the index for "is this user in a room"."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="live_room_membership"
    )
    room = models.ForeignKey(ActiveRoom, on_delete=models.CASCADE, related_name="members")

    class Meta:
        db_table = "active_room_members"

    def __str__(self):
        return f"{self.user_id} in {self.room_id}"


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


class SessionCompletion(models.Model):
    """One finished call, per user. Unique (user, room), so ending a room twice never
    double counts; users.timer_total_seconds always equals the sum of these durations."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="session_completions")
    partner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    room = models.ForeignKey(ActiveRoom, on_delete=models.SET_NULL, null=True, blank=True, related_name="completions")
    duration_seconds = models.PositiveIntegerField()
    completed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "session_completions"
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_seconds__gt=0), name="chat_session_completions_duration_positive"
            ),
            models.UniqueConstraint(fields=["user", "room"], name="chat_session_completions_once_per_room"),
        ]

    def __str__(self):
        return f"{self.user_id}: {self.duration_seconds}s in {self.room_id}"


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


# --- event mode (opening hours, passes, RSVPs) ---------------------------------------------

# Every item of the weekdays array is a whole number 0 (Monday) … 6 (Sunday).
_WEEKDAYS_JSONPATH = '$[*] ? (@.type() != "number" || @ < 0 || @ > 6 || @.floor() != @)'


class EventSettings(models.Model):
    """The single row of event mode (edited in the admin, audited; chat.event_mode). While
    `enabled`, the reel and new calls are open only inside the daily window (local time in
    `time_zone`, on `weekdays`, every day if empty). The window may not cross midnight (CHECK).
    No row means event mode off: the row is written by the first save."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    enabled = models.BooleanField(default=False)
    window_start = models.TimeField(default=time(19, 0))
    window_end = models.TimeField(default=time(22, 0))
    # An IANA zone name, validated with zoneinfo by the service (and against PostgreSQL's
    # pg_timezone_names by persistence_check).
    time_zone = models.CharField(max_length=64, default="America/Los_Angeles")
    weekdays = models.JSONField(default=list, blank=True, help_text="0 = Monday … 6 = Sunday; empty = every day")
    title = models.CharField(max_length=80, blank=True, default="")
    banner = models.CharField(max_length=500, blank=True, default="")
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "event_settings"
        verbose_name = "event settings"
        verbose_name_plural = "event settings"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="chat_event_settings_singleton"),
            models.CheckConstraint(
                condition=Q(window_start__lt=F("window_end")), name="chat_event_settings_window_in_one_day"
            ),
            models.CheckConstraint(condition=json_is("weekdays", "array"), name="chat_event_settings_weekdays_array"),
            models.CheckConstraint(
                condition=Exact(
                    models.Func(
                        F("weekdays"),
                        models.Value(_WEEKDAYS_JSONPATH),
                        function="jsonb_path_exists",
                        output_field=models.BooleanField(),
                    ),
                    models.Value(False),
                ),
                name="chat_event_settings_weekdays_valid",
            ),
            models.CheckConstraint(condition=~Q(time_zone=""), name="chat_event_settings_timezone_set"),
        ]

    def __str__(self):
        return "Event settings"


class EventAccessPass(models.Model):
    """A user staff let in outside the event window ("access outside events"); granted and
    revoked in the admin through chat.event_mode (audited)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="event_access_pass"
    )
    note = models.CharField(max_length=200, blank=True, default="")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "event_access_passes"
        verbose_name = "access outside events"
        verbose_name_plural = "access outside events"

    def __str__(self):
        return f"event access pass of {self.user_id}"


class EventRSVP(models.Model):
    """ "I'll be there": one per (user, date), upserted; `date` is a local date of the event's
    zone, `preferred_time` inside the window when written. Deleted RETENTION_EVENT_RSVPS_DAYS
    after the date by the beat (moderation.retention)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="event_rsvps")
    date = models.DateField()
    preferred_time = models.TimeField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "event_rsvps"
        verbose_name = "event RSVP"
        constraints = [
            models.UniqueConstraint(fields=["user", "date"], name="chat_event_rsvps_one_per_day"),
            models.CheckConstraint(condition=Q(updated_at__gte=F("created_at")), name="chat_event_rsvps_updated"),
        ]
        indexes = [
            # Admin chart (GROUP BY date, 15-minute slot) and the retention sweep (date < cutoff).
            models.Index(fields=["date", "preferred_time"], name="event_rsvps_date_time"),
        ]

    def __str__(self):
        return f"RSVP {self.user_id} {self.date} {self.preferred_time}"


class Block(models.Model):
    """`blocker` blocked `blocked`: the two no longer see each other in the reel or hear each
    other's presence, and invites either way are refused as "not available" (rdv_send_invite,
    rdv_accept_invite; chat migration 0008). One row per ordered pair; unblocking deletes it.
    The two names are as they were when the block was made: the blocker's list shows
    `blocked_name`, so a block never tells either side anything newer about the other."""

    MAX_PER_USER = 1000

    # No single-column indexes: the two below serve every lookup by either column.
    blocker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    blocked = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    blocker_name = models.CharField(max_length=60, default="", db_default="", blank=True)
    blocked_name = models.CharField(max_length=60, default="", db_default="", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "blocks"
        constraints = [
            # Also the index for "did I block them" and my list (blocker first).
            models.UniqueConstraint(fields=["blocker", "blocked"], name="chat_blocks_pair_unique"),
            models.CheckConstraint(condition=~Q(blocker=F("blocked")), name="chat_blocks_not_self"),
        ]
        indexes = [
            # The other way round: "did they block me" (reel, presence, invites look up both).
            models.Index(fields=["blocked", "blocker"], name="blocks_blocked_blocker"),
        ]

    def __str__(self):
        return f"block {self.blocker_id} -> {self.blocked_id}"


# The after-call answers and matches live in their own module (this one is long); importing them here
# registers them with Django and keeps `from chat.models import Match` working.
from chat.match_models import Match, MeetAgainAnswer  # noqa: E402, F401
