"""Cases, strikes, their preset reasons, appeals and moderators' notes (docs/moderation.md).
Re-exported by moderation.models, whose app label and migrations they share."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from config.db import in_choices


class CaseStatus(models.TextChoices):
    OPEN = "open"
    CLOSED = "closed"


class CaseOutcome(models.TextChoices):
    ACTIONED = "actioned"  # a strike was given: the reports were upheld
    DISMISSED = "dismissed"  # reviewed, no violation: the reports were not upheld


class Case(models.Model):
    """All the reports about one person that wait for a moderator, as one item of the queue.
    At most one open case per person (a new report joins it); a closed case keeps its
    reports, its notes and the outcome. `urgent` (a report about a minor or a threat) and
    `weight` (the reports' weighted evidence, moderation.trust) order the queue."""

    Status = CaseStatus
    Outcome = CaseOutcome

    reported = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="moderation_cases"
    )
    reported_name = models.CharField(max_length=60, blank=True, default="")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    urgent = models.BooleanField(default=False, help_text="a report about a minor or a threat")
    weight = models.FloatField(default=0.0, help_text="weighted evidence of the open reports")
    opened_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True, default="")
    reminded_at = models.DateTimeField(null=True, blank=True, help_text="last service-level reminder")

    class Meta:
        db_table = "moderation_cases"
        constraints = [
            models.UniqueConstraint(
                fields=["reported"], condition=Q(status="open"), name="moderation_cases_one_open_per_user"
            ),
            models.CheckConstraint(condition=in_choices("status", CaseStatus), name="moderation_cases_status_valid"),
            models.CheckConstraint(
                condition=(Q(status="open") & Q(closed_at__isnull=True) & Q(outcome=""))
                | (Q(status="closed") & Q(closed_at__isnull=False) & in_choices("outcome", CaseOutcome)),
                name="moderation_cases_closed_has_outcome",
            ),
        ]
        indexes = [
            # The queue: WHERE status='open' ORDER BY urgent DESC, weight DESC, opened_at.
            models.Index(
                models.F("urgent").desc(),
                models.F("weight").desc(),
                "opened_at",
                name="moderation_cases_queue",
                condition=Q(status="open"),
            ),
        ]

    def __str__(self):
        return f"case {self.pk}: {self.reported_name or self.reported_id} ({self.status})"


class CaseNote(models.Model):
    """A moderator's internal note on a case (never shown to the reported person or reporters)."""

    MAX_TEXT = 2000

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    text = models.TextField(max_length=MAX_TEXT)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "moderation_case_notes"
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="moderation_case_notes_not_empty"),
        ]

    def __str__(self):
        return f"note {self.pk} on case {self.case_id}"


class StrikeAction(models.TextChoices):
    WARNING = "warning"
    SUSPENSION = "suspension"  # until ends_at; an automatic one until a moderator reviews it
    BAN = "ban"  # permanent


class StrikePreset(models.Model):
    """A reason moderators pick when they act (Mastodon's AccountWarningPreset), managed in
    the admin; its text is copied into the strike, so editing a preset rewrites no history."""

    title = models.CharField(max_length=80, unique=True)
    text = models.CharField(max_length=500)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "moderation_strike_presets"
        ordering = ["title"]

    def __str__(self):
        return self.title


class StrikeStatus(models.TextChoices):
    ACTIVE = "active"
    SUPERSEDED = "superseded"  # an automatic suspension a moderator's decision replaced
    OVERTURNED = "overturned"  # an appeal (or a moderator's dismissal) reversed it


class Strike(models.Model):
    """A moderator action on a user, with the reason they are told (Mastodon's
    AccountWarning): a warning, a suspension until `ends_at`, or a permanent ban. Automatic
    bans are strikes too (no moderator). The user sees their strikes (GET /api/me/strikes)."""

    Action = StrikeAction
    Status = StrikeStatus
    APPEAL_WINDOW = timedelta(days=20)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="strikes")
    action = models.CharField(max_length=10, choices=Action.choices)
    preset = models.ForeignKey(StrikePreset, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reason = models.CharField(max_length=1000)
    case = models.ForeignKey(Case, on_delete=models.SET_NULL, null=True, blank=True, related_name="strikes")
    reports = models.ManyToManyField("moderation.Report", blank=True, related_name="strikes")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    automatic = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True, help_text="end of a suspension (checked by the sweep)")
    lifted_at = models.DateTimeField(null=True, blank=True, help_text="when a suspension's end was applied")

    class Meta:
        db_table = "moderation_strikes"
        constraints = [
            models.CheckConstraint(condition=in_choices("action", StrikeAction), name="moderation_strikes_action"),
            models.CheckConstraint(condition=in_choices("status", StrikeStatus), name="moderation_strikes_status"),
            models.CheckConstraint(condition=~Q(reason=""), name="moderation_strikes_has_reason"),
            models.CheckConstraint(
                condition=Q(automatic=True) | Q(created_by__isnull=False) | Q(status="overturned"),
                name="moderation_strikes_has_author",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | (Q(action="suspension") & Q(ends_at__gt=models.F("created_at"))),
                name="moderation_strikes_end_of_suspension",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="strikes_user_created"),  # my strikes
            # The sweep: WHERE ends_at <= now AND lifted_at IS NULL AND status='active'.
            models.Index(
                fields=["ends_at"], name="strikes_suspension_due", condition=Q(lifted_at__isnull=True, status="active")
            ),
        ]

    def __str__(self):
        return f"strike {self.pk}: {self.action} of {self.user_id}"

    def appeal_deadline(self):
        return self.created_at + self.APPEAL_WINDOW


class AppealStatus(models.TextChoices):
    PENDING = "pending"
    UPHELD = "upheld"
    OVERTURNED = "overturned"


class Appeal(models.Model):
    """The user's one appeal of one strike (Mastodon's Appeal), filed within the strike's
    window and decided by a moderator who did not take the action."""

    Status = AppealStatus
    MAX_TEXT = 2000

    strike = models.OneToOneField(Strike, on_delete=models.CASCADE, related_name="appeal")
    text = models.TextField(max_length=MAX_TEXT)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=1000, blank=True, default="")

    class Meta:
        db_table = "moderation_appeals"
        constraints = [
            models.CheckConstraint(condition=in_choices("status", AppealStatus), name="moderation_appeals_status"),
            models.CheckConstraint(condition=~Q(text=""), name="moderation_appeals_has_text"),
            models.CheckConstraint(
                condition=Q(status="pending", decided_at__isnull=True)
                | Q(~Q(status="pending"), decided_at__isnull=False),
                name="moderation_appeals_decided_has_time",
            ),
        ]
        indexes = [
            # The appeals queue: pending, oldest first.
            models.Index(fields=["created_at"], name="appeals_pending", condition=Q(status="pending")),
        ]

    def __str__(self):
        return f"appeal {self.pk} of strike {self.strike_id} ({self.status})"


__all__ = [
    "Appeal",
    "Case",
    "CaseNote",
    "Strike",
    "StrikePreset",
]
