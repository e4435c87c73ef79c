"""Invite codes (gate to sign-up) and introduction links."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from config.db import in_choices

INVITE_CODE_PATTERN = r"^[A-Z0-9]{16}$"
REFERRAL_CODE_PATTERN = r"^[A-Za-z0-9]{10}$"


class InviteCodeType(models.TextChoices):
    USER = "user"
    ADMIN = "admin"


class InviteCode(models.Model):
    """A code that lets a newcomer sign up. User codes (4 uses) belong to a user; admin codes
    (unlimited or N uses) are made by staff for posters. uses_remaining only goes down by a
    conditional UPDATE, so parallel sign-ups cannot overspend it (the CHECK backs that up)."""

    Type = InviteCodeType

    USER_CODE_USES = 4

    code = models.CharField(max_length=16, primary_key=True)
    type = models.CharField(max_length=5, choices=Type.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="invite_codes"
    )
    created_by_name = models.CharField(max_length=60, blank=True, default="")
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    uses_remaining = models.IntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "invite_codes"
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=INVITE_CODE_PATTERN), name="referrals_invite_codes_format"),
            models.CheckConstraint(
                condition=in_choices("type", InviteCodeType), name="referrals_invite_codes_type_valid"
            ),
            models.CheckConstraint(
                condition=(Q(max_uses__isnull=True) & Q(uses_remaining__isnull=True))
                | (
                    Q(max_uses__isnull=False)
                    & Q(uses_remaining__isnull=False)
                    & Q(uses_remaining__gte=0)
                    & Q(uses_remaining__lte=F("max_uses"))
                ),
                name="referrals_invite_codes_uses_in_range",
            ),
            models.CheckConstraint(
                condition=(Q(type="user") & Q(created_by__isnull=False))
                | (Q(type="admin") & Q(created_by__isnull=True)),
                name="referrals_invite_codes_owner_matches_type",
            ),
            models.UniqueConstraint(
                fields=["created_by"], condition=Q(type="user"), name="referrals_invite_codes_one_user_code"
            ),
        ]
        indexes = [
            # The admin's invite code list, newest first.
            models.Index(fields=["-created_at"], name="invite_codes_created_at"),
        ]

    def __str__(self):
        return self.code


class InviteCodeUse(models.Model):
    """Who used which code, once each (UNIQUE(code, user))."""

    code = models.ForeignKey(InviteCode, on_delete=models.CASCADE, related_name="uses", db_column="code")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invite_code_uses")
    used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "invite_code_uses"
        constraints = [
            models.UniqueConstraint(fields=["code", "user"], name="referrals_invite_code_uses_once"),
        ]

    def __str__(self):
        return f"{self.code_id} used by {self.user_id}"


class ReferralMapping(models.Model):
    """An introduction link: a newcomer who signs up with referral_code is introduced to
    target_user (shown first in the newcomer's reel)."""

    referral_code = models.CharField(max_length=10, primary_key=True)
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referrals_as_target"
    )
    created_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referrals_created"
    )
    target_name = models.CharField(max_length=60)
    created_by_name = models.CharField(max_length=60)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "referral_mappings"
        constraints = [
            models.CheckConstraint(
                condition=Q(referral_code__regex=REFERRAL_CODE_PATTERN), name="referrals_referral_mappings_format"
            ),
        ]

    def __str__(self):
        return self.referral_code


class ReferralNotification(models.Model):
    """Tells for_user that referred_user signed up through an introduction (by introduced_by).
    Also the record the reel uses to show introduced users first."""

    for_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referral_notifications"
    )
    referred_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    introduced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    referred_name = models.CharField(max_length=60)
    introduced_by_name = models.CharField(max_length=60, blank=True, default="")
    read = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "referral_notifications"
        constraints = [
            models.UniqueConstraint(fields=["for_user", "referred_user"], name="referrals_referral_notifications_once"),
            models.CheckConstraint(
                condition=~Q(for_user=F("referred_user")), name="referrals_referral_notifications_not_self"
            ),
        ]
        indexes = [
            # Notification list: WHERE for_user_id=? ORDER BY created_at DESC; reel: WHERE referred_user_id=?.
            models.Index(fields=["for_user", "-created_at"], name="referral_notif_for_user"),
            models.Index(fields=["referred_user"], name="referral_notif_referred"),
        ]

    def __str__(self):
        return f"{self.referred_name} introduced to {self.for_user_id}"


class WaitlistEntry(models.Model):
    """A visitor without an invite code who asked to be let in (referrals.waitlist). Counts
    only once `verified_at` is set (the 6-digit code sent to `email` was typed back). The
    code is stored as an HMAC with its expiry and wrong-guess count, like email codes;
    `code_sends` counts the codes sent since `code_window_start` (3 an hour)."""

    MAX_ATTEMPTS = 5

    email = models.EmailField(max_length=254, unique=True)
    name = models.CharField(max_length=60)
    school = models.CharField(max_length=100)
    state = models.CharField(max_length=40)
    ip = models.GenericIPAddressField(null=True, blank=True)
    code_digest = models.CharField(max_length=128, blank=True, default="")
    code_expires_at = models.DateTimeField(null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(default=0)
    code_sends = models.PositiveSmallIntegerField(default=0)
    code_window_start = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    invited_at = models.DateTimeField(null=True, blank=True)
    invite_code = models.ForeignKey(
        InviteCode, on_delete=models.SET_NULL, null=True, blank=True, related_name="waitlist_entries"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "waitlist_entries"
        verbose_name_plural = "waitlist entries"
        constraints = [
            models.CheckConstraint(condition=Q(email=Lower("email")), name="referrals_waitlist_email_lowercase"),
            models.CheckConstraint(
                condition=Q(code_attempts__gte=0) & Q(code_attempts__lte=5), name="referrals_waitlist_attempts_0_5"
            ),
            models.CheckConstraint(
                condition=Q(invited_at__isnull=True) | Q(verified_at__isnull=False),
                name="referrals_waitlist_invited_only_if_verified",
            ),
            models.CheckConstraint(
                condition=~Q(name="") & ~Q(school="") & ~Q(state=""), name="referrals_waitlist_fields_set"
            ),
        ]
        indexes = [
            # Admin list: newest first, filtered by verified/invited.
            models.Index(fields=["-created_at"], name="waitlist_created"),
            models.Index(fields=["school"], name="waitlist_school"),
        ]

    def __str__(self):
        return f"waitlist {self.email}"
