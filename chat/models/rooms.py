"""Rooms (a call between two users, from accept to end), their live membership, and the
completion each finished call leaves per user."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from chat.models.common import ChatMode, _call_seconds_in_range
from config.db import in_choices


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


class ActiveRoomQuerySet(models.QuerySet):
    def with_due(self, now):
        """Each room with `due_reason`: why it must end at `now` ('timer', 'disconnect',
        'inactivity') or None. The rule is one SQL function, rdv_room_due (chat/sql/room_due.sql),
        which the message statement calls too; here it is read in the same query as the room."""
        due = RawSQL("rdv_room_due(active_rooms, %s, %s)", (now, ActiveRoom.INACTIVITY_END_AFTER))
        return self.annotate(due_reason=due)


class ActiveRoom(models.Model):
    """A call between two users, from accept to end. Timers are timestamps (ends_at,
    grace_period_expires), so a restart loses nothing: overdue rooms are ended by the
    periodic task or start-up recovery, others resume. "A user is in at most one live
    room" is enforced by ActiveRoomMember, which a trigger keeps in step with this table."""

    Status = ActiveRoomStatus
    EndReason = ActiveRoomEndReason

    GRACE = timedelta(seconds=10)
    # The text-room rules: a warning after 60 s of silence, the end after 120 s; a
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
    # Text-room inactivity rule: last message per side and when the warning went out.
    user_1_last_message_at = models.DateTimeField(null=True, blank=True)
    user_2_last_message_at = models.DateTimeField(null=True, blank=True)
    inactivity_warned_at = models.DateTimeField(null=True, blank=True)
    upgrade_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    upgraded_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True, default="")

    objects = ActiveRoomQuerySet.as_manager()

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

    def inactivity_warning_due(self, now) -> bool:
        """A silent text call gets its one warning after INACTIVITY_WARNING_AFTER."""
        return (
            self.text_rule_applies
            and self.inactivity_warned_at is None
            and now - self.quiet_since() >= self.INACTIVITY_WARNING_AFTER
        )

    def next_deadline(self):
        """When this room next needs a look (end, grace expiry, inactivity warning or end): the
        timers' schedule. Waking early only re-reads the room; whether it is due is
        rdv_room_due's answer (ActiveRoom.objects.with_due), never this one's."""
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
    (chat/sql/chat_active_rooms_sync_members.sql; the triggers are chat migration 0002): rows
    appear when a room is inserted live and vanish when it ends. The primary key is the user,
    so the database refuses a user in two live rooms whichever side (user_1/user_2) they are on.
    Also the index for "is this user in a room"."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="live_room_membership"
    )
    room = models.ForeignKey(ActiveRoom, on_delete=models.CASCADE, related_name="members")

    class Meta:
        db_table = "active_room_members"

    def __str__(self):
        return f"{self.user_id} in {self.room_id}"


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
