"""Reports and bans, users' data exports; IP bans, site settings and the audit log
are re-exported."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

# IPBan and SiteSettings (read by sign-in, a lower layer) are defined in accounts.models and the
# audit log in audit.models; all three keep this app's label, table and migrations.
from accounts.models import IPBan, SiteSettings  # noqa: F401
from audit.models import AuditLog  # noqa: F401
from config.db import in_choices, json_is


class ReportCategory(models.TextChoices):
    HARASSMENT = "harassment"
    NUDITY = "nudity"
    UNDERAGE = "underage"
    SPAM = "spam"
    HATE = "hate"
    OTHER = "other"
    PROFILE = "profile"
    THREAT = "threat"


# Reports in these categories put their case at the top of the queue, whatever their weight.
URGENT_CATEGORIES = (ReportCategory.UNDERAGE, ReportCategory.THREAT)


class ReportSource(models.TextChoices):
    MEMBER = "member"  # a member's report (POST /api/reports)
    SCREENING = "screening"  # automatic screening (no reporter)


class ReportOutcome(models.TextChoices):
    PENDING = "pending"
    UPHELD = "upheld"  # a moderator took action (the reporter is told "we took action")
    REJECTED = "rejected"  # no violation found, or the action was overturned on appeal


class Report(models.Model):
    """A user's complaint about another, with a snapshot of the reported user's profile and
    the room's messages taken at report time (evidence outlives edits and retention).

    `reported` is SET NULL, not CASCADE: when the reported user deletes their account the
    report stays as evidence (name, copied selfie/video, messages) for moderators; the
    selfie/video snapshot names point at copies under `evidence/` that only staff can open."""

    Category = ReportCategory
    Source = ReportSource
    Outcome = ReportOutcome

    MAX_TEXT = 500

    reported = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports_received"
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports_made"
    )
    category = models.CharField(max_length=12, choices=Category.choices)
    text = models.CharField(max_length=MAX_TEXT, blank=True, default="")
    room = models.ForeignKey(
        "chat.ActiveRoom", on_delete=models.SET_NULL, null=True, blank=True, related_name="reports"
    )
    reporter_ip = models.GenericIPAddressField(null=True, blank=True)
    reported_name = models.CharField(max_length=60, blank=True, default="")
    reported_selfie = models.CharField(max_length=255, blank=True, default="")
    reported_video = models.CharField(max_length=255, blank=True, default="")
    messages_snapshot = models.JSONField(default=list, blank=True)
    # A still of the partner's video, captured by the reporter's own client and uploaded with the
    # report (moderation.stills); an evidence/ file, staff only. Nothing else of a call is recorded.
    video_still = models.CharField(max_length=255, blank=True, default="")
    reviewed = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=10, choices=ReportSource.choices, default=ReportSource.MEMBER)
    evidence = models.JSONField(default=dict, blank=True, help_text="what screening saw (system reports)")
    case = models.ForeignKey(
        "moderation.Case", on_delete=models.SET_NULL, null=True, blank=True, related_name="reports"
    )
    # The reporter's standing when the report was filed (moderation.trust), kept for the record.
    weight = models.FloatField(default=0.0)
    outcome = models.CharField(max_length=10, choices=ReportOutcome.choices, default=ReportOutcome.PENDING)
    outcome_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "reports"
        constraints = [
            models.UniqueConstraint(fields=["reporter", "reported"], name="moderation_reports_one_per_pair"),
            models.CheckConstraint(condition=~Q(reporter=F("reported")), name="moderation_reports_not_self"),
            models.CheckConstraint(
                condition=in_choices("category", ReportCategory), name="moderation_reports_category_valid"
            ),
            models.CheckConstraint(
                condition=json_is("messages_snapshot", "array"), name="moderation_reports_snapshot_array"
            ),
            models.CheckConstraint(condition=in_choices("source", ReportSource), name="moderation_reports_source"),
            models.CheckConstraint(condition=in_choices("outcome", ReportOutcome), name="moderation_reports_outcome"),
            models.CheckConstraint(condition=json_is("evidence", "object"), name="moderation_reports_evidence_obj"),
        ]
        indexes = [
            # Ban threshold (distinct reporters/IPs against one user) and the review page.
            models.Index(fields=["reported", "created_at"], name="reports_reported_created"),
            # Admin list: ORDER BY created_at DESC, date drill-down.
            models.Index(fields=["-created_at"], name="reports_created"),
            # Daily limit: WHERE reporter_id=? AND created_at > now - 1 day.
            models.Index(fields=["reporter", "created_at"], name="reports_reporter_created"),
            # Reporter accuracy: WHERE reporter_id=? AND outcome IN (upheld, rejected).
            models.Index(fields=["reporter", "outcome"], name="reports_reporter_outcome"),
        ]

    def __str__(self):
        return f"report {self.pk}: {self.category} about {self.reported_name or self.reported_id}"


class UserBanStatus(models.TextChoices):
    TEMPORARY = "temporary"
    PERMANENT = "permanent"
    VINDICATED = "vindicated"


class UserBanReviewStatus(models.TextChoices):
    PENDING = "pending"
    REVIEWED = "reviewed"


class UserBan(models.Model):
    """The ban record of a user (one per user). Temporary bans wait for a moderator's review."""

    Status = UserBanStatus
    ReviewStatus = UserBanReviewStatus

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="ban_record"
    )
    status = models.CharField(max_length=12, choices=Status.choices)
    reason = models.CharField(max_length=500, blank=True, default="")
    report_count = models.PositiveIntegerField(default=0)
    banned_at = models.DateTimeField(default=timezone.now)
    review_status = models.CharField(max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.PENDING)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ip_addresses = models.JSONField(default=list, blank=True)

    class Meta:
        db_table = "user_bans"
        constraints = [
            models.CheckConstraint(
                condition=in_choices("status", UserBanStatus), name="moderation_user_bans_status_valid"
            ),
            models.CheckConstraint(
                condition=in_choices("review_status", UserBanReviewStatus),
                name="moderation_user_bans_review_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(review_status="pending") | Q(reviewed_at__isnull=False),
                name="moderation_user_bans_reviewed_has_time",
            ),
            models.CheckConstraint(condition=json_is("ip_addresses", "array"), name="moderation_user_bans_ips_array"),
        ]
        indexes = [
            # Review queue: pending bans, oldest first.
            models.Index(fields=["banned_at"], name="user_bans_pending_queue", condition=Q(review_status="pending")),
        ]

    def __str__(self):
        return f"{self.status} ban of {self.user_id}"


