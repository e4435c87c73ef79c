"""Call invites and the cooldowns that keep a pair apart after an invite or a call."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from chat.models.common import ChatMode, _call_seconds_in_range
from config.db import in_choices


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
