"""Event mode: opening hours (one settings row), access passes, RSVPs."""

from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.lookups import Exact
from django.utils import timezone

from config.db import json_is

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
    after the date by the beat (operations.retention)."""

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