class DataExportStatus(models.TextChoices):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class DataExport(models.Model):
    """A user's own data request (POST /api/me/export; operations/exports.py): built by a
    Celery job into a file of the default storage under exports/ (never served as media),
    downloaded only by its owner with their token until expires_at (checked when read; the
    sweep only tidies). One a day per user, counted from these rows (failed ones excepted)."""

    Status = DataExportStatus

    TTL = timedelta(hours=24)  # from the moment the file is ready
    PER_DAY = timedelta(hours=24)  # one request per user in any such window

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)  # 122 random bits
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    requested_at = models.DateTimeField(default=timezone.now)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    file = models.CharField(max_length=255, blank=True, default="", help_text="storage name; emptied when deleted")
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    downloads = models.PositiveIntegerField(default=0)
    last_downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "data_exports"
        constraints = [
            models.CheckConstraint(condition=in_choices("status", DataExportStatus), name="moderation_exports_status"),
            models.CheckConstraint(
                condition=~Q(status="ready") | (Q(ready_at__isnull=False) & Q(expires_at__gt=F("ready_at"))),
                name="moderation_exports_ready_has_expiry",
            ),
        ]
        indexes = [
            # The 1-a-day count and my list: WHERE user_id=? AND requested_at > ?; the sweep: expires_at.
            models.Index(fields=["user", "requested_at"], name="data_exports_user_requested"),
            models.Index(fields=["expires_at"], name="data_exports_expires"),
        ]

    def __str__(self):
        return f"data export {self.pk} of {self.user_id} ({self.status})"


from moderation.case_models import Appeal, Case, CaseNote, Strike, StrikePreset  # noqa: E402,F401
