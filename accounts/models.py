"""Users, auth sessions, email codes and locations."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from config.db import HEX_SHA256, in_choices, json_array_all_match, json_array_at_most, json_is

# An Instagram post or reel URL; the same rule as accounts.validation, in jsonpath syntax.
INSTAGRAM_POST_JSONPATH_REGEX = r"^https://(www\\.)?instagram\\.com/(p|reel|reels)/[A-Za-z0-9_-]{5,40}/?$"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email=None, password=None, **fields):
        fields.setdefault("account_type", User.AccountType.PERMANENT if email else User.AccountType.GUEST)
        if email:
            email = email.strip().lower()
        user = self.model(email=email or None, **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        if user.account_type == User.AccountType.GUEST and user.account_expires_at is None:
            user.account_expires_at = timezone.now() + User.GUEST_LIFETIME
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **fields):
        """`manage.py createsuperuser`: a permanent, verified staff account (a moderator)."""
        fields.setdefault("name", email.split("@")[0][:60] or "admin")
        fields.update(
            is_staff=True,
            is_superuser=True,
            email_verified=True,
            access_status=User.AccessStatus.PAID,
            access_granted_at=timezone.now(),
        )
        return self.create_user(email=email, password=password, **fields)


class UserGender(models.TextChoices):
    FEMALE = "female"
    MALE = "male"
    NONBINARY = "nonbinary"
    UNSPECIFIED = "unspecified"


# Who I want to meet (accounts.preferences): genders as stored in users.gender, and call modes.
# Everyone = every gender, "unspecified" included; the default is everyone and both modes.
MEET_MODES = ("text", "video")


def meet_everyone() -> list[str]:
    return list(UserGender.values)


def meet_all_modes() -> list[str]:
    return list(MEET_MODES)


class UserAccountType(models.TextChoices):
    GUEST = "guest"
    PERMANENT = "permanent"


class UserAccessStatus(models.TextChoices):
    UNPAID = "unpaid"
    OPEN_SIGNUP = "open_signup", "Open sign-up"
    QR_GRACE_PERIOD = "qr_grace_period", "QR grace period"
    QR_VERIFIED = "qr_verified", "QR verified"
    PAID = "paid"


class UserBanStatus(models.TextChoices):
    NONE = "none"
    TEMPORARY = "temporary"
    PERMANENT = "permanent"
    VINDICATED = "vindicated"


class User(AbstractBaseUser, PermissionsMixin):
    """A student (guest or permanent) or a staff member; moderators are staff in the
    "moderators" group. Timer totals and counters live here and grow only through the
    room-ending transaction (chat.services)."""

    GUEST_LIFETIME = timedelta(days=7)

    Gender = UserGender
    AccountType = UserAccountType
    AccessStatus = UserAccessStatus
    BanStatus = UserBanStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=60)
    gender = models.CharField(max_length=12, choices=Gender.choices, default=Gender.UNSPECIFIED)
    account_type = models.CharField(max_length=10, choices=AccountType.choices, default=AccountType.GUEST)
    # Unique and lower-case (CHECK below): together, unique case-insensitively.
    email = models.EmailField(max_length=254, null=True, blank=True, unique=True)
    email_verified = models.BooleanField(default=False)
    selfie = models.FileField(upload_to="selfies/", null=True, blank=True, max_length=255)
    video = models.FileField(upload_to="videos/", null=True, blank=True, max_length=255)
    socials = models.JSONField(default=dict, blank=True)
    instagram_posts = models.JSONField(default=list, blank=True)
    timer_total_seconds = models.BigIntegerField(default=0)
    session_count = models.IntegerField(default=0)
    successful_sessions = models.IntegerField(default=0)
    streak_days = models.IntegerField(default=0)
    access_status = models.CharField(max_length=20, choices=AccessStatus.choices, default=AccessStatus.UNPAID)
    access_granted_at = models.DateTimeField(null=True, blank=True)
    # Snapshot of the code typed at sign-up; the authoritative link is referrals.InviteCodeUse.
    invite_code_used = models.CharField(max_length=16, null=True, blank=True)
    qr_unlocked = models.BooleanField(default=False)
    qr_unlocked_at = models.DateTimeField(null=True, blank=True)
    ban_status = models.CharField(max_length=12, choices=BanStatus.choices, default=BanStatus.NONE)
    # A temporary ban's end (a suspension's); NULL while temporary means until a moderator
    # decides. Whether a ban is in force is read against it (accounts.selectors.is_banned).
    ban_ends_at = models.DateTimeField(null=True, blank=True)
    # HMAC-SHA256 of the USC ID (never the raw ID); set at USC sign-up, before finalize-registration.
    usc_id_hash = models.CharField(max_length=64, null=True, blank=True)
    usc_verified_at = models.DateTimeField(null=True, blank=True)
    account_expires_at = models.DateTimeField(null=True, blank=True)
    location_consent = models.BooleanField(default=False)
    # Applied mutually in the reel and at invite time (chat.reel, rdv_send_invite).
    meet_genders = ArrayField(models.CharField(max_length=12), default=meet_everyone)
    meet_modes = ArrayField(models.CharField(max_length=5), default=meet_all_modes)
    # Whether the person stays in others' reels while their pages show something else than
    # the reel (settings, history, ...), under the hidden and idle rules of chat.presence_state.
    discoverable_while_browsing = models.BooleanField(default=True, db_default=True)
    # When the user last shared a location; kept when the location is deleted, so deleting
    # and re-sharing cannot beat the once-per-30-minutes rule.
    location_updated_at = models.DateTimeField(null=True, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        db_table = "users"
        constraints = [
            models.CheckConstraint(
                condition=Q(email__isnull=True) | Q(email=Lower("email")), name="accounts_users_email_lowercase"
            ),
            models.UniqueConstraint(fields=["usc_id_hash"], name="accounts_users_usc_id_hash_unique"),
            models.CheckConstraint(
                condition=Q(usc_id_hash__isnull=True) | Q(usc_id_hash__regex=HEX_SHA256),
                name="accounts_users_usc_id_hash_is_digest",
            ),
            models.CheckConstraint(condition=Q(name__regex=r"\S"), name="accounts_users_name_not_blank"),
            models.CheckConstraint(condition=in_choices("gender", UserGender), name="accounts_users_gender_valid"),
            models.CheckConstraint(
                condition=in_choices("account_type", UserAccountType), name="accounts_users_account_type_valid"
            ),
            models.CheckConstraint(
                condition=in_choices("access_status", UserAccessStatus), name="accounts_users_access_status_valid"
            ),
            models.CheckConstraint(
                condition=in_choices("ban_status", UserBanStatus), name="accounts_users_ban_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(ban_ends_at__isnull=True) | Q(ban_status="temporary"),
                name="accounts_users_ban_end_only_temporary",
            ),
            models.CheckConstraint(
                condition=Q(account_type="guest") | Q(email__isnull=False),
                name="accounts_users_permanent_has_email",
            ),
            models.CheckConstraint(
                condition=Q(account_type="permanent") | Q(account_expires_at__isnull=False),
                name="accounts_users_guest_expires",
            ),
            models.CheckConstraint(
                condition=Q(timer_total_seconds__gte=0)
                & Q(session_count__gte=0)
                & Q(successful_sessions__gte=0)
                & Q(streak_days__gte=0)
                & Q(successful_sessions__lte=models.F("session_count")),
                name="accounts_users_counters_valid",
            ),
            models.CheckConstraint(condition=json_is("socials", "object"), name="accounts_users_socials_object"),
            models.CheckConstraint(
                condition=json_is("instagram_posts", "array"), name="accounts_users_instagram_posts_array"
            ),
            models.CheckConstraint(
                condition=json_array_at_most("instagram_posts", 10), name="accounts_users_instagram_posts_max_10"
            ),
            models.CheckConstraint(
                condition=json_array_all_match("instagram_posts", INSTAGRAM_POST_JSONPATH_REGEX),
                name="accounts_users_instagram_posts_are_post_urls",
            ),
            models.CheckConstraint(
                condition=Q(meet_genders__contained_by=list(UserGender.values)) & ~Q(meet_genders=[]),
                name="accounts_users_meet_genders_valid",
            ),
            models.CheckConstraint(
                condition=Q(meet_modes__contained_by=list(MEET_MODES)) & ~Q(meet_modes=[]),
                name="accounts_users_meet_modes_valid",
            ),
        ]
        indexes = [
            # Sweep of expired guest accounts (chat/moderation tasks): WHERE account_type='guest' AND expires < now.
            models.Index(fields=["account_expires_at"], name="users_guest_expiry", condition=Q(account_type="guest")),
            # The admin's user list, newest first (one index scan for a page of 100k users).
            models.Index(fields=["-created_at"], name="users_created_at"),
        ]

    def __str__(self):
        return f"{self.name} <{self.email or 'guest'}>"

    def get_full_name(self):
        return self.name

    def get_short_name(self):
        return self.name


class AuthSession(models.Model):
    """An API/WebSocket login. The token is shown once; only its SHA-256 digest is stored.
    At most one active session per user (a partial unique index), so a new login must
    deactivate the others in the same transaction."""

    token_digest = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="auth_sessions")
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_active_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "sessions"
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(is_active=True), name="accounts_sessions_one_active_per_user"
            ),
            models.CheckConstraint(
                condition=Q(token_digest__regex=HEX_SHA256), name="accounts_sessions_token_is_digest"
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")), name="accounts_sessions_expiry_after_creation"
            ),
        ]
        indexes = [
            # Sweep of expired sessions: WHERE expires_at < now - retention.
            models.Index(fields=["expires_at"], name="sessions_expires_at"),
            # The admin's session list, newest first.
            models.Index(fields=["-created_at"], name="sessions_created_at"),
        ]

    def __str__(self):
        return f"session {self.pk} of {self.user_id}"


class EmailVerificationPurpose(models.TextChoices):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose name, not a secret
    CARD_LOGIN = "card_login"


class EmailVerification(models.Model):
    """A 6-digit code sent by email (verify an address, reset a password, card login).
    Stored hashed; burns after 5 wrong guesses or 10 minutes."""

    Purpose = EmailVerificationPurpose

    MAX_ATTEMPTS = 5

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="email_verifications")
    email = models.EmailField(max_length=254)
    code_digest = models.CharField(max_length=128)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    attempts = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    consumed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "email_verifications"
        constraints = [
            models.CheckConstraint(
                condition=in_choices("purpose", EmailVerificationPurpose),
                name="accounts_email_verifications_purpose_valid",
            ),
            models.CheckConstraint(
                condition=Q(attempts__gte=0) & Q(attempts__lte=5), name="accounts_email_verifications_attempts_0_5"
            ),
            models.CheckConstraint(
                condition=Q(email=Lower("email")), name="accounts_email_verifications_email_lowercase"
            ),
        ]
        indexes = [
            # Send limit (3 per hour) and "latest live code": WHERE user_id=? AND purpose=? ORDER BY created_at.
            models.Index(fields=["user", "purpose", "created_at"], name="email_verif_user_purpose"),
        ]

    def __str__(self):
        return f"{self.purpose} code for {self.email}"


class UserLocation(models.Model):
    """A consented, coarse location (3 decimals ≈ 100 m) used for the reel's distance buckets.
    Ignored once expires_at has passed (checked at read time)."""

    LIFETIME = timedelta(hours=24)

    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True, related_name="location")
    latitude = models.DecimalField(max_digits=6, decimal_places=3)
    longitude = models.DecimalField(max_digits=6, decimal_places=3)
    accuracy_m = models.PositiveIntegerField()
    updated_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    consent_given_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "user_locations"
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__gte=-90) & Q(latitude__lte=90), name="accounts_user_locations_latitude_range"
            ),
            models.CheckConstraint(
                condition=Q(longitude__gte=-180) & Q(longitude__lte=180),
                name="accounts_user_locations_longitude_range",
            ),
            models.CheckConstraint(
                condition=Q(accuracy_m__lte=50_000), name="accounts_user_locations_accuracy_max_50km"
            ),
        ]
        indexes = [
            # Reel distance filter reads unexpired rows; sweep deletes expired ones.
            models.Index(fields=["expires_at"], name="user_locations_expires_at"),
        ]

    def __str__(self):
        return f"location of {self.user_id}"


# --- gates every sign-in reads -------------------------------------------------------------
# Staff set these through moderation (services and admin); sign-up and login read them here.
# They keep the `moderation` app label: their tables, migrations and admin pages are unchanged.


class IPBan(models.Model):
    """A banned address; expires_at NULL means permanent, else it lapses at read time."""

    ip = models.GenericIPAddressField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="ip_bans"
    )
    reason = models.CharField(max_length=500, blank=True, default="")
    banned_at = models.DateTimeField(default=timezone.now)
    banned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "moderation"
        db_table = "ip_bans"
        verbose_name = "IP ban"
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True) | Q(expires_at__gt=F("banned_at")),
                name="moderation_ip_bans_expiry_after_ban",
            ),
        ]

    def __str__(self):
        return f"IP ban {self.ip}"


class SiteSettings(models.Model):
    """The single row of switches staff flip in the admin (open sign-up, ...)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    open_signup = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "moderation"
        db_table = "site_settings"
        verbose_name = "site settings"
        verbose_name_plural = "site settings"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="moderation_site_settings_singleton"),
        ]

    def __str__(self):
        return "Site settings"
