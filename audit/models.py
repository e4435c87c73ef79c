"""The audit_log table. Registered under the `moderation` app label (its migrations live in
moderation/migrations and moderation.models re-exports the class), defined here so every layer
may import it."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from config.db import json_is


class AuditLog(models.Model):
    """Append-only record of every moderation action, ban, wipe, export and security event.
    Written in the same transaction as the action it records (wipe: right after)."""

    event_type = models.CharField(max_length=64)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "moderation"
        db_table = "audit_log"
        constraints = [
            models.CheckConstraint(condition=json_is("details", "object"), name="moderation_audit_log_details_object"),
        ]
        indexes = [
            # Admin audit view: ORDER BY created_at DESC, date drill-down.
            models.Index(fields=["-created_at"], name="audit_log_created"),
            models.Index(fields=["event_type", "created_at"], name="audit_log_event_created"),
            models.Index(fields=["target", "created_at"], name="audit_log_target_created"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.event_type}"
