"""Screening: the rules moderators manage (watched words, built-in detectors), what screening
decided about a message, the perceptual hashes of media and the holds on accounts that look
like a banned person's. The cases themselves are moderation's reports (screening.cases)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from config.db import in_choices


class ScreeningAction(models.TextChoices):
    BLOCK = "block"  # refused with message_blocked
    CENSOR = "censor"  # delivered with the match masked
    FLAG = "flag"  # delivered; a case opens with the message as evidence


class WatchedWord(models.Model):
    """A word, phrase or regular expression moderators watch for in call chat, with what
    happens to a message that contains it. A plain word matches whole words, case-insensitively,
    `*` standing for any letters (Discourse's watched words); a regex is used as written."""

    Action = ScreeningAction
    MAX_PATTERN = 100

    pattern = models.CharField(max_length=MAX_PATTERN)
    is_regex = models.BooleanField(default=False, help_text="Use the pattern as a regular expression.")
    action = models.CharField(max_length=6, choices=Action.choices, default=Action.FLAG)
    note = models.CharField(max_length=200, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "screening_watched_words"
        ordering = ["pattern"]
        constraints = [
            models.UniqueConstraint(fields=["pattern", "is_regex"], name="screening_watched_words_unique"),
            models.CheckConstraint(condition=in_choices("action", ScreeningAction), name="screening_watched_action"),
            models.CheckConstraint(condition=~Q(pattern=""), name="screening_watched_words_not_empty"),
        ]

    def __str__(self):
        return f"{self.pattern} → {self.action}"


class DetectorName(models.TextChoices):
    PHONE = "phone", "Phone numbers"
    LINK = "link", "Links outside the GIF hosts"
    SLUR = "slur", "Slurs (with leetspeak)"
    PROFANITY = "profanity", "Profanity (the whole word list)"


class Detector(models.Model):
    """A built-in detector (phone numbers, links, slurs, profanity): on or off, and its action.
    One row each, created by the migration; moderators switch them in the admin."""

    Action = ScreeningAction
    Name = DetectorName

    name = models.CharField(max_length=12, primary_key=True, choices=Name.choices)
    enabled = models.BooleanField(default=True)
    action = models.CharField(max_length=6, choices=Action.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "screening_detectors"
        constraints = [
            models.CheckConstraint(condition=in_choices("action", ScreeningAction), name="screening_detectors_action"),
            models.CheckConstraint(condition=in_choices("name", DetectorName), name="screening_detectors_name"),
        ]

    def __str__(self):
        return f"{self.get_name_display()} ({'on' if self.enabled else 'off'}, {self.action})"


class ScreenedMessage(models.Model):
    """A chat message that screening censored or flagged: what matched (rule labels, never the
    raw match of a censored part). The recipient's "Does this bother you?" is offered for these,
    and a flag's case points here. Deleted with the message (retention applies)."""

    message = models.OneToOneField("chat.TextChatMessage", on_delete=models.CASCADE, primary_key=True, related_name="+")
    action = models.CharField(max_length=6, choices=ScreeningAction.choices)
    rules = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "screening_messages"
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=[ScreeningAction.CENSOR, ScreeningAction.FLAG]), name="screening_messages_action"
            ),
        ]

    def __str__(self):
        return f"message {self.message_id}: {self.action}"


class MediaKind(models.TextChoices):
    SELFIE = "selfie"
    VIDEO = "video"  # a keyframe of the intro video


class MediaScanStatus(models.TextChoices):
    PENDING = "pending"  # not classified yet
    PASSED = "passed"
    HIDDEN = "hidden"  # above the threshold: hidden from others until a moderator decides
    RESTORED = "restored"  # a moderator found no violation
    REMOVED = "removed"  # a moderator removed the media


class MediaScan(models.Model):
    """One screened image: a selfie or a keyframe of an intro video, its perceptual hash (64-bit
    pHash, signed to fit a bigint) and its nudity score. `file` is the storage name of the media
    it came from. Rows of a user's replaced media are deleted, except while the user is banned:
    a banned person's hashes stay (with `user` emptied if the account goes, `kept_for_ban` set)
    so a new account with the same face is held. A hash is not an image: the picture cannot be
    rebuilt from it."""

    Kind = MediaKind
    Status = MediaScanStatus

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=6, choices=Kind.choices)
    file = models.CharField(max_length=255)
    frame = models.PositiveSmallIntegerField(default=0)  # keyframe index (0 for a selfie)
    phash = models.BigIntegerField(null=True, blank=True)
    nudity_score = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    kept_for_ban = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "screening_media_scans"
        constraints = [
            models.UniqueConstraint(fields=["file", "frame"], name="screening_media_scans_one_per_frame"),
            models.CheckConstraint(condition=in_choices("kind", MediaKind), name="screening_media_scans_kind"),
            models.CheckConstraint(
                condition=in_choices("status", MediaScanStatus), name="screening_media_scans_status"
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False) | Q(kept_for_ban=True), name="screening_media_scans_orphan_is_kept"
            ),
        ]
        indexes = [
            # The ban-evasion match: hashes of banned people (kept rows, or a banned user's).
            models.Index(fields=["user"], name="screening_scans_user"),
            models.Index(fields=["kept_for_ban"], name="screening_scans_kept", condition=Q(kept_for_ban=True)),
        ]

    def __str__(self):
        return f"{self.kind} scan {self.pk} ({self.status})"


class AccountHold(models.Model):
    """An account held for review because its selfie is a near-duplicate of a banned person's:
    no reel (neither shown nor shown to it) and no invites until a moderator releases it.
    One open hold per user."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    scan = models.ForeignKey(MediaScan, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    matched_scan = models.ForeignKey(MediaScan, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    distance = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "screening_account_holds"
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(released_at__isnull=True), name="screening_holds_one_open_per_user"
            ),
        ]

    def __str__(self):
        return f"hold on {self.user_id} ({'released' if self.released_at else 'open'})"
