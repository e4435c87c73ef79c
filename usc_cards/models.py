"""USC card registrations and scan attempts. Card IDs are stored only as
HMAC-SHA256(ID, server secret) plus the last 4 digits — never the raw ID or barcode."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from config.db import HEX_SHA256, in_choices, json_is

LAST4 = r"^[0-9]{4}$"


class BarcodeFormat(models.TextChoices):
    DIGITS_10 = "digits10"
    DIGITS_14 = "digits14"
    UNKNOWN = "unknown"


class USCCardRegistration(models.Model):
    """The binding of one card to one account, written by finalize-registration."""

    usc_id_hash = models.CharField(max_length=64, unique=True)
    last4 = models.CharField(max_length=4)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="usc_card")
    barcode_format = models.CharField(max_length=10, choices=BarcodeFormat.choices)
    first_scanned_at = models.DateTimeField(default=timezone.now)
    first_scanned_ip = models.GenericIPAddressField(null=True, blank=True)
    last_login_via_card_at = models.DateTimeField(null=True, blank=True)
    total_card_logins = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "usc_card_registrations"
        verbose_name = "USC card registration"
        constraints = [
            models.CheckConstraint(
                condition=Q(usc_id_hash__regex=HEX_SHA256), name="usc_cards_registrations_hash_is_digest"
            ),
            models.CheckConstraint(condition=Q(last4__regex=LAST4), name="usc_cards_registrations_last4_digits"),
        ]
        indexes = [models.Index(fields=["last4"], name="usc_reg_last4")]

    def __str__(self):
        return f"card ••••{self.last4} of {self.user_id}"


class ScanPurpose(models.TextChoices):
    SIGNUP = "signup"  # verify-card: a scan token for sign-up or finalize-registration
    LOGIN_START = "login_start"  # card login, step 1: a code to the account's email
    LOGIN_COMPLETE = "login_complete"  # card login, step 2: scan + code → session


class ScanOutcome(models.TextChoices):
    ACCEPTED = "accepted"  # a scan token was issued
    INVALID = "invalid"  # not a valid card (validation_errors says why)
    RATE_LIMITED = "rate_limited"  # over the per-IP scans per window
    CARD_LIMIT = "card_limit"  # a new card from an IP that scanned 3 distinct cards today
    IP_BANNED = "ip_banned"
    CARD_REGISTERED = "card_registered"  # verify-card of a card already bound (409)
    NOT_REGISTERED = "not_registered"  # card login with a card nobody registered
    REFUSED = "refused"  # card login refused: banned, expired guest, no verified email
    CODE_SENT = "code_sent"
    WRONG_CODE = "wrong_code"
    LOGGED_IN = "logged_in"


# Outcomes that did not get as far as looking at the card: they do not count as a scanned card.
UNCOUNTED_OUTCOMES = (ScanOutcome.RATE_LIMITED, ScanOutcome.CARD_LIMIT, ScanOutcome.IP_BANNED)


class USCScanAttempt(models.Model):
    """Every scan, valid or not: the audit trail for the per-IP limits and for support."""

    Purpose = ScanPurpose
    Outcome = ScanOutcome

    usc_id_hash = models.CharField(max_length=64, null=True, blank=True)
    last4 = models.CharField(max_length=4, blank=True, default="")
    barcode_format = models.CharField(max_length=10, choices=BarcodeFormat.choices, default=BarcodeFormat.UNKNOWN)
    passed_validation = models.BooleanField(default=False)
    validation_errors = models.JSONField(default=list, blank=True)
    resulted_in_signup = models.BooleanField(default=False)
    resulted_in_login = models.BooleanField(default=False)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    scanned_at = models.DateTimeField(default=timezone.now)
    purpose = models.CharField(max_length=16, choices=ScanPurpose.choices, default=ScanPurpose.SIGNUP)
    outcome = models.CharField(max_length=16, choices=ScanOutcome.choices, default=ScanOutcome.INVALID)

    class Meta:
        db_table = "usc_scan_attempts"
        verbose_name = "USC scan attempt"
        constraints = [
            models.CheckConstraint(condition=in_choices("purpose", ScanPurpose), name="usc_cards_scan_purpose_valid"),
            models.CheckConstraint(condition=in_choices("outcome", ScanOutcome), name="usc_cards_scan_outcome_valid"),
            models.CheckConstraint(
                condition=Q(passed_validation=False) | (Q(usc_id_hash__isnull=False) & ~Q(last4="")),
                name="usc_cards_scan_valid_has_hash",
            ),
            models.CheckConstraint(
                condition=Q(usc_id_hash__isnull=True) | Q(usc_id_hash__regex=HEX_SHA256),
                name="usc_cards_scan_attempts_hash_is_digest",
            ),
            models.CheckConstraint(
                condition=Q(last4="") | Q(last4__regex=LAST4), name="usc_cards_scan_attempts_last4_digits"
            ),
            models.CheckConstraint(
                condition=json_is("validation_errors", "array"), name="usc_cards_scan_attempts_errors_array"
            ),
        ]
        indexes = [
            # Per-IP limits (distinct valid cards in 24 h) and retention: WHERE ip=? AND scanned_at > ?.
            models.Index(fields=["ip", "scanned_at"], name="usc_scans_ip_scanned"),
            models.Index(fields=["scanned_at"], name="usc_scans_scanned_at"),
        ]

    def __str__(self):
        return f"scan {self.pk} ••••{self.last4 or '????'}"
